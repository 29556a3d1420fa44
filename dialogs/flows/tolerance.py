"""The tolerance review (容错认定) officers run on a filing: open it (with its source), record the
verification findings, and record the joint meeting's decision (DOMAIN.md §3)."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs import engine
from dialogs.context import Context
from dialogs.engine import Dialog, Result
from dialogs.flows.review import AboutFiling, FilingChoice, FilingConfirm, FilingText
from dialogs.replies import Effect, Outcome
from dialogs.steps import Answers, DateStep, MultiChoiceStep, Option

SUBJECT = "_subject"  # the filing (open) or review (findings, decide) id
NUMBER = "_number"
SOURCES = ("linked_filing", "complaint", "audit", "inspection", "self_application")
OUTCOMES = ("exempt", "mitigate", "not_tolerated", "cleared")


@dataclass(frozen=True, slots=True)
class OpenReview(Effect):
    filing_id: int
    source: str
    reason: str


@dataclass(frozen=True, slots=True)
class AssignTeam(Effect):
    review_id: int
    officer_ids: list[int]


@dataclass(frozen=True, slots=True)
class RecordFindings(Effect):
    review_id: int
    findings: str


@dataclass(frozen=True, slots=True)
class DecideReview(Effect):
    review_id: int
    meeting_date: str
    meeting_decision: str
    outcome: str


def _sources(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(v, ctx.texts(f"tr.source.{v}")) for v in SOURCES]


def _outcomes(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(v, ctx.texts(f"tr.outcome.{v}")) for v in OUTCOMES]


class FilingDate(AboutFiling, DateStep):
    """A date step whose prompt names the filing, like the other review steps."""


OPEN_DIALOG = Dialog(
    name="tolerance_open",
    title_key="tr.open_title",
    finish=lambda ctx, a: Outcome(effects=[OpenReview(int(a[SUBJECT]), a["source"], a["reason"])]),
    steps=(
        FilingChoice("source", "tr.ask_source", "tr.field.source", columns=1, choices=_sources),
        FilingText("reason", "tr.ask_reason", "tr.field.reason", min_len=10, max_len=2000),
        FilingConfirm("confirm", "tr.confirm_open", "tr.field.confirm", button_key="tr.open_button"),
    ),
)

OFFICERS = "_officers"  # [[user id, name], ...] of the jurisdiction, seeded by the service


def _officers(ctx: Context, answers: Answers) -> list[Option]:
    return [Option(str(uid), name) for uid, name in answers.get(OFFICERS, [])]


class FilingMulti(AboutFiling, MultiChoiceStep):
    pass


TEAM_DIALOG = Dialog(
    name="tolerance_team",
    title_key="tr.team_title",
    finish=lambda ctx, a: Outcome(effects=[AssignTeam(int(a[SUBJECT]), [int(v) for v in a["team"]])]),
    steps=(FilingMulti("team", "tr.ask_team", "tr.field.team", choices=_officers),),
)

FINDINGS_DIALOG = Dialog(
    name="tolerance_findings",
    title_key="tr.findings_title",
    finish=lambda ctx, a: Outcome(effects=[RecordFindings(int(a[SUBJECT]), a["findings"])]),
    steps=(
        FilingText("findings", "tr.ask_findings", "tr.field.findings", min_len=10, max_len=4000),
        FilingConfirm("confirm", "tr.confirm_findings", "tr.field.confirm", button_key="tr.findings_button"),
    ),
)

DECIDE_DIALOG = Dialog(
    name="tolerance_decide",
    title_key="tr.decide_title",
    finish=lambda ctx, a: Outcome(
        effects=[DecideReview(int(a[SUBJECT]), a["meeting_date"], a["meeting_decision"], a["outcome"])]
    ),
    steps=(
        FilingDate("meeting_date", "tr.ask_meeting_date", "tr.field.meeting_date", confirm_past_days=365),
        FilingText(
            "meeting_decision",
            "tr.ask_meeting_decision",
            "tr.field.meeting_decision",
            min_len=10,
            max_len=2000,
        ),
        FilingChoice(
            "outcome",
            "tr.ask_outcome",
            "tr.field.outcome",
            columns=1,
            choices=_outcomes,
        ),
        FilingConfirm("confirm", "tr.confirm_decide", "tr.field.confirm", button_key="tr.decide_button"),
    ),
)

DIALOGS = (OPEN_DIALOG, TEAM_DIALOG, FINDINGS_DIALOG, DECIDE_DIALOG)


def start(
    dialog: Dialog, ctx: Context, *, subject_id: int, number: str, seed: Answers | None = None
) -> Result:
    result = engine.start(dialog, ctx)
    assert result.state is not None
    result.state.answers.update(seed or {})
    # The review prompts read the filing number from the same key as the initial-review dialogs.
    result.state.answers[SUBJECT] = subject_id
    result.state.answers["_number"] = number
    return Result(result.state, Outcome(replies=[engine.prompt(dialog, result.state, ctx)]))
