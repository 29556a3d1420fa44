"""Pre-filing (容错报备): the fields of DOMAIN.md §4 a cadre fills in, one step at a time.

kind → title → category → situations → background → planned action → rule at risk → necessity
→ decision procedure (→ meeting name, date, minutes) → risks → controls → conflict of interest
(→ details) → start → end → milestones → funds → attachments → commitment → summary.

From the summary the cadre can edit any answer (and comes back), run the self-check in
pre-filing mode, or submit. The service stores the draft after every step, keyed by `_draft`,
so it survives restarts and channel switches.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping

from dialogs import engine
from dialogs.context import Context
from dialogs.engine import Dialog, Result
from dialogs.flows import selfcheck
from dialogs.policy.pack import PolicyPack
from dialogs.replies import Outcome, SubmitFiling
from dialogs.steps import (
    AmountStep,
    Answers,
    ChoiceStep,
    ConfirmStep,
    DateStep,
    FilesStep,
    MilestonesStep,
    MultiChoiceStep,
    Option,
    Step,
    TextStep,
)

NAME = "prefiling"
DRAFT_KEY = "_draft"
SELFCHECK_PREFIX = "sc."
LONG = {"min_len": 10, "max_len": 2000}
MEETING_STEPS = ("meeting_name", "meeting_date", "minutes")


def localized(ctx: Context, value: Mapping[str, str]) -> str:
    return value.get(ctx.texts.locale) or value["zh_CN"]


def _fixed(*pairs: tuple[str, str]):
    def choices(ctx: Context, answers: Answers) -> list[Option]:
        return [Option(value, ctx.texts(key)) for value, key in pairs]

    return choices


def _policy(ctx: Context) -> PolicyPack:
    assert ctx.policy is not None, "the pre-filing needs a policy pack in the context"
    return ctx.policy


def _categories(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(c.id, f"{c.id} {localized(ctx, c.name)}") for c in _policy(ctx).categories]


def _situations(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(s.id, f"{s.id} {localized(ctx, s.title)}") for s in _policy(ctx).situations]


def _category_situations(ctx: Context, answers: Answers) -> list[str]:
    category = answers.get("category")
    return list(_policy(ctx).category(category).situations) if category else []


class SituationsStep(MultiChoiceStep):
    """Which of the six situations the cadre believes apply, each explained in one line."""

    def question(self, ctx: Context, answers: Answers) -> str:
        lines = [
            f"{s.id} {localized(ctx, s.title)}：{localized(ctx, s.summary)}" for s in _policy(ctx).situations
        ]
        return ctx.texts(self.prompt_key) + "\n\n" + "\n".join(lines)


FIELDS: tuple[Step, ...] = (
    ChoiceStep(
        "kind",
        "pf.ask_kind",
        "pf.field.kind",
        choices=_fixed(("person", "pf.kind.person"), ("unit", "pf.kind.unit")),
    ),
    TextStep("title", "pf.ask_title", "pf.field.title", min_len=4, max_len=60),
    ChoiceStep("category", "pf.ask_category", "pf.field.category", columns=1, choices=_categories),
    SituationsStep(
        "situations",
        "pf.ask_situations",
        "pf.field.situations",
        depends_on=("category",),
        choices=_situations,
        preselect=_category_situations,
    ),
    TextStep("background", "pf.ask_background", "pf.field.background", **LONG),
    TextStep("planned_action", "pf.ask_planned_action", "pf.field.planned_action", **LONG),
    TextStep("rule_at_risk", "pf.ask_rule_at_risk", "pf.field.rule_at_risk", **LONG),
    TextStep("necessity", "pf.ask_necessity", "pf.field.necessity", **LONG),
    ChoiceStep(
        "decision",
        "pf.ask_decision",
        "pf.field.decision",
        columns=1,
        choices=_fixed(
            ("yes", "pf.decision.yes"), ("no", "pf.decision.no"), ("not_required", "pf.decision.not_required")
        ),
    ),
    TextStep("meeting_name", "pf.ask_meeting_name", "pf.field.meeting_name", min_len=2, max_len=60),
    DateStep("meeting_date", "pf.ask_meeting_date", "pf.field.meeting_date", confirm_past_days=365),
    FilesStep("minutes", "pf.ask_minutes", "pf.field.minutes", optional=True, max_files=5),
    TextStep("risks", "pf.ask_risks", "pf.field.risks", **LONG),
    TextStep("controls", "pf.ask_controls", "pf.field.controls", **LONG),
    ChoiceStep(
        "conflict",
        "pf.ask_conflict",
        "pf.field.conflict",
        columns=1,
        choices=_fixed(("no", "pf.conflict.no"), ("yes", "pf.conflict.yes")),
    ),
    TextStep("conflict_detail", "pf.ask_conflict_detail", "pf.field.conflict_detail", **LONG),
    DateStep("start_date", "pf.ask_start_date", "pf.field.start_date"),
    DateStep(
        "end_date", "pf.ask_end_date", "pf.field.end_date", not_before="start_date", confirm_past_days=None
    ),
    MilestonesStep("milestones", "pf.ask_milestones", "pf.field.milestones", optional=True),
    AmountStep("funds", "pf.ask_funds", "pf.field.funds"),
    FilesStep("attachments", "pf.ask_attachments", "pf.field.attachments", optional=True),
    ConfirmStep("commitment", "pf.ask_commitment", "pf.field.commitment", button_key="pf.commit_button"),
)
FIELD_ORDER = tuple(s.name for s in FIELDS)
FIELD_STEPS = {s.name: s for s in FIELDS}


def next_field(current: str, answers: Answers) -> str:
    """The form field after `current`, skipping those the answers make irrelevant; then the summary."""
    for name in FIELD_ORDER[FIELD_ORDER.index(current) + 1 :]:
        if name in MEETING_STEPS and answers.get("decision") != "yes":
            continue
        if name == "conflict_detail" and answers.get("conflict") != "yes":
            continue
        return name
    return "summary"


def field_path(answers: Answers) -> list[str]:
    """The fields the answers lead through, in order, up to the first one not yet answered."""
    visited: list[str] = []
    name = FIELD_ORDER[0]
    # A skipped optional field is answered (None); only a missing key is still open.
    while name != "summary" and name in answers:
        visited.append(name)
        name = next_field(name, answers)
    return visited


def summary_lines(ctx: Context, answers: Answers) -> list[str]:
    lines = []
    for name in field_path(answers):
        step, value = FIELD_STEPS[name], answers[name]
        shown = ctx.texts("pf.skipped") if value is None else step.display(ctx, answers, value)
        lines.append(f"【{ctx.texts(step.label_key)}】{shown}")
    return lines


class SummaryStep(ChoiceStep):
    """Every answer, the self-check result if any, the warning, and what to do next."""

    def question(self, ctx: Context, answers: Answers) -> str:
        lines = [ctx.texts("pf.summary_header"), *summary_lines(ctx, answers)]
        evaluation = selfcheck.embedded_evaluation(ctx, answers, SELFCHECK_PREFIX)
        if evaluation is not None:
            lines.append(ctx.texts("pf.summary_selfcheck", verdict=selfcheck.verdict_line(ctx, evaluation)))
        lines += ["", ctx.texts("pf.not_preapproval")]
        return "\n".join(lines)


def _summary_choices(ctx: Context, answers: Answers) -> list[Option]:
    done = selfcheck.embedded_answers(answers, SELFCHECK_PREFIX)
    return [
        Option("submit", ctx.texts("pf.submit")),
        Option("edit", ctx.texts("pf.edit")),
        Option("selfcheck", ctx.texts("pf.redo_selfcheck" if done else "pf.run_selfcheck")),
    ]


def _edit_choices(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(n, ctx.texts(FIELD_STEPS[n].label_key)) for n in field_path(answers)]


def build(pack: PolicyPack) -> Dialog:
    """The pre-filing dialog for one policy pack (its categories, situations and questions)."""

    def route(current: str, answers: Answers) -> str | None:
        if current == "summary":
            choice = answers.get("summary")
            if choice == "submit":
                return None
            if choice == "edit":
                return "edit_pick"
            if choice == "selfcheck":
                selfcheck.clear_embedded(answers, SELFCHECK_PREFIX)
            return selfcheck.next_step(pack, answers, SELFCHECK_PREFIX, mode="prefiling") or "summary"
        if current.startswith(SELFCHECK_PREFIX):
            return selfcheck.next_step(pack, answers, SELFCHECK_PREFIX, mode="prefiling") or "summary"
        return next_field(current, answers)

    return Dialog(
        name=NAME,
        title_key="pf.title",
        finish=_finish,
        route=route,
        summary_step="summary",
        editor_step="edit_pick",
        steps=(
            *FIELDS,
            SummaryStep(
                "summary",
                "pf.summary_header",
                "pf.field.summary",
                transient=True,
                columns=1,
                choices=_summary_choices,
            ),
            ChoiceStep(
                "edit_pick", "pf.ask_edit", "pf.field.edit", transient=True, columns=2, choices=_edit_choices
            ),
            *selfcheck.question_steps(pack, SELFCHECK_PREFIX, mode="prefiling"),
        ),
    )


def start(dialog: Dialog, ctx: Context, *, seed: Answers | None = None) -> Result:
    """A new draft; `seed` carries answers from a finished self-check (embedded under the prefix)."""
    result = engine.start(dialog, ctx, intro=ctx.texts("pf.intro"))
    assert result.state is not None
    result.state.answers[DRAFT_KEY] = uuid.uuid4().hex
    for question, answer in (seed or {}).items():
        result.state.answers[SELFCHECK_PREFIX + question] = answer
    return result


def _finish(ctx: Context, answers: Answers) -> Outcome:
    fields = {name: answers[name] for name in field_path(answers)}
    embedded = selfcheck.embedded_answers(answers, SELFCHECK_PREFIX)
    effect = SubmitFiling(draft_key=answers[DRAFT_KEY], fields=fields, selfcheck_answers=embedded or None)
    return Outcome(effects=[effect])
