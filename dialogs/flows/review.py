"""Initial review (初审) by an officer, and the cadre's answer to a return for completion.

Each dialog is short and starts from a button on a filing; the service checks who may start it
and checks again, when it finishes, that the filing has not moved on in the meantime.
"""

from __future__ import annotations

from dialogs import engine
from dialogs.context import Context
from dialogs.engine import Dialog, Result
from dialogs.replies import AnswerReturn, Outcome, ReviewDecision
from dialogs.steps import Answers, ChoiceStep, ConfirmStep, FilesStep, Option, TextStep

FILING = "_filing"
NUMBER = "_number"
ACCEPT, NOT_ACCEPT, RETURN = "accept", "not_accept", "return"
COLOURS = ("green", "yellow", "red")


class _AboutFiling:
    """Prompts name the filing they are about: an officer may have several open at once."""

    def question(self, ctx: Context, answers: Answers) -> str:  # type: ignore[misc]
        return ctx.texts("rv.about", number=answers.get(NUMBER, "")) + "\n" + ctx.texts(self.prompt_key)  # type: ignore[attr-defined]


AboutFiling = _AboutFiling  # for other review-like flows


class FilingText(_AboutFiling, TextStep):
    pass


class FilingChoice(_AboutFiling, ChoiceStep):
    pass


class FilingConfirm(_AboutFiling, ConfirmStep):
    pass


def _colours(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(colour, ctx.texts(f"rv.colour.{colour}")) for colour in COLOURS]


def _decision(kind: str):
    def finish(ctx: Context, answers: Answers) -> Outcome:
        return Outcome(
            effects=[
                ReviewDecision(
                    filing_id=int(answers[FILING]),
                    decision=kind,
                    risk_colour=answers.get("colour"),
                    text=answers.get("note") or answers.get("reasons") or answers.get("question"),
                )
            ]
        )

    return finish


ACCEPT_DIALOG = Dialog(
    name="review_accept",
    title_key="rv.accept_title",
    finish=_decision(ACCEPT),
    steps=(
        FilingChoice("colour", "rv.ask_colour", "rv.field.colour", columns=1, choices=_colours),
        FilingText("note", "rv.ask_note", "rv.field.note", optional=True, min_len=2, max_len=500),
        FilingConfirm("confirm", "rv.confirm_accept", "rv.field.confirm", button_key="rv.accept_button"),
    ),
)

NOT_ACCEPT_DIALOG = Dialog(
    name="review_not_accept",
    title_key="rv.not_accept_title",
    finish=_decision(NOT_ACCEPT),
    steps=(
        FilingText("reasons", "rv.ask_reasons", "rv.field.reasons", min_len=10, max_len=1000),
        FilingConfirm(
            "confirm", "rv.confirm_not_accept", "rv.field.confirm", button_key="rv.not_accept_button"
        ),
    ),
)

RETURN_DIALOG = Dialog(
    name="review_return",
    title_key="rv.return_title",
    finish=_decision(RETURN),
    steps=(
        FilingText("question", "rv.ask_question", "rv.field.question", min_len=10, max_len=1000),
        FilingConfirm("confirm", "rv.confirm_return", "rv.field.confirm", button_key="rv.return_button"),
    ),
)


def _answer_finish(ctx: Context, answers: Answers) -> Outcome:
    return Outcome(
        effects=[
            AnswerReturn(
                filing_id=int(answers[FILING]),
                text=answers["answer"],
                attachments=list(answers.get("files") or []),
            )
        ]
    )


ANSWER_DIALOG = Dialog(
    name="review_answer",
    title_key="rv.answer_title",
    finish=_answer_finish,
    steps=(
        FilingText("answer", "rv.ask_answer", "rv.field.answer", min_len=5, max_len=2000),
        FilesStep("files", "rv.ask_answer_files", "rv.field.answer_files", optional=True),
    ),
)

BY_DECISION = {ACCEPT: ACCEPT_DIALOG, NOT_ACCEPT: NOT_ACCEPT_DIALOG, RETURN: RETURN_DIALOG}
DIALOGS = (ACCEPT_DIALOG, NOT_ACCEPT_DIALOG, RETURN_DIALOG, ANSWER_DIALOG)


def start(dialog: Dialog, ctx: Context, *, filing_id: int, number: str, intro: str | None = None) -> Result:
    return engine.start(dialog, ctx, intro=intro, context={FILING: filing_id, NUMBER: number})
