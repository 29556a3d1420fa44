"""Rectification (整改): the officer sets an item, the cadre reports on it, the officer accepts it,
sends it back or extends its deadline once.

Like the review dialogs, each one is short and starts from a button naming a filing or an item.
The service checks who may start it, and checks again when it finishes that the item is still in
the state the dialog was started from (the `_submitted` and `_due` tokens below).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from dialogs import engine
from dialogs.context import Context
from dialogs.engine import Dialog, Result
from dialogs.events import Event
from dialogs.parsing.dates import format_date
from dialogs.replies import (
    CreateRectification,
    ExtendRectification,
    Outcome,
    RectificationDecision,
    SubmitEvidence,
)
from dialogs.steps import (
    Accepted,
    Answers,
    ConfirmStep,
    DateStep,
    FilesStep,
    Rejected,
    TextStep,
    Verdict,
    local_today,
)

FILING = "_filing"
NUMBER = "_number"
ITEM = "_item"
LABEL = "_label"
SUBMITTED = "_submitted"  # when the evidence being judged was submitted
DUE = "_due"  # the due date the extension starts from
ACCEPT, SEND_BACK = "accept", "send_back"


class _AboutFiling:
    """Prompts name the filing: an officer may be setting items on several at once."""

    def question(self, ctx: Context, answers: Answers) -> str:  # type: ignore[misc]
        head = ctx.texts("rect.about_filing", number=answers.get(NUMBER, ""))
        return head + "\n" + ctx.texts(self.prompt_key)  # type: ignore[attr-defined]


class _AboutItem:
    """Prompts name the item: buttons of several items may be pressed in any order."""

    def question(self, ctx: Context, answers: Answers) -> str:  # type: ignore[misc]
        head = ctx.texts("rect.about_item", item=answers.get(LABEL, ""))
        return head + "\n" + ctx.texts(self.prompt_key)  # type: ignore[attr-defined]


class FilingText(_AboutFiling, TextStep):
    pass


class ItemText(_AboutItem, TextStep):
    pass


class ItemFiles(_AboutItem, FilesStep):
    pass


class ItemConfirm(_AboutItem, ConfirmStep):
    pass


@dataclass(frozen=True)
class DueDateStep(DateStep):
    """A due date: never in the past, and later than the answer `later_than` names, if any."""

    later_than: str | None = None
    confirm_past_days: int | None = None  # a past date is refused outright, never just questioned

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        verdict = super().accept(ctx, answers, event, choice)
        if not isinstance(verdict, Accepted):
            return verdict
        value, today = date.fromisoformat(verdict.value), local_today(ctx, event)
        if value < today:
            return Rejected(ctx.texts("rect.date_past", date=format_date(value), today=format_date(today)))
        current = answers.get(self.later_than) if self.later_than else None
        if current and value <= date.fromisoformat(current):
            return Rejected(
                ctx.texts(
                    "rect.date_not_later",
                    date=format_date(value),
                    due=format_date(date.fromisoformat(current)),
                )
            )
        return verdict


class FilingDueDate(_AboutFiling, DueDateStep):
    pass


class ItemDueDate(_AboutItem, DueDateStep):
    pass


def _shown(answers: Answers, key: str) -> str:
    value = answers.get(key)
    return format_date(date.fromisoformat(value)) if value else ""


class CreateConfirm(_AboutFiling, ConfirmStep):
    """Shows the whole item before it is sent: the cadre will be held to these words and this date."""

    def question(self, ctx: Context, answers: Answers) -> str:
        head = ctx.texts("rect.about_filing", number=answers.get(NUMBER, ""))
        body = ctx.texts(
            self.prompt_key,
            problem=answers.get("problem", ""),
            measure=answers.get("measure", ""),
            due=_shown(answers, "due"),
        )
        return head + "\n" + body


class ExtendConfirm(_AboutItem, ConfirmStep):
    def question(self, ctx: Context, answers: Answers) -> str:
        head = ctx.texts("rect.about_item", item=answers.get(LABEL, ""))
        return head + "\n" + ctx.texts(self.prompt_key, old=_shown(answers, DUE), new=_shown(answers, "due"))


def _create_finish(ctx: Context, answers: Answers) -> Outcome:
    return Outcome(
        effects=[
            CreateRectification(
                filing_id=int(answers[FILING]),
                problem=answers["problem"],
                measure=answers["measure"],
                due_date=answers["due"],
            )
        ]
    )


def _evidence_finish(ctx: Context, answers: Answers) -> Outcome:
    return Outcome(
        effects=[
            SubmitEvidence(
                item_id=int(answers[ITEM]),
                text=answers["report"],
                attachments=list(answers.get("files") or []),
            )
        ]
    )


def _decision(kind: str):
    def finish(ctx: Context, answers: Answers) -> Outcome:
        return Outcome(
            effects=[
                RectificationDecision(
                    item_id=int(answers[ITEM]),
                    decision=kind,
                    submitted_at=str(answers.get(SUBMITTED, "")),
                    text=answers.get("reason"),
                )
            ]
        )

    return finish


def _extend_finish(ctx: Context, answers: Answers) -> Outcome:
    return Outcome(
        effects=[
            ExtendRectification(
                item_id=int(answers[ITEM]), due_date=answers["due"], previous_due_date=str(answers[DUE])
            )
        ]
    )


CREATE_DIALOG = Dialog(
    name="rect_create",
    title_key="rect.create_title",
    finish=_create_finish,
    steps=(
        FilingText("problem", "rect.ask_problem", "rect.field.problem", min_len=10, max_len=500),
        FilingText("measure", "rect.ask_measure", "rect.field.measure", min_len=10, max_len=1000),
        FilingDueDate("due", "rect.ask_due", "rect.field.due"),
        CreateConfirm(
            "confirm", "rect.confirm_create", "rect.field.confirm", button_key="rect.create_button"
        ),
    ),
)

EVIDENCE_DIALOG = Dialog(
    name="rect_evidence",
    title_key="rect.evidence_title",
    finish=_evidence_finish,
    steps=(
        ItemText("report", "rect.ask_report", "rect.field.report", min_len=10, max_len=2000),
        ItemFiles("files", "rect.ask_files", "rect.field.files", optional=True),
    ),
)

ACCEPT_DIALOG = Dialog(
    name="rect_accept",
    title_key="rect.accept_title",
    finish=_decision(ACCEPT),
    steps=(
        ItemConfirm("confirm", "rect.confirm_accept", "rect.field.confirm", button_key="rect.accept_button"),
    ),
)

SEND_BACK_DIALOG = Dialog(
    name="rect_send_back",
    title_key="rect.send_back_title",
    finish=_decision(SEND_BACK),
    steps=(
        ItemText("reason", "rect.ask_reason", "rect.field.reason", min_len=5, max_len=1000),
        ItemConfirm(
            "confirm", "rect.confirm_send_back", "rect.field.confirm", button_key="rect.send_back_button"
        ),
    ),
)

EXTEND_DIALOG = Dialog(
    name="rect_extend",
    title_key="rect.extend_title",
    finish=_extend_finish,
    steps=(
        ItemDueDate("due", "rect.ask_new_due", "rect.field.new_due", later_than=DUE),
        ExtendConfirm(
            "confirm", "rect.confirm_extend", "rect.field.confirm", button_key="rect.extend_button"
        ),
    ),
)

DIALOGS = (CREATE_DIALOG, EVIDENCE_DIALOG, ACCEPT_DIALOG, SEND_BACK_DIALOG, EXTEND_DIALOG)


def start(dialog: Dialog, ctx: Context, *, context: dict[str, Any], intro: str | None = None) -> Result:
    """Start `dialog` about one filing or item; `context` holds the private `_` answers it needs."""
    return engine.start(dialog, ctx, intro=intro, context=context)
