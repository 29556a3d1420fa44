"""Build the engine's view of a user from their stored rows."""

from __future__ import annotations

from dialogs.context import Viewer
from storage.models import User
from storage.repositories.users import RoleGrant


def viewer_of(user: User, grants: list[RoleGrant]) -> Viewer:
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
