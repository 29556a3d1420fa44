"""Who wrote, with their roles and open dialog: everything a dialog step reads, in one statement.

A chat answer reads the person, the identity they wrote from, their role grants and their dialog
row before anything else, on every update. As four ORM queries that was most of a step's
database time (bench/throughput.py); as one Core statement over the tables it is a single round
trip with nothing to build but the plain values. Commands and effects that change the person
still load the ORM objects (UserRepository.by_identity); a plain dialog step never needs them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DialogStateRow, User, UserIdentity, UserRole
from storage.repositories.users import RoleGrant

_user = User.__table__  # type: ignore[attr-defined]
_identity = UserIdentity.__table__  # type: ignore[attr-defined]
_dialog = DialogStateRow.__table__  # type: ignore[attr-defined]
_role = UserRole.__table__  # type: ignore[attr-defined]

# One row per role grant (one with NULL role when there is none): a person holds one or two.
# Built once: SQLAlchemy then only looks the compiled form up in its cache.
_FIND = (
    select(
        _user.c.id,
        _user.c.name,
        _user.c.unit_code,
        _user.c.position,
        _user.c.locale,
        _user.c.registered_at,
        _identity.c.id,
        _identity.c.reachable,
        _identity.c.menu_key,
        _dialog.c.data,
        _dialog.c.version,
        _role.c.role,
        _role.c.jurisdiction_code,
    )
    .select_from(
        _identity.join(_user, _user.c.id == _identity.c.user_id)
        .outerjoin(_dialog, _dialog.c.user_id == _user.c.id)
        .outerjoin(_role, _role.c.user_id == _user.c.id)
    )
    .where(_identity.c.channel == bindparam("channel"), _identity.c.external_id == bindparam("external_id"))
)


@dataclass(frozen=True, slots=True)
class Caller:
    """The person behind an incoming update, as stored when the step began.

    The field names are User's, so that services can read a Caller where they read a User.
    """

    id: int
    name: str | None
    unit_code: str | None
    position: str | None
    locale: str
    registered_at: datetime | None
    identity_id: int
    reachable: bool
    menu_key: str | None
    grants: tuple[RoleGrant, ...]
    dialog: dict[str, Any] | None
    dialog_version: int | None


class CallerRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def find(self, channel: str, external_id: str) -> Caller | None:
        rows = (await self.session.execute(_FIND, {"channel": channel, "external_id": external_id})).all()
        if not rows:
            return None
        first = rows[0]
        return Caller(
            id=first[0],
            name=first[1],
            unit_code=first[2],
            position=first[3],
            locale=first[4],
            registered_at=first[5],
            identity_id=first[6],
            reachable=bool(first[7]),
            menu_key=first[8],
            dialog=dict(first[9]) if first[9] is not None else None,
            dialog_version=first[10],
            grants=tuple(RoleGrant(row[11], row[12]) for row in rows if row[11] is not None),
        )
