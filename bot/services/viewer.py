"""Build the engine's view of a user from their stored rows."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Protocol

from dialogs.context import Viewer
from storage.repositories.users import RoleGrant


class Person(Protocol):
    """A stored user (storage.models.User) or the snapshot a dialog step reads (Caller)."""

    @property
    def id(self) -> int | None: ...
    @property
    def registered_at(self) -> datetime | None: ...
    @property
    def name(self) -> str | None: ...
    @property
    def unit_code(self) -> str | None: ...
    @property
    def position(self) -> str | None: ...


def viewer_of(user: Person, grants: Iterable[RoleGrant]) -> Viewer:
    grants = list(grants)
    roles = {g.role for g in grants}
    if user.registered_at is not None:
        roles.add("cadre")
    return Viewer(
        user_id=user.id,
        registered=user.registered_at is not None,
        name=user.name,
        unit_code=user.unit_code,
        position=user.position,
        roles=frozenset(roles),
        jurisdictions=frozenset(
            g.jurisdiction_code for g in grants if g.role == "officer" and g.jurisdiction_code
        ),
    )
