"""Tolerance reviews (容错认定): opened by an officer on a filing of their jurisdiction, verified,
decided by the joint meeting, and announced to the cadre — with the care card when tolerated."""

from __future__ import annotations

from datetime import date

from sqlalchemy.exc import IntegrityError

from bot.services import visits
from bot.services.calls import Call, CommandResult
from bot.services.notify import notify
from bot.services.review import may_review
from bot.services.stats import record as stats_record
from dialogs.events import Command
from dialogs.flows import tolerance
from dialogs.parsing.dates import format_date
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from dialogs.texts import Texts
from storage.errors import ConcurrentUpdate
from storage.models import Filing, ToleranceReview

# Filings on which a review can be opened: accepted ones, and those whose earlier review is decided.
REVIEWABLE = ("accepted", "in_progress", "decided")
VERIFYING, DELIBERATION, DECIDED = "verifying", "deliberation", "decided"
TOLERATED = ("exempt", "mitigate")


async def _deny(call: Call, command: Command, subject_type: str) -> CommandResult:
    call.uow.audit.record(
        at=call.now,
        action="access.denied",
        subject_type=subject_type,
        subject_id=command.args.strip() or "-",
        actor_user_id=call.user.id,
        comment=f"/{command.name} {command.args}"[:200],
    )
    return CommandResult([Reply(call.ctx.texts("access.not_yours"))])


async def _filing_for(call: Call, command: Command) -> Filing | None:
    arg = command.args.strip()
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    return filing if filing is not None and may_review(call, filing) else None


async def _review_for(call: Call, command: Command) -> tuple[ToleranceReview, Filing] | None:
    arg = command.args.strip()
    review = await call.uow.reviews.get(found) if (found := record_id(arg)) else None
    if review is None:
        return None
    filing = await call.uow.filings.get(review.filing_id)
    return (review, filing) if filing is not None and may_review(call, filing) else None


async def open_review(call: Call, command: Command) -> CommandResult:
    filing = await _filing_for(call, command)
    if filing is None:
        return await _deny(call, command, "filing")
    if filing.status not in REVIEWABLE:
        return CommandResult(
            [
                Reply(
                    call.ctx.texts(
                        "tr.not_reviewable",
                        number=filing.number,
                        status=call.ctx.texts(f"status.{filing.status}"),
                    )
                )
            ]
        )
    result = tolerance.start(
        tolerance.OPEN_DIALOG, call.ctx, subject_id=filing.id or 0, number=filing.number or ""
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def _start_on_review(call: Call, command: Command, dialog, needed: str) -> CommandResult:
    found = await _review_for(call, command)
    if found is None:
        return await _deny(call, command, "review")
    review, filing = found
    if review.status != needed:
        return CommandResult(
            [
                Reply(
                    call.ctx.texts(
                        "tr.wrong_stage",
                        number=filing.number,
                        stage=call.ctx.texts(f"tr.status.{review.status}"),
                    )
                )
            ]
        )
    result = tolerance.start(dialog, call.ctx, subject_id=review.id or 0, number=filing.number or "")
    return CommandResult(list(result.outcome.replies), result.state)


async def team(call: Call, command: Command) -> CommandResult:
    """/team REVIEW_ID: choose the officers who verify (the special investigation team)."""
    found = await _review_for(call, command)
    if found is None:
        return await _deny(call, command, "review")
    review, filing = found
    if review.status != VERIFYING:
        return CommandResult(
            [
                Reply(
                    call.ctx.texts(
                        "tr.wrong_stage",
                        number=filing.number,
                        stage=call.ctx.texts(f"tr.status.{review.status}"),
                    )
                )
            ]
        )
    officers = await call.uow.users.officers_of(review.jurisdiction_code)
    seed = {
        tolerance.OFFICERS: [[o.id, o.name or f"#{o.id}"] for o in officers],
        "~team": [str(uid) for uid in review.team],
    }
    result = tolerance.start(
        tolerance.TEAM_DIALOG, call.ctx, subject_id=review.id or 0, number=filing.number or "", seed=seed
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def assigned(call: Call, effect: tolerance.AssignTeam) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    review = await uow.reviews.get(effect.review_id)
    filing = await uow.filings.get(review.filing_id) if review else None
    if review is None or filing is None or not may_review(call, filing):
        return [Reply(texts("access.not_yours"))]
    if review.status != VERIFYING:
        return [
            Reply(texts("tr.wrong_stage", number=filing.number, stage=texts(f"tr.status.{review.status}")))
        ]
    eligible = {o.id: o for o in await uow.users.officers_of(review.jurisdiction_code)}
    chosen = [uid for uid in effect.officer_ids if uid in eligible]  # a forged id is simply not eligible
    added = [uid for uid in chosen if uid not in review.team]
    review.team = chosen
    uow.session.add(review)
    uow.audit.record(
        at=call.now,
        action="review.team",
        subject_type="review",
        subject_id=review.id or 0,
        actor_user_id=call.user.id,
        data={"team": chosen},
    )
    for uid in added:
        if uid != call.user.id:
            await notify(
                call,
                eligible[uid],
                lambda t: Reply(
                    t("tr.team_notice", number=filing.number),
                    ((Button(t("tr.view_action"), f"/review {review.id}"),),),
                ),
                dedupe_key=f"review:{review.id}:team:{uid}:{call.now.isoformat()}",
            )
    names = "、".join(eligible[uid].name or f"#{uid}" for uid in chosen)
    return [
        Reply(texts("tr.team_set", number=filing.number, names=names)),
        review_card(texts, review, filing),
    ]


async def findings(call: Call, command: Command) -> CommandResult:
    return await _start_on_review(call, command, tolerance.FINDINGS_DIALOG, VERIFYING)


async def decide(call: Call, command: Command) -> CommandResult:
    return await _start_on_review(call, command, tolerance.DECIDE_DIALOG, DELIBERATION)


async def show(call: Call, command: Command) -> CommandResult:
    """/review ID: the review's stage, what was recorded, and the next action."""
    found = await _review_for(call, command)
    if found is None:
        return await _deny(call, command, "review")
    review, filing = found
    return CommandResult([review_card(call.ctx.texts, review, filing)])


def review_card(texts: Texts, review: ToleranceReview, filing: Filing) -> Reply:
    lines = [
        texts(
            "tr.card",
            number=filing.number,
            status=texts(f"tr.status.{review.status}"),
            source=texts(f"tr.source.{review.source}"),
        ),
        texts("tr.card_reason", reason=review.reason),
        texts("tr.card_team", count=len(review.team)),
    ]
    if review.findings:
        lines.append(texts("tr.card_findings", findings=review.findings))
    if review.outcome:
        lines.append(
            texts(
                "tr.card_decision",
                outcome=texts(f"tr.outcome.{review.outcome}"),
                decision_number=review.decision_number,
                meeting_date=format_date(review.meeting_date) if review.meeting_date else "—",
            )
        )
    buttons: tuple[tuple[Button, ...], ...] = ()
    if review.status == VERIFYING:
        buttons = (
            (Button(texts("tr.team_action"), f"/team {review.id}"),),
            (Button(texts("tr.findings_action"), f"/findings {review.id}"),),
        )
    elif review.status == DELIBERATION:
        buttons = ((Button(texts("tr.decide_action"), f"/decide {review.id}"),),)
    return Reply("\n".join(lines), buttons)


async def opened(call: Call, effect: tolerance.OpenReview) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    filing = await uow.filings.get(effect.filing_id)
    if filing is None or not may_review(call, filing):
        return [Reply(texts("access.not_yours"))]
    if filing.status not in REVIEWABLE:
        return [
            Reply(texts("tr.not_reviewable", number=filing.number, status=texts(f"status.{filing.status}")))
        ]
    assert call.user.id is not None and filing.id is not None
    review = await uow.reviews.add(
        ToleranceReview(
            filing_id=filing.id,
            jurisdiction_code=filing.jurisdiction_code or "",
            source=effect.source,
            reason=effect.reason,
            team=[call.user.id],
            opened_by=call.user.id,
            opened_at=call.now,
        )
    )
    previous, filing.status, filing.updated_at = filing.status, "under_review", call.now
    uow.session.add(filing)
    uow.audit.record(
        at=call.now,
        action="review.opened",
        subject_type="filing",
        subject_id=filing.id,
        actor_user_id=call.user.id,
        from_state=previous,
        to_state="under_review",
        comment=effect.reason,
        data={"review_id": review.id, "source": effect.source},
    )
    cadre = await uow.users.get(filing.user_id)
    if cadre is not None:
        await notify(
            call,
            cadre,
            lambda t: Reply(t("tr.cadre.opened", number=filing.number)),
            dedupe_key=f"review:{review.id}:opened",
        )
    return [review_card(texts, review, filing)]


async def recorded(call: Call, effect: tolerance.RecordFindings) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    review = await uow.reviews.get(effect.review_id)
    filing = await uow.filings.get(review.filing_id) if review else None
    if review is None or filing is None or not may_review(call, filing):
        return [Reply(texts("access.not_yours"))]
    if review.status != VERIFYING:
        return [
            Reply(texts("tr.wrong_stage", number=filing.number, stage=texts(f"tr.status.{review.status}")))
        ]
    review.findings, review.status = effect.findings, DELIBERATION
    if call.user.id not in review.team:
        review.team = [*review.team, call.user.id or 0]
    uow.session.add(review)
    uow.audit.record(
        at=call.now,
        action="review.findings",
        subject_type="review",
        subject_id=review.id or 0,
        actor_user_id=call.user.id,
        from_state=VERIFYING,
        to_state=DELIBERATION,
        comment=effect.findings,
    )
    return [review_card(texts, review, filing)]


async def decided(call: Call, effect: tolerance.DecideReview) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    review = await uow.reviews.get(effect.review_id)
    filing = await uow.filings.get(review.filing_id) if review else None
    if review is None or filing is None or not may_review(call, filing):
        return [Reply(texts("access.not_yours"))]
    if review.status != DELIBERATION:
        return [
            Reply(texts("tr.wrong_stage", number=filing.number, stage=texts(f"tr.status.{review.status}")))
        ]
    year = call.now.astimezone(call.env.tz).year
    seq = await uow.reviews.next_decision_seq(review.jurisdiction_code, year)
    county = call.ctx.directory.get(review.jurisdiction_code)
    review.year, review.decision_seq = year, seq
    review.decision_number = f"{county.display_short if county else ''}容认〔{year}〕{seq}号"
    review.meeting_date = date.fromisoformat(effect.meeting_date)
    review.meeting_decision, review.outcome = effect.meeting_decision, effect.outcome
    review.status, review.decided_at = DECIDED, call.now
    filing.status, filing.updated_at = DECIDED, call.now
    await stats_record.tolerance_decided(call, review, filing)
    uow.session.add(review)
    uow.session.add(filing)
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        raise ConcurrentUpdate("review decision number taken concurrently") from exc
    uow.audit.record(
        at=call.now,
        action="review.decided",
        subject_type="review",
        subject_id=review.id or 0,
        actor_user_id=call.user.id,
        from_state=DELIBERATION,
        to_state=DECIDED,
        comment=effect.meeting_decision,
        data={"outcome": effect.outcome, "decision_number": review.decision_number, "filing_id": filing.id},
    )
    cadre = await uow.users.get(filing.user_id)
    if cadre is not None:
        await notify(
            call,
            cadre,
            lambda t: _decision_notice(t, call, review, filing),
            dedupe_key=f"review:{review.id}:decided",
        )
        if review.outcome in TOLERATED:
            card = call.env.policy.care_card
            await notify(
                call,
                cadre,
                lambda t: Reply(
                    f"💌 {card.title.get(t.locale) or card.title['zh_CN']}\n{card.text.get(t.locale) or card.text['zh_CN']}"
                ),
                dedupe_key=f"review:{review.id}:care_card",
            )
    planned = await visits.plan_after_decision(call, review, filing)
    done = texts(
        "tr.done",
        number=filing.number,
        outcome=texts(f"tr.outcome.{review.outcome}"),
        decision_number=review.decision_number,
    )
    if planned:
        dates = "、".join(format_date(v.due_date) for v in planned)
        done += "\n" + texts("visit.planned", dates=dates)
    return [Reply(done, ((Button(texts("visit.list_button"), "/visits"),),) if planned else ())]


def _decision_notice(texts: Texts, call: Call, review: ToleranceReview, filing: Filing) -> Reply:
    text = texts(
        "tr.cadre.decided",
        number=filing.number,
        outcome=texts(f"tr.outcome.{review.outcome}"),
        decision_number=review.decision_number,
        decision=review.meeting_decision or "",
    )
    return Reply(text, ((Button(texts("pf.view_filing"), f"/filing {filing.id}"),),))


async def filing_section(
    call: Call, filing: Filing, *, as_officer: bool
) -> tuple[list[str], tuple[tuple[Button, ...], ...]]:
    """The filing view's part about tolerance reviews: outcomes for everyone, actions for officers."""
    texts = call.ctx.texts
    reviews = await call.uow.reviews.of_filing(filing.id or 0)
    lines = []
    for review in reviews:
        if review.outcome:
            lines.append(
                texts(
                    "tr.card_decision",
                    outcome=texts(f"tr.outcome.{review.outcome}"),
                    decision_number=review.decision_number,
                    meeting_date=format_date(review.meeting_date) if review.meeting_date else "—",
                )
            )
        elif as_officer:
            lines.append(
                texts(
                    "tr.card",
                    number=filing.number,
                    status=texts(f"tr.status.{review.status}"),
                    source=texts(f"tr.source.{review.source}"),
                )
            )
    if not as_officer:
        return lines, ()
    open_reviews = [r for r in reviews if r.status != DECIDED]
    if open_reviews:
        return lines, ((Button(texts("tr.view_action"), f"/review {open_reviews[-1].id}"),),)
    if filing.status in REVIEWABLE:
        return lines, ((Button(texts("tr.open_action"), f"/openreview {filing.id}"),),)
    return lines, ()


COMMANDS = {"team": team, "openreview": open_review, "findings": findings, "decide": decide, "review": show}
EFFECTS = {
    tolerance.AssignTeam: assigned,
    tolerance.OpenReview: opened,
    tolerance.RecordFindings: recorded,
    tolerance.DecideReview: decided,
}
