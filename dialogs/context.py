"""What the engine may know about the world while handling one event: passed in, never fetched."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from dialogs.directory import OrgDirectory
from dialogs.texts import Texts

if TYPE_CHECKING:
    from dialogs.policy.pack import PolicyPack


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
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    policy: PolicyPack | None = None
