"""Channel-neutral replies: what the bot says, with buttons carrying opaque actions."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True, slots=True)
class Button:
    label: str
    action: str


@dataclass(frozen=True, slots=True)
class OutgoingFile:
    """A file the bot sends (an export, a chart): the bytes themselves, so this layer stays pure."""

    kind: str  # "photo" (shown inline) or "document" (downloaded)
    filename: str
    content: bytes = field(repr=False)
    mime: str = "application/octet-stream"
    caption: str = ""


@dataclass(frozen=True, slots=True)
class Reply:
    text: str
    buttons: tuple[tuple[Button, ...], ...] = ()
    # Replaces the message whose button was pressed (a toggled checkbox), instead of adding one.
    edit: bool = False
    # Sent with the text; channels decide how (Telegram uploads it, the web page links to it).
    attachment: OutgoingFile | None = None

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


@dataclass(frozen=True, slots=True)
class CreateRectification(Effect):
    """An officer sets a rectification item on a filing; the owner is always the filing's cadre."""

    filing_id: int
    problem: str
    measure: str
    due_date: str  # ISO date


@dataclass(frozen=True, slots=True)
class SubmitEvidence(Effect):
    """The cadre reports an item done, with any files."""

    item_id: int
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RectificationDecision(Effect):
    """An officer accepts a submitted item or sends it back (with the reason in `text`)."""

    item_id: int
    decision: str
    # The submission the officer was shown; if the item was submitted again since, nothing happens.
    submitted_at: str
    text: str | None = None


@dataclass(frozen=True, slots=True)
class ExtendRectification(Effect):
    """The one extension of an item's due date, from `previous_due_date` (as the officer saw it)."""

    item_id: int
    due_date: str
    previous_due_date: str


@dataclass(slots=True)
class Outcome:
    replies: list[Reply] = field(default_factory=list)
    effects: list[Effect] = field(default_factory=list)
