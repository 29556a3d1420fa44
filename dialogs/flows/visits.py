"""Return visits (回访, DOMAIN.md §8): the cadre's short questionnaire on the visit date, and the
officer's record of the visit (form, notes, next step, and the stage of the three-step method).

Both start from a button naming one visit; the service checks who may start them and checks the
visit again when they finish.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from dialogs import engine
from dialogs.context import Context
from dialogs.engine import Dialog, Result
from dialogs.events import Event
from dialogs.parsing.dates import format_date
from dialogs.replies import Effect, Outcome
from dialogs.steps import (
    Accepted,
    Answers,
    ChoiceStep,
    ConfirmStep,
    DateStep,
    Option,
    Rejected,
    TextStep,
    Verdict,
    local_today,
)

VISIT = "_visit"
LABEL = "_label"  # "张三 第1次回访（2027年1月15日）", shown above every prompt
MOODS = ("good", "steady", "pressured", "low")
FORMS = ("talk", "unit_visit", "colleagues")
# Mouding's three-step method (三步工作法): counselling → help and guidance → follow-up on results.
STAGES = ("counselling", "guidance", "follow_up")


@dataclass(frozen=True, slots=True)
class AnswerQuestionnaire(Effect):
    visit_id: int
    answers: dict[str, str]


@dataclass(frozen=True, slots=True)
class RecordVisit(Effect):
    visit_id: int
    visited_on: str
    form: str
    notes: str
    next_step: str | None
    stage: str


class _AboutVisit:
    def question(self, ctx: Context, answers: Answers) -> str:  # type: ignore[misc]
        head = ctx.texts("visit.about", visit=answers.get(LABEL, ""))
        return head + "\n" + ctx.texts(self.prompt_key)  # type: ignore[attr-defined]


class VisitText(_AboutVisit, TextStep):
    pass


class VisitChoice(_AboutVisit, ChoiceStep):
    pass


class VisitConfirm(_AboutVisit, ConfirmStep):
    pass


@dataclass(frozen=True)
class VisitedOn(_AboutVisit, DateStep):
    """The day the visit took place: not in the future."""

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        verdict = super().accept(ctx, answers, event, choice)
        if isinstance(verdict, Accepted):
            value, today = date.fromisoformat(verdict.value), local_today(ctx, event)
            if value > today:
                return Rejected(ctx.texts("visit.date_future", date=format_date(value)))
        return verdict


def _options(prefix: str, values: tuple[str, ...]) -> Callable[[Context, Answers], list[Option]]:
    def options(ctx: Context, answers: Answers) -> list[Option]:
        return [Option(v, ctx.texts(f"visit.{prefix}.{v}")) for v in values]

    return options


QUESTIONNAIRE_FIELDS = ("mood", "work", "difficulties", "help")

QUESTIONNAIRE_DIALOG = Dialog(
    name="visit_questionnaire",
    title_key="visit.q_title",
    finish=lambda ctx, a: Outcome(
        effects=[AnswerQuestionnaire(int(a[VISIT]), {k: a[k] for k in QUESTIONNAIRE_FIELDS if a.get(k)})]
    ),
    steps=(
        VisitChoice("mood", "visit.ask_mood", "visit.field.mood", columns=2, choices=_options("mood", MOODS)),
        VisitText("work", "visit.ask_work", "visit.field.work", min_len=2, max_len=1000),
        VisitText(
            "difficulties", "visit.ask_difficulties", "visit.field.difficulties", optional=True, max_len=1000
        ),
        VisitText("help", "visit.ask_help", "visit.field.help", optional=True, max_len=1000),
        VisitConfirm("confirm", "visit.confirm_q", "visit.field.confirm", button_key="visit.send_button"),
    ),
)

RECORD_DIALOG = Dialog(
    name="visit_record",
    title_key="visit.r_title",
    finish=lambda ctx, a: Outcome(
        effects=[
            RecordVisit(
                int(a[VISIT]), a["visited_on"], a["form"], a["notes"], a.get("next_step") or None, a["stage"]
            )
        ]
    ),
    steps=(
        VisitedOn("visited_on", "visit.ask_date", "visit.field.date"),
        VisitChoice("form", "visit.ask_form", "visit.field.form", columns=1, choices=_options("form", FORMS)),
        VisitText("notes", "visit.ask_notes", "visit.field.notes", min_len=10, max_len=3000),
        VisitText("next_step", "visit.ask_next", "visit.field.next", optional=True, max_len=1000),
        VisitChoice(
            "stage",
            "visit.ask_stage",
            "visit.field.stage",
            columns=1,
            choices=_options("stage", STAGES),
        ),
        VisitConfirm("confirm", "visit.confirm_r", "visit.field.confirm", button_key="visit.save_button"),
    ),
)

DIALOGS = (QUESTIONNAIRE_DIALOG, RECORD_DIALOG)


def start(dialog: Dialog, ctx: Context, *, context: dict[str, Any], intro: str | None = None) -> Result:
    return engine.start(dialog, ctx, intro=intro, context=context)
