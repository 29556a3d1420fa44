"""Initial review (初审): officers are told of new filings, accept, do not accept or return them,
and the cadre answers a return. Every step is authorised here, audited, and announced through the
outbox in the same transaction."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy.exc import IntegrityError

from bot.services import selfchecks
from bot.services.calls import Call, CommandResult
from bot.services.notify import notify
from bot.services.reminders import plans
from bot.services.stats import record as stats_record
from dialogs.events import Command
from dialogs.flows import review
from dialogs.parsing.dates import format_date
from dialogs.parsing.ids import record_id
from dialogs.replies import AnswerReturn, Button, Reply, ReviewDecision
from dialogs.texts import Texts
from storage.errors import ConcurrentUpdate
from storage.models import Filing

SUBMITTED, RETURNED, ACCEPTED, NOT_ACCEPTED = "submitted", "returned", "accepted", "not_accepted"
STATUS_AFTER = {review.ACCEPT: ACCEPTED, review.NOT_ACCEPT: NOT_ACCEPTED, review.RETURN: RETURNED}
QUEUE_STATUSES = (SUBMITTED, RETURNED, ACCEPTED)


def _due(call: Call, filing: Filing) -> str:
    if filing.review_due_at is None:
        return "—"
    return format_date(filing.review_due_at.astimezone(call.env.tz).date())


async def notify_officers(call: Call, filing: Filing, *, event: str, seq: int = 0) -> int:
    """Tell every officer of the filing's jurisdiction; returns how many could be reached."""
    assert filing.jurisdiction_code and filing.id is not None
    filer = call.user if call.user.id == filing.user_id else await call.uow.users.get(filing.user_id)
    unit = call.ctx.directory.full_name(filing.unit_code) if filing.unit_code else "—"
    verdict = "—"
    if filing.selfcheck_id:
        record = await call.uow.selfchecks.get(filing.selfcheck_id)
        if record is not None:
            verdict = selfchecks.stored_verdict_line(call, record)
    category = call.env.policy.category(filing.category) if filing.category else None

    def card(texts: Texts) -> Reply:
        text = texts(
            f"rv.notice.{event}",
            number=filing.number,
            title=filing.title or "",
            filer=filer.name if filer else "—",
            unit=unit,
            category=f"{category.id} {category.name.get(texts.locale) or category.name['zh_CN']}"
            if category
            else "—",
            verdict=verdict,
            due=_due(call, filing),
        )
        buttons = (
            (Button(texts("rv.view"), f"/filing {filing.id}"),),
            (
                Button(texts("rv.accept"), f"/accept {filing.id}"),
                Button(texts("rv.not_accept"), f"/reject {filing.id}"),
            ),
            (Button(texts("rv.return"), f"/return {filing.id}"),),
        )
        return Reply(text, buttons)

    reached = 0
    for officer in await call.uow.users.officers_of(filing.jurisdiction_code):
        key = f"filing:{filing.id}:{event}:{seq}:officer:{officer.id}"
        reached += await notify(call, officer, card, dedupe_key=key)
    return reached


async def notify_officers_text(call: Call, filing: Filing, *, key: str, render) -> int:
    """Queue `render(texts)` for every officer of the filing's jurisdiction, each in their language."""
    reached = 0
    for officer in await call.uow.users.officers_of(filing.jurisdiction_code or ""):
        reached += await notify(call, officer, render, dedupe_key=f"{key}:officer:{officer.id}")
    return reached


async def _deny(call: Call, command: Command, subject: str) -> CommandResult:
    call.uow.audit.record(
        at=call.now,
        action="access.denied",
        subject_type="filing",
        subject_id=subject or "-",
        actor_user_id=call.user.id,
        comment=f"/{command.name} {command.args}"[:200],
    )
    return CommandResult([Reply(call.ctx.texts("access.not_yours"))])


def may_review(call: Call, filing: Filing) -> bool:
    viewer = call.ctx.viewer
    return viewer.has_role("officer") and filing.jurisdiction_code in viewer.jurisdictions


async def _start_decision(call: Call, command: Command, decision: str) -> CommandResult:
    arg = command.args.strip()
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    if filing is None or not may_review(call, filing):
        return await _deny(call, command, arg)
    if filing.status != SUBMITTED:
        return CommandResult(
            [
                Reply(
                    call.ctx.texts(
                        "rv.not_open", number=filing.number, status=call.ctx.texts(f"status.{filing.status}")
                    )
                )
            ]
        )
    result = review.start(
        review.BY_DECISION[decision], call.ctx, filing_id=filing.id or 0, number=filing.number or ""
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def accept(call: Call, command: Command) -> CommandResult:
    return await _start_decision(call, command, review.ACCEPT)


async def reject(call: Call, command: Command) -> CommandResult:
    return await _start_decision(call, command, review.NOT_ACCEPT)


async def return_(call: Call, command: Command) -> CommandResult:
    return await _start_decision(call, command, review.RETURN)


async def decide(call: Call, effect: ReviewDecision) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    filing = await uow.filings.get(effect.filing_id)
    if filing is None or not may_review(call, filing):
        # The role was revoked while the dialog was open: nothing happens.
        return [Reply(texts("access.not_yours"))]
    if filing.status != SUBMITTED:
        # Another officer decided first (or the cadre withdrew): the later decision changes nothing.
        return [Reply(texts("rv.already", number=filing.number, status=texts(f"status.{filing.status}")))]
    previous = filing.status
    filing.status = STATUS_AFTER[effect.decision]
    filing.reviewed_at = filing.updated_at = call.now
    filing.reviewed_by = call.user.id
    stats_record.initial_review_decided(call, filing)
    assert filing.id is not None and call.user.id is not None
    if effect.decision == review.ACCEPT:
        jurisdiction = call.ctx.directory.get(filing.jurisdiction_code or "")
        year = filing.year or call.now.astimezone(call.env.tz).year
        seq = await uow.filings.next_decision_seq(filing.jurisdiction_code or "", year)
        decision_number = f"{jurisdiction.display_short if jurisdiction else ''}容受〔{year}〕{seq}号"
        filing.decision_seq, filing.decision_number, filing.risk_colour = (
            seq,
            decision_number,
            effect.risk_colour,
        )
        if effect.risk_colour == "red":
            await _plan_milestone_reports(call, filing)
    else:
        kind = "return_question" if effect.decision == review.RETURN else "not_accepted_reasons"
        await uow.filing_messages.add(
            filing_id=filing.id, kind=kind, author_user_id=call.user.id, text=effect.text or "", now=call.now
        )
    uow.session.add(filing)
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise ConcurrentUpdate("decision number taken concurrently") from exc
    await plans.stop_review_deadline(uow, call.now, filing)
    uow.audit.record(
        at=call.now,
        action=f"filing.{filing.status}",
        subject_type="filing",
        subject_id=filing.id,
        actor_user_id=call.user.id,
        from_state=previous,
        to_state=filing.status,
        comment=effect.text,
        data={"risk_colour": effect.risk_colour, "decision_number": filing.decision_number},
    )
    cadre = await uow.users.get(filing.user_id)
    if cadre is not None:
        await notify(
            call,
            cadre,
            lambda t: _cadre_notice(t, filing, effect),
            dedupe_key=f"filing:{filing.id}:{filing.status}:{filing.updated_at.timestamp()}",
        )
    return [
        Reply(
            texts(
                f"rv.done.{effect.decision}",
                number=filing.number,
                decision_number=filing.decision_number or "",
            )
        )
    ]


MILESTONE_REPORT_HOUR = 9  # local time on the milestone date


async def _plan_milestone_reports(call: Call, filing: Filing) -> None:
    """A red filing reports progress at each milestone the cadre gave: one reminder row per future date."""
    for milestone in filing.answers.get("milestones") or []:
        day = date.fromisoformat(milestone["date"])
        due = datetime.combine(day, time(MILESTONE_REPORT_HOUR), call.env.tz)
        if due <= call.now:
            continue
        await call.uow.reminders.plan(
            kind="milestone_report",
            due_at=due,
            target_user_id=filing.user_id,
            subject_type="filing",
            subject_id=filing.id or 0,
            now=call.now,
            payload={"date": milestone["date"], "what": milestone["what"], "number": filing.number},
            dedupe_key=f"milestone:{filing.id}:{milestone['date']}:{milestone['what']}"[:120],
        )


def _cadre_notice(texts: Texts, filing: Filing, effect: ReviewDecision) -> Reply:
    view = (Button(texts("pf.view_filing"), f"/filing {filing.id}"),)
    if effect.decision == review.ACCEPT:
        text = texts(
            "rv.cadre.accepted",
            number=filing.number,
            decision_number=filing.decision_number,
            colour=texts(f"rv.colour.{effect.risk_colour}"),
            note=effect.text or texts("rv.no_note"),
        )
        return Reply(text, (view,))
    if effect.decision == review.NOT_ACCEPT:
        return Reply(texts("rv.cadre.not_accepted", number=filing.number, reasons=effect.text or ""), (view,))
    answer = (Button(texts("rv.answer_button"), f"/answer {filing.id}"),)
    return Reply(texts("rv.cadre.returned", number=filing.number, question=effect.text or ""), (answer, view))


async def answer(call: Call, command: Command) -> CommandResult:
    """/answer ID: the cadre answers a return for completion."""
    arg = command.args.strip()
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    if filing is None or filing.user_id != call.user.id:
        return await _deny(call, command, arg)
    if filing.status != RETURNED:
        return CommandResult([Reply(call.ctx.texts("rv.no_question", number=filing.number))])
    question = await call.uow.filing_messages.latest(filing.id or 0, "return_question")
    intro = call.ctx.texts("rv.question_was", question=question.text if question else "")
    result = review.start(
        review.ANSWER_DIALOG, call.ctx, filing_id=filing.id or 0, number=filing.number or "", intro=intro
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def answered(call: Call, effect: AnswerReturn) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    filing = await uow.filings.get(effect.filing_id)
    if filing is None or filing.user_id != call.user.id:
        return [Reply(texts("access.not_yours"))]
    if filing.status != RETURNED:
        return [Reply(texts("rv.no_question", number=filing.number))]
    assert filing.id is not None and call.user.id is not None
    message = await uow.filing_messages.add(
        filing_id=filing.id,
        kind="return_answer",
        author_user_id=call.user.id,
        text=effect.text,
        attachments=effect.attachments,
        now=call.now,
    )
    filing.status, filing.updated_at = SUBMITTED, call.now
    filing.review_due_at = call.env.calendar.initial_review_due(call.now, call.env.tz)
    uow.session.add(filing)
    uow.audit.record(
        at=call.now,
        action="filing.resubmitted",
        subject_type="filing",
        subject_id=filing.id,
        actor_user_id=call.user.id,
        from_state=RETURNED,
        to_state=SUBMITTED,
    )
    await notify_officers(call, filing, event="answered", seq=message.id or 0)
    await plans.plan_review_deadline(uow, call.env, call.now, filing)
    return [Reply(texts("rv.answer_sent", number=filing.number, due=_due(call, filing)))]


async def queue(call: Call, command: Command) -> CommandResult:
    """/queue: the open work of the officer's jurisdictions, the earliest deadline (overdue) first."""
    texts = call.ctx.texts
    rows = await call.uow.filings.open_in(sorted(call.ctx.viewer.jurisdictions), QUEUE_STATUSES)
    if not rows:
        return CommandResult([Reply(texts("queue.empty"))])
    ordered = sorted(rows, key=lambda f: (QUEUE_STATUSES.index(f.status), f.review_due_at or call.now))
    lines = [texts("queue.header", count=len(ordered))]
    buttons = []
    for filing in ordered:
        overdue = (
            filing.status == SUBMITTED
            and filing.review_due_at is not None
            and filing.review_due_at < call.now
        )
        flag = texts("queue.overdue") if overdue else ""
        lines.append(
            texts(
                "queue.line",
                flag=flag,
                number=filing.number,
                title=filing.title or "",
                status=texts(f"status.{filing.status}"),
                due=_due(call, filing),
            )
        )
        if len(buttons) < 10:
            buttons.append((Button(f"{filing.number} {filing.title or ''}"[:40], f"/filing {filing.id}"),))
    return CommandResult([Reply("\n".join(lines), tuple(buttons))])


def officer_buttons(texts: Texts, filing: Filing) -> tuple[tuple[Button, ...], ...]:
    if filing.status != SUBMITTED:
        return ()
    return (
        (
            Button(texts("rv.accept"), f"/accept {filing.id}"),
            Button(texts("rv.not_accept"), f"/reject {filing.id}"),
        ),
        (Button(texts("rv.return"), f"/return {filing.id}"),),
    )


COMMANDS = {"accept": accept, "reject": reject, "return": return_, "answer": answer, "queue": queue}
