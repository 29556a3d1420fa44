from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Select, delete, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import LinkCode, User, UserIdentity, UserRole

# Lists everyone holding any role beyond cadre.
ANY_ROLE = "*"


@dataclass(frozen=True, slots=True)
class RoleGrant:
    role: str
    jurisdiction_code: str


class UserRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def by_identity(self, channel: str, external_id: str) -> tuple[User, UserIdentity] | None:
        row = (
            await self.session.execute(
                select(User, UserIdentity)
                .join(UserIdentity, UserIdentity.user_id == User.id)
                .where(UserIdentity.channel == channel, UserIdentity.external_id == external_id)
            )
        ).first()
        return (row[0], row[1]) if row else None

    async def create(
        self,
        *,
        channel: str,
        external_id: str,
        now: datetime,
        locale: str = "zh_CN",
        display_name: str | None = None,
    ) -> tuple[User, UserIdentity]:
        user = User(locale=locale, created_at=now, updated_at=now)
        self.session.add(user)
        await self.session.flush()
        assert user.id is not None
        identity = UserIdentity(
            user_id=user.id,
            channel=channel,
            external_id=external_id,
            display_name=display_name,
            created_at=now,
        )
        self.session.add(identity)
        await self.session.flush()
        return user, identity

    async def identities(self, user_id: int) -> Sequence[UserIdentity]:
        result = await self.session.execute(select(UserIdentity).where(UserIdentity.user_id == user_id))
        return result.scalars().all()

    async def set_reachable(self, channel: str, external_id: str, *, reachable: bool) -> None:
        await self.session.execute(
            update(UserIdentity)
            .where(UserIdentity.channel == channel, UserIdentity.external_id == external_id)
            .values(reachable=reachable)
        )

    async def set_menu_key(self, identity_id: int, menu_key: str) -> None:
        await self.session.execute(
            update(UserIdentity).where(UserIdentity.id == identity_id).values(menu_key=menu_key)
        )

    async def roles(self, user_id: int) -> list[RoleGrant]:
        result = await self.session.execute(
            select(UserRole.role, UserRole.jurisdiction_code).where(UserRole.user_id == user_id)
        )
        return [RoleGrant(r, j) for r, j in result.all()]

    async def grant(self, user_id: int, role: str, jurisdiction_code: str, *, now: datetime, by: str) -> bool:
        existing = await self.session.execute(
            select(UserRole.id).where(
                UserRole.user_id == user_id,
                UserRole.role == role,
                UserRole.jurisdiction_code == jurisdiction_code,
            )
        )
        if existing.first():
            return False
        self.session.add(
            UserRole(
                user_id=user_id, role=role, jurisdiction_code=jurisdiction_code, granted_at=now, granted_by=by
            )
        )
        await self.session.flush()
        return True

    async def revoke(self, user_id: int, role: str, jurisdiction_code: str | None) -> int:
        statement = delete(UserRole).where(UserRole.user_id == user_id, UserRole.role == role)
        if jurisdiction_code is not None:
            statement = statement.where(UserRole.jurisdiction_code == jurisdiction_code)
        result = await self.session.execute(statement)
        return int(result.rowcount or 0)  # type: ignore[attr-defined]

    def _listed(self, role: str | None) -> Select[Any]:
        """Users worth listing: registered ones and anyone holding a role (placeholders made by a grant).

        Every registered person is a cadre, whatever else they are: `cadre` lists the registered.
        """
        holders = select(UserRole.user_id)
        if role == ANY_ROLE:
            return select(User).where(User.id.in_(holders))  # type: ignore[union-attr]
        if role == "cadre":
            return select(User).where(User.registered_at.is_not(None))  # type: ignore[union-attr]
        if role is not None:
            return select(User).where(User.id.in_(holders.where(UserRole.role == role)))  # type: ignore[union-attr]
        return select(User).where(or_(User.registered_at.is_not(None), User.id.in_(holders)))  # type: ignore[union-attr]

    async def search(self, text: str, limit: int) -> list[User]:
        """Registered users whose name contains `text`, oldest first."""
        result = await self.session.execute(
            select(User)
            .where(User.registered_at.is_not(None), User.name.contains(text, autoescape=True))  # type: ignore[union-attr]
            .order_by(User.id)
            .limit(limit)
        )
        return list(result.scalars())

    async def lock_holders(self, role: str) -> list[int]:
        """The users holding `role`, their grants locked until commit: two admins revoking each
        other at once cannot both see the other as the one who remains (SQLite serialises writers)."""
        result = await self.session.execute(
            select(UserRole.user_id).where(UserRole.role == role).order_by(UserRole.id).with_for_update()
        )
        return [user_id for (user_id,) in result.all()]

    async def move_role(self, user_id: int, role: str, from_code: str, to_code: str) -> bool:
        result = await self.session.execute(
            update(UserRole)
            .where(
                UserRole.user_id == user_id, UserRole.role == role, UserRole.jurisdiction_code == from_code
            )
            .values(jurisdiction_code=to_code)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def officers_of(self, jurisdiction_code: str) -> list[User]:
        """Users holding the officer role for a jurisdiction, oldest first."""
        return await _officers_of(self.session, jurisdiction_code)

    async def count_listed(self, role: str | None = None) -> int:
        query = select(func.count()).select_from(self._listed(role).subquery())
        return int((await self.session.execute(query)).scalar_one())

    async def list_with_roles(
        self, role: str | None = None, limit: int = 1000, offset: int = 0
    ) -> list[tuple[User, list[RoleGrant]]]:
        """Listed users with their grants, oldest first."""
        query = self._listed(role).order_by(User.id).limit(limit).offset(offset)
        users = (await self.session.execute(query)).scalars().all()
        if not users:
            return []
        ids = [u.id for u in users]
        grants = await self.session.execute(
            select(UserRole.user_id, UserRole.role, UserRole.jurisdiction_code).where(
                UserRole.user_id.in_(ids)  # type: ignore[attr-defined]
            )
        )
        by_user: dict[int, list[RoleGrant]] = {}
        for user_id, r, j in grants.all():
            by_user.setdefault(user_id, []).append(RoleGrant(r, j))
        return [
            (u, sorted(by_user.get(u.id or 0, []), key=lambda g: (g.role, g.jurisdiction_code)))
            for u in users
        ]


class LinkRepository:
    """One-time codes that attach another channel's identity to an existing user."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def create(self, *, code: str, user_id: int, now: datetime, expires_at: datetime) -> None:
        self.session.add(LinkCode(code=code, user_id=user_id, expires_at=expires_at, created_at=now))
        await self.session.flush()

    async def take(self, code: str, now: datetime) -> int | None:
        """The user a valid code belongs to, marking it used; None for unknown, used or expired codes."""
        result = await self.session.execute(
            update(LinkCode)
            .where(LinkCode.code == code, LinkCode.used_at.is_(None), LinkCode.expires_at > now)  # type: ignore[union-attr]
            .values(used_at=now)
            .returning(LinkCode.user_id)
        )
        return result.scalar_one_or_none()

    async def move_identity(self, identity_id: int, user_id: int) -> None:
        await self.session.execute(
            update(UserIdentity).where(UserIdentity.id == identity_id).values(user_id=user_id, menu_key=None)
        )


async def _officers_of(session: AsyncSession, jurisdiction_code: str) -> list[User]:
    result = await session.execute(
        select(User)
        .join(UserRole, UserRole.user_id == User.id)
        .where(UserRole.role == "officer", UserRole.jurisdiction_code == jurisdiction_code)
        .order_by(User.id)
    )
    return list(result.scalars().unique())
