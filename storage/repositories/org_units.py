from __future__ import annotations

from collections.abc import Iterable, Sequence

from sqlalchemy import select, union, update
from sqlalchemy.ext.asyncio import AsyncSession

from dialogs.directory import OrgUnit
from storage.models import Filing, OrgUnitRow, User, UserRole


class OrgUnitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def active(self) -> Sequence[OrgUnitRow]:
        result = await self.session.execute(
            select(OrgUnitRow).where(OrgUnitRow.active.is_(True)).order_by(OrgUnitRow.sort_order)  # type: ignore[attr-defined]
        )
        return result.scalars().all()

    async def every(self) -> Sequence[OrgUnitRow]:
        """Active and deactivated units alike, in directory order."""
        result = await self.session.execute(select(OrgUnitRow).order_by(OrgUnitRow.sort_order))
        return result.scalars().all()

    async def referenced(self, codes: Iterable[str]) -> set[str]:
        """Which of `codes` users, officers' grants or filings still point at."""
        wanted = sorted(set(codes))
        if not wanted:
            return set()
        query = union(
            select(User.unit_code.label("code")).where(User.unit_code.in_(wanted)),  # type: ignore[union-attr]
            select(Filing.unit_code.label("code")).where(Filing.unit_code.in_(wanted)),  # type: ignore[union-attr]
            select(Filing.jurisdiction_code.label("code")).where(Filing.jurisdiction_code.in_(wanted)),  # type: ignore[union-attr]
            select(UserRole.jurisdiction_code.label("code")).where(UserRole.jurisdiction_code.in_(wanted)),  # type: ignore[attr-defined]
        )
        return {code for (code,) in (await self.session.execute(query)).all() if code}

    async def sync(self, units: Iterable[OrgUnit]) -> tuple[int, int, int]:
        """Make the table match the directory: insert new, update changed, deactivate missing.

        Units are never deleted: users and filings keep pointing at them.
        Returns (added, updated, deactivated).
        """
        existing = {row.code: row for row in (await self.session.execute(select(OrgUnitRow))).scalars()}
        added = updated = 0
        seen: set[str] = set()
        # The directory yields parents before children and the session inserts in the order rows
        # were added, so the self-referencing foreign key holds on every insert.
        for order, unit in enumerate(units):
            seen.add(unit.code)
            row = existing.get(unit.code)
            values = {
                "name": unit.name,
                "level": unit.level,
                "parent_code": unit.parent_code,
                "short_name": unit.short_name,
                "sort_order": order,
                "active": True,
            }
            if row is None:
                self.session.add(OrgUnitRow(code=unit.code, **values))
                added += 1
            elif any(getattr(row, k) != v for k, v in values.items()):
                for key, value in values.items():
                    setattr(row, key, value)
                updated += 1
        await self.session.flush()
        missing = [code for code, row in existing.items() if code not in seen and row.active]
        if missing:
            await self.session.execute(
                update(OrgUnitRow).where(OrgUnitRow.code.in_(missing)).values(active=False)  # type: ignore[attr-defined]
            )
        return added, updated, len(missing)
