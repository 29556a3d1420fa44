"""Channel-neutral replies: what the bot says, with buttons carrying opaque actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Replaces the message whose button was pressed (a toggled checkbox), instead of adding one.
    edit: bool = False

    def to_json(self) -> dict[str, object]:
        return {
            "text": self.text,
            "buttons": [[{"label": b.label, "action": b.action} for b in row] for row in self.buttons],
            "edit": self.edit,
        }


@dataclass(frozen=True, slots=True)
class Effect:
    """A domain change the engine asks for; services carry it out in the same transaction."""


@dataclass(frozen=True, slots=True)
class RegisterUser(Effect):
    name: str
    unit_code: str
    position: str


@dataclass(frozen=True, slots=True)
class SubmitFiling(Effect):
    """Submit the pre-filing draft `draft_key` with these fields (and embedded self-check answers)."""

    draft_key: str
    fields: dict[str, Any]
    selfcheck_answers: dict[str, str] | None = None


@dataclass(frozen=True, slots=True)
class RecordSelfCheck(Effect):
    """Store a finished standalone self-check (answers in the questionnaire's own ids)."""

    answers: dict[str, str]


@dataclass(frozen=True, slots=True)
class ReviewDecision(Effect):
    """An officer's initial-review decision on a filing: accept, not_accept or return."""

    filing_id: int
    decision: str
    risk_colour: str | None = None
    text: str | None = None  # acceptance note, reasons for not accepting, or the question to answer


@dataclass(frozen=True, slots=True)
class AnswerReturn(Effect):
    """The cadre's answer to a return-for-completion question, with any files."""

    filing_id: int
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
