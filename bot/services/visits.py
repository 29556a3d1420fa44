"""Return visits (回访): planned from the policy pack when a tolerance review is decided; the cadre
answers a short questionnaire on the visit date (the answers go to the officer), the officer
records the visit. The officer's notes are never shown to the cadre."""

from __future__ import annotations

from datetime import date

from bot.services.access import deny
from bot.services.calls import Call, CommandResult
from bot.services.notify import notify
from bot.services.reminders import plans
from bot.services.reminders.schedule import visit_days
from bot.services.review import may_review
from dialogs.events import Command
from dialogs.flows import visits as flow
from dialogs.parsing.dates import format_date
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from dialogs.texts import Texts
from storage.models import Filing, ReturnVisit, ToleranceReview, User
from storage.repositories.visits import DONE, PLANNED

SUBJECT = "return_visit"
LISTED = 10


async def plan_after_decision(call: Call, review: ToleranceReview, filing: Filing) -> list[ReturnVisit]:
    """The schedule of DOMAIN.md §8 for this outcome, each visit on a working day, with its reminders."""
    offsets = call.env.policy.return_visits.get(review.outcome or "", ())
    decided = call.now.astimezone(call.env.tz).date()
    created: list[ReturnVisit] = []
    assert review.id is not None and filing.id is not None and call.user.id is not None
    for seq, day in enumerate(visit_days(decided, offsets), start=1):
        if not call.env.calendar.is_workday(day):
            day = call.env.calendar.next_workday(day)
        visit = await call.uow.visits.add(
            ReturnVisit(
                review_id=review.id,
                filing_id=filing.id,
                jurisdiction_code=review.jurisdiction_code,
                cadre_user_id=filing.user_id,
                officer_user_id=call.user.id,
                outcome=review.outcome or "",
                seq=seq,
                due_date=day,
                created_at=call.now,
            )
        )
        await plans.plan_visit(call.uow, call.env, call.now, visit)
        created.append(visit)
    if created:
        call.uow.audit.record(
            at=call.now,
            action="visits.planned",
            subject_type="review",
            subject_id=review.id,
            actor_user_id=call.user.id,
            data={"dates": [v.due_date.isoformat() for v in created], "officer": call.user.id},
        )
    return created


def _label(texts: Texts, visit: ReturnVisit, cadre: User | None) -> str:
    return texts(
        "visit.label",
        name=cadre.name if cadre and cadre.name else "—",
        seq=visit.seq,
        date=format_date(visit.due_date),
    )


async def _found(call: Call, raw: str) -> tuple[ReturnVisit, Filing] | None:
    visit = await call.uow.visits.get(found) if (found := record_id(raw)) else None
    filing = await call.uow.filings.get(visit.filing_id) if visit is not None else None
    return (visit, filing) if visit is not None and filing is not None else None


async def visits(call: Call, command: Command) -> CommandResult:
    """/visits: the planned return visits of the officer's jurisdictions, the earliest first."""
    texts = call.ctx.texts
    planned = await call.uow.visits.planned_for(sorted(call.ctx.viewer.jurisdictions))
    if not planned:
        return CommandResult([Reply(texts("visit.none"))])
    today = call.now.astimezone(call.env.tz).date()
    lines = [texts("visit.list_header", count=len(planned))]
    buttons: list[tuple[Button, ...]] = []
    for visit in planned:
        cadre = await call.uow.users.get(visit.cadre_user_id)
        officer = await call.uow.users.get(visit.officer_user_id)
        lines.append(
            texts(
                "visit.list_line",
                flag=texts("visit.overdue") if visit.due_date < today else "",
                visit=_label(texts, visit, cadre),
                outcome=texts(f"tr.outcome.{visit.outcome}"),
                officer=officer.name if officer and officer.name else "—",
                answered=texts("visit.answered") if visit.questionnaire_at else "",
            )
        )
        if len(buttons) < LISTED:
            buttons.append((Button(_label(texts, visit, cadre)[:40], f"/visit {visit.id}"),))
    return CommandResult([Reply("\n".join(lines), tuple(buttons))])


def _answers_text(texts: Texts, visit: ReturnVisit) -> str:
    answers = visit.questionnaire
    if not answers:
        return texts("visit.no_answers")
    return texts(
        "visit.answers",
        mood=texts(f"visit.mood.{answers['mood']}") if answers.get("mood") else "—",
        work=answers.get("work") or "—",
        difficulties=answers.get("difficulties") or "—",
        help=answers.get("help") or "—",
    )


async def visit(call: Call, command: Command) -> CommandResult:
    """/visit ID: an officer of the jurisdiction records a planned visit (or reads a recorded one)."""
    texts = call.ctx.texts
    found = await _found(call, command.args.strip())
    if found is None or not may_review(call, found[1]):
        return deny(call, command, SUBJECT)
    visit, filing = found
    cadre = await call.uow.users.get(visit.cadre_user_id)
    if visit.status == DONE:
        text = texts(
            "visit.recorded_card",
            visit=_label(texts, visit, cadre),
            date=format_date(visit.visited_on) if visit.visited_on else "—",
            form=texts(f"visit.form.{visit.form}") if visit.form else "—",
            stage=texts(f"visit.stage.{visit.stage}") if visit.stage else "—",
            notes=visit.notes or "",
            next_step=visit.next_step or "—",
        )
        return CommandResult([Reply(text, ((Button(texts("rem.view_filing"), f"/filing {filing.id}"),),))])
    intro = texts(
        "visit.card",
        visit=_label(texts, visit, cadre),
        unit=call.ctx.directory.full_name(cadre.unit_code) if cadre and cadre.unit_code else "—",
        number=filing.number or "—",
        outcome=texts(f"tr.outcome.{visit.outcome}"),
    )
    intro += "\n" + _answers_text(texts, visit)
    context = {flow.VISIT: visit.id, flow.LABEL: _label(texts, visit, cadre)}
    result = flow.start(flow.RECORD_DIALOG, call.ctx, context=context, intro=intro)
    return CommandResult(list(result.outcome.replies), result.state)


async def visit_form(call: Call, command: Command) -> CommandResult:
    """/visitform ID: the cadre answers the questionnaire of one of their own visits."""
    texts = call.ctx.texts
    found = await _found(call, command.args.strip())
    if found is None or found[0].cadre_user_id != call.user.id:
        return deny(call, command, SUBJECT)
    visit, _ = found
    if visit.status != PLANNED or visit.questionnaire_at is not None:
        return CommandResult([Reply(texts("visit.q_done"))])
    context = {flow.VISIT: visit.id, flow.LABEL: _label(texts, visit, call.user)}
    result = flow.start(flow.QUESTIONNAIRE_DIALOG, call.ctx, context=context, intro=texts("visit.q_intro"))
    return CommandResult(list(result.outcome.replies), result.state)


async def answered(call: Call, effect: flow.AnswerQuestionnaire) -> list[Reply]:
    texts = call.ctx.texts
    visit = await call.uow.visits.get(effect.visit_id)
    if visit is None or visit.cadre_user_id != call.user.id:
        return [Reply(texts("access.not_yours"))]
    if visit.status != PLANNED or visit.questionnaire_at is not None:
        return [Reply(texts("visit.q_done"))]
    visit.questionnaire, visit.questionnaire_at = dict(effect.answers), call.now
    call.uow.session.add(visit)
    call.uow.audit.record(
        at=call.now,
        action="visit.questionnaire",
        subject_type=SUBJECT,
        subject_id=visit.id or 0,
        actor_user_id=call.user.id,
        data=dict(effect.answers),
    )
    officer = await call.uow.users.get(visit.officer_user_id)
    if officer is not None:
        cadre = call.user

        def render(t: Texts) -> Reply:
            text = t("visit.notice.answers", visit=_label(t, visit, cadre)) + "\n" + _answers_text(t, visit)
            return Reply(text, ((Button(t("visit.record_button"), f"/visit {visit.id}"),),))

        await notify(call, officer, render, dedupe_key=f"visit:{visit.id}:answers")
    return [Reply(texts("visit.q_thanks"))]


async def recorded(call: Call, effect: flow.RecordVisit) -> list[Reply]:
    texts = call.ctx.texts
    visit = await call.uow.visits.get(effect.visit_id)
    filing = await call.uow.filings.get(visit.filing_id) if visit is not None else None
    if visit is None or filing is None or not may_review(call, filing):
        return [Reply(texts("access.not_yours"))]
    cadre = await call.uow.users.get(visit.cadre_user_id)
    if visit.status != PLANNED:
        return [Reply(texts("visit.already_recorded", visit=_label(texts, visit, cadre)))]
    assert call.user.id is not None
    await call.uow.visits.record(
        visit,
        visited_on=date.fromisoformat(effect.visited_on),
        form=effect.form,
        notes=effect.notes,
        next_step=effect.next_step,
        stage=effect.stage,
        officer_id=call.user.id,
        now=call.now,
    )
    call.uow.audit.record(
        at=call.now,
        action="visit.recorded",
        subject_type=SUBJECT,
        subject_id=visit.id or 0,
        actor_user_id=call.user.id,
        from_state=PLANNED,
        to_state=DONE,
        data={"visited_on": effect.visited_on, "form": effect.form, "stage": effect.stage},
    )
    return [Reply(texts("visit.saved", visit=_label(texts, visit, cadre)))]


async def filing_section(call: Call, filing: Filing, *, as_officer: bool) -> list[str]:
    """The filing view's lines about return visits; cadres see the dates, not the notes."""
    texts = call.ctx.texts
    found = await call.uow.visits.of_filing(filing.id or 0)
    if not found:
        return []
    lines = [texts("visit.filing_header")]
    for item in found:
        status = texts(f"visit.status.{item.status}")
        lines.append(texts("visit.filing_line", seq=item.seq, date=format_date(item.due_date), status=status))
    return lines


COMMANDS = {"visits": visits, "visit": visit, "visitform": visit_form}
EFFECTS = {flow.AnswerQuestionnaire: answered, flow.RecordVisit: recorded}
