"""Planning reminder rows, in the transaction of the change that creates or moves a deadline.

Every row has a dedupe key naming its subject, its deadline and its place in the schedule, so
planning again is harmless and a moved deadline gets fresh rows (the old ones are cancelled).
"""

from __future__ import annotations

from datetime import UTC, datetime

from bot.services.calls import Environment
from bot.services.reminders import schedule
from storage.models import Filing, RectificationItem, ReturnVisit
from storage.uow import UnitOfWork

RECT_SUBJECT = "rectification_item"
RECT_KINDS = ("rect_due", "rect_overdue_officer", "rect_overdue_lead")
SLA_KINDS = ("review_sla_half", "review_sla_breach")
VISIT_SUBJECT = "return_visit"


async def plan_rectification(
    uow: UnitOfWork, env: Environment, now: datetime, item: RectificationItem
) -> int:
    """T-7…T-0 to the owner, T+1 and T+7 escalations; replaces the plan of an earlier due date."""
    assert item.id is not None
    due = item.due_date.isoformat()
    await uow.reminders.cancel(RECT_SUBJECT, [item.id], now, keep_prefix=f"rect:{item.id}:{due}:")
    planned = 0
    for entry in schedule.rectification(item.due_date, env.calendar, env.tz):
        # Past points are dropped (an item due in two days has no T-7), except T-0: an item due
        # today is still worth one reminder.
        if entry.due_at < now and entry.label != "T-0":
            continue
        target = item.owner_user_id if entry.kind == "rect_due" else None
        planned += await uow.reminders.plan(
            kind=entry.kind,
            due_at=max(entry.due_at, now),
            target_user_id=target,
            subject_type=RECT_SUBJECT,
            subject_id=item.id,
            now=now,
            payload={"due": due, "label": entry.label, "filing_id": item.filing_id},
            dedupe_key=f"rect:{item.id}:{due}:{entry.label}",
        )
    return planned


async def stop_rectification(uow: UnitOfWork, now: datetime, item_ids: list[int]) -> int:
    return await uow.reminders.cancel(RECT_SUBJECT, item_ids, now)


async def plan_review_deadline(uow: UnitOfWork, env: Environment, now: datetime, filing: Filing) -> int:
    """The initial-review SLA: half-way through the due day, and at the deadline."""
    assert filing.id is not None and filing.review_due_at is not None
    due_at = filing.review_due_at.astimezone(UTC).isoformat()
    await uow.reminders.cancel(
        "filing", [filing.id], now, kinds=SLA_KINDS, keep_prefix=f"sla:{filing.id}:{due_at}:"
    )
    planned = 0
    for entry in schedule.review_sla(filing.review_due_at, env.tz):
        if entry.due_at < now:
            continue
        planned += await uow.reminders.plan(
            kind=entry.kind,
            due_at=entry.due_at,
            target_user_id=None,
            subject_type="filing",
            subject_id=filing.id,
            now=now,
            payload={"due_at": due_at, "number": filing.number},
            dedupe_key=f"sla:{filing.id}:{due_at}:{entry.label}",
        )
    return planned


async def stop_review_deadline(uow: UnitOfWork, now: datetime, filing: Filing) -> int:
    return await uow.reminders.cancel("filing", [filing.id or 0], now, kinds=SLA_KINDS)


async def stop_filing(uow: UnitOfWork, now: datetime, filing: Filing) -> int:
    """A closed or withdrawn filing: nothing about it or its items is reminded any more."""
    assert filing.id is not None
    items = [i.id for i in await uow.rectifications.of_filing(filing.id) if i.id is not None]
    return await uow.reminders.cancel("filing", [filing.id], now) + await uow.reminders.cancel(
        RECT_SUBJECT, items, now
    )


async def plan_visit(uow: UnitOfWork, env: Environment, now: datetime, visit: ReturnVisit) -> int:
    """The officer 7 days and 1 day before; the cadre's questionnaire on the day; escalation at +14."""
    assert visit.id is not None
    planned = 0
    for entry in schedule.return_visit(visit.due_date, env.tz):
        if entry.due_at < now:
            continue
        target = {"visit_officer": visit.officer_user_id, "visit_questionnaire": visit.cadre_user_id}.get(
            entry.kind
        )
        planned += await uow.reminders.plan(
            kind=entry.kind,
            due_at=entry.due_at,
            target_user_id=target,
            subject_type=VISIT_SUBJECT,
            subject_id=visit.id,
            now=now,
            payload={"date": visit.due_date.isoformat(), "seq": visit.seq, "label": entry.label},
            dedupe_key=f"visit:{visit.id}:{visit.due_date.isoformat()}:{entry.label}",
        )
    return planned
