"""What the engine may know about the world while handling one event: passed in, never fetched."""

from __future__ import annotations

from dataclasses import dataclass, field

from dialogs.directory import OrgDirectory
from dialogs.texts import Texts


@dataclass(frozen=True, slots=True)
class Viewer:
    """The person speaking, as the service layer loaded them."""

    user_id: int | None = None
    registered: bool = False
    name: str | None = None
    unit_code: str | None = None
    position: str | None = None
    roles: frozenset[str] = field(default_factory=frozenset)
    jurisdictions: frozenset[str] = field(default_factory=frozenset)

    def has_role(self, role: str) -> bool:
        return role in self.roles


@dataclass(frozen=True, slots=True)
class Context:
    texts: Texts
    viewer: Viewer
    directory: OrgDirectory
