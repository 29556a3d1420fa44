"""Channel-neutral replies: what the bot says, with buttons carrying opaque actions."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "buttons": [[{"label": b.label, "action": b.action} for b in row] for row in self.buttons],
        }


@dataclass(frozen=True, slots=True)
class Effect:
    """A domain change the engine asks for; services carry it out in the same transaction."""


@dataclass(frozen=True, slots=True)
class RegisterUser(Effect):
    name: str
    unit_code: str
    position: str


@dataclass(slots=True)
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
