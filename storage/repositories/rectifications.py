from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import RectificationItem

_R = RectificationItem


class RectificationRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, item_id: int) -> RectificationItem | None:
        return await self.session.get(_R, item_id)

    async def of_filing(self, filing_id: int) -> Sequence[RectificationItem]:
        result = await self.session.execute(select(_R).where(_R.filing_id == filing_id).order_by(_R.item_no))
        return result.scalars().all()

    async def of_owner(self, user_id: int, limit: int = 50) -> Sequence[RectificationItem]:
        result = await self.session.execute(
            select(_R).where(_R.owner_user_id == user_id).order_by(_R.due_date, _R.id).limit(limit)
        )
        return result.scalars().all()

    async def next_item_no(self, filing_id: int) -> int:
        """The next item number of a filing.

        Two officers adding items at once both compute it; the unique constraint on
        (filing_id, item_no) makes the second flush fail, and the caller retries.
        """
        result = await self.session.execute(select(func.max(_R.item_no)).where(_R.filing_id == filing_id))
        return int(result.scalar_one() or 0) + 1

    async def add(
        self,
        *,
        filing_id: int,
        item_no: int,
        problem: str,
        measure: str,
        owner_user_id: int,
        due_date: date,
        created_by: int,
        now: datetime,
        jurisdiction_code: str | None = None,
    ) -> RectificationItem:
        item = RectificationItem(
            filing_id=filing_id,
            jurisdiction_code=jurisdiction_code,
            item_no=item_no,
            problem=problem,
            measure=measure,
            owner_user_id=owner_user_id,
            due_date=due_date,
            original_due_date=due_date,
            created_by=created_by,
            created_at=now,
            updated_at=now,
        )
        self.session.add(item)
        await self.session.flush()
        return item

    async def transition(self, item_id: int, *, expect: dict[str, Any], values: dict[str, Any]) -> bool:
        """Change the item only if it still has the `expect`ed column values; False if it moved on.

        A conditional UPDATE rather than read-check-write: two officers pressing at once (or two
        processes) cannot both win, because the second UPDATE finds its condition no longer true.
        """
        conditions = [getattr(_R, column) == value for column, value in expect.items()]
        result = await self.session.execute(
            update(_R)
            .where(_R.id == item_id, *conditions)  # type: ignore[arg-type]
            .values(**values)
            .execution_options(synchronize_session=False)
        )
        # A loaded object predates the UPDATE (or a rival's): reload it, so what the caller says
        # next describes the row as it now is.
        await self.session.get(_R, item_id, populate_existing=True)
        return bool(result.rowcount == 1)  # type: ignore[attr-defined]
