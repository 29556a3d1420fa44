"""What each kind of reminder says, to whom, and whether it is still wanted when it falls due.

A reminder row is planned when a deadline appears, days or weeks before it is sent. By then the
item may be submitted, the filing reviewed, the visit made: each kind checks its subject again at
send time and is skipped if it has moved on. Texts name the filing, the item and the date, and
carry the button that does the reminded thing: generic reminders get ignored.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from bot.services.calls import Environment
from bot.services.reminders import schedule
from dialogs.directory import OrgDirectory
from dialogs.parsing.dates import format_date
from dialogs.replies import Button, Reply
from dialogs.texts import Texts
from storage.models import Filing, RectificationItem, Reminder, ReturnVisit, User
from storage.uow import UnitOfWork

# A filing in one of these has nothing left to remind anyone of.
FILING_ENDED = ("closed", "withdrawn", "not_accepted")
MILESTONE_STATUSES = ("accepted", "in_progress")


Render = Callable[[Texts], Reply]


@dataclass(slots=True)
class Message:
    recipient: User
    render: Render


@dataclass(slots=True)
class Decision:
    messages: list[Message] = field(default_factory=list)
    skip: str | None = None  # why nothing is sent, when nothing is


def skip(reason: str) -> Decision:
    return Decision(skip=reason)


@dataclass(slots=True)
class Scope:
    """What a kind reads: the tick's transaction and the long-lived environment."""

    uow: UnitOfWork
    env: Environment
    directory: OrgDirectory
    now: datetime

    def today(self) -> date:
        return self.now.astimezone(self.env.tz).date()

    async def lead_or_officers(self, jurisdiction: str) -> list[User]:
        """The jurisdiction's lead officer; all its officers when no lead is configured."""
        setting = await self.uow.settings.get(jurisdiction)
        if setting is not None and setting.lead_officer_id is not None:
            lead = await self.uow.users.get(setting.lead_officer_id)
            if lead is not None:
                return [lead]
        return await self.uow.users.officers_of(jurisdiction)

    async def user(self, user_id: int | None) -> User | None:
        return await self.uow.users.get(user_id) if user_id is not None else None

    def unit(self, code: str | None) -> str:
        return self.directory.full_name(code) if code else "—"


Kind = Callable[[Scope, Reminder], Awaitable[Decision]]


def _same_time(value: datetime, stamp: object) -> bool:
    """Instants compared as instants: a stamp may have been written in another UTC offset."""
    try:
        return isinstance(stamp, str) and datetime.fromisoformat(stamp) == value
    except ValueError:
        return False


def _view(texts: Texts, filing_id: int) -> tuple[Button, ...]:
    return (Button(texts("rem.view_filing"), f"/filing {filing_id}"),)


# Rectification items


async def _item(
    scope: Scope, row: Reminder
) -> tuple[RectificationItem, Filing, None] | tuple[None, None, str]:
    item = await scope.uow.rectifications.get(int(row.subject_id))
    filing = await scope.uow.filings.get(item.filing_id) if item is not None else None
    if item is None or filing is None:
        return None, None, "subject_gone"
    if filing.status in FILING_ENDED:
        return None, None, f"filing_{filing.status}"
    if item.status != "open":
        return None, None, f"item_{item.status}"
    if item.due_date.isoformat() != row.payload.get("due"):
        return None, None, "due_date_changed"
    return item, filing, None


async def rect_due(scope: Scope, row: Reminder) -> Decision:
    item, filing, reason = await _item(scope, row)
    if reason:
        return skip(reason)
    # After downtime several points may be due at once; only the latest one is worth sending.
    points = schedule.rectification(item.due_date, scope.env.calendar, scope.env.tz)
    if any(p.kind == "rect_due" and row.due_at < p.due_at <= scope.now for p in points):
        return skip("superseded")
    owner = await scope.user(item.owner_user_id)
    if owner is None:
        return skip("no_owner")
    left = int(str(row.payload.get("label", "T-0")).removeprefix("T-") or 0)

    def render(texts: Texts) -> Reply:
        when = texts("rem.rect.today") if left == 0 else texts("rem.rect.days_left", days=left)
        text = texts(
            "rem.rect.due",
            when=when,
            ref=texts("rect.ref", number=filing.number or "—", no=item.item_no),
            problem=item.problem,
            measure=item.measure,
            due=format_date(item.due_date),
        )
        buttons = (
            (Button(texts("rect.evidence_button"), f"/evidence {item.id}"),),
            _view(texts, filing.id or 0),
        )
        return Reply(text, buttons)

    return Decision([Message(owner, render)])


def _overdue_render(
    scope: Scope, item: RectificationItem, filing: Filing, owner: User | None, key: str, days: int
) -> Render:
    def render(texts: Texts) -> Reply:
        text = texts(
            key,
            ref=texts("rect.ref", number=filing.number or "—", no=item.item_no),
            owner=owner.name if owner and owner.name else "—",
            unit=scope.unit(filing.unit_code),
            problem=item.problem,
            due=format_date(item.due_date),
            days=days,
        )
        return Reply(text, (_view(texts, filing.id or 0),))

    return render


async def rect_overdue_officer(scope: Scope, row: Reminder) -> Decision:
    item, filing, reason = await _item(scope, row)
    if reason:
        return skip(reason)
    officer = await scope.user(item.created_by)
    # The officer who set the item may have left; then the jurisdiction's officers hear of it.
    roles = await scope.uow.users.roles(officer.id) if officer and officer.id else []
    serving = any(r.role == "officer" and r.jurisdiction_code == filing.jurisdiction_code for r in roles)
    recipients = (
        [officer]
        if officer and serving
        else await scope.uow.users.officers_of(filing.jurisdiction_code or "")
    )
    owner = await scope.user(item.owner_user_id)
    render = _overdue_render(scope, item, filing, owner, "rem.rect.overdue_officer", 1)
    return Decision([Message(r, render) for r in recipients])


async def rect_overdue_lead(scope: Scope, row: Reminder) -> Decision:
    item, filing, reason = await _item(scope, row)
    if reason:
        return skip(reason)
    owner = await scope.user(item.owner_user_id)
    render = _overdue_render(scope, item, filing, owner, "rem.rect.overdue_lead", 7)
    return Decision(
        [Message(r, render) for r in await scope.lead_or_officers(filing.jurisdiction_code or "")]
    )


# Initial review deadline


async def _waiting_filing(scope: Scope, row: Reminder) -> tuple[Filing | None, str | None]:
    filing = await scope.uow.filings.get(int(row.subject_id))
    if filing is None:
        return None, "subject_gone"
    if filing.status != "submitted":
        return None, f"filing_{filing.status}"
    if filing.review_due_at is None or not _same_time(filing.review_due_at, row.payload.get("due_at")):
        return None, "deadline_changed"
    return filing, None


def _sla_render(scope: Scope, filing: Filing, key: str, *, with_decisions: bool) -> Render:
    due = filing.review_due_at.astimezone(scope.env.tz) if filing.review_due_at else None

    def render(texts: Texts) -> Reply:
        text = texts(
            key,
            number=filing.number or "—",
            title=filing.title or "",
            unit=scope.unit(filing.unit_code),
            due=f"{format_date(due.date())} {due:%H:%M}" if due else "—",
        )
        rows: list[tuple[Button, ...]] = [_view(texts, filing.id or 0)]
        if with_decisions:
            rows.append(
                (
                    Button(texts("rv.accept"), f"/accept {filing.id}"),
                    Button(texts("rv.not_accept"), f"/reject {filing.id}"),
                    Button(texts("rv.return"), f"/return {filing.id}"),
                )
            )
        return Reply(text, tuple(rows))

    return render


async def review_sla_half(scope: Scope, row: Reminder) -> Decision:
    filing, reason = await _waiting_filing(scope, row)
    if filing is None:
        return skip(reason or "")
    render = _sla_render(scope, filing, "rem.sla.half", with_decisions=True)
    return Decision(
        [Message(o, render) for o in await scope.uow.users.officers_of(filing.jurisdiction_code or "")]
    )


async def review_sla_breach(scope: Scope, row: Reminder) -> Decision:
    filing, reason = await _waiting_filing(scope, row)
    if filing is None:
        return skip(reason or "")
    render = _sla_render(scope, filing, "rem.sla.breach", with_decisions=False)
    return Decision(
        [Message(o, render) for o in await scope.lead_or_officers(filing.jurisdiction_code or "")]
    )


# Drafts and milestones


async def draft_nudge(scope: Scope, row: Reminder) -> Decision:
    filing = await scope.uow.filings.get(int(row.subject_id))
    if filing is None or filing.status != "draft":
        return skip("not_a_draft")
    if not _same_time(filing.updated_at, row.payload.get("stamp")):
        return skip("draft_changed")
    cadre = await scope.user(filing.user_id)
    if cadre is None:
        return skip("no_owner")
    days = (scope.now - filing.updated_at).days

    def render(texts: Texts) -> Reply:
        text = texts("rem.draft", title=filing.title or texts("pf.untitled"), days=days)
        buttons = (
            (Button(texts("drafts.resume"), f"/resume {filing.id}"),),
            (Button(texts("drafts.delete"), f"/deldraft {filing.id}"),),
        )
        return Reply(text, buttons)

    return Decision([Message(cadre, render)])


async def milestone_report(scope: Scope, row: Reminder) -> Decision:
    filing = await scope.uow.filings.get(int(row.subject_id))
    if filing is None or filing.status not in MILESTONE_STATUSES:
        return skip("filing_not_in_progress")
    cadre = await scope.user(filing.user_id)
    if cadre is None:
        return skip("no_owner")

    def render(texts: Texts) -> Reply:
        text = texts(
            "rem.milestone",
            number=filing.number or "—",
            title=filing.title or "",
            what=row.payload.get("what", ""),
            date=format_date(date.fromisoformat(row.payload["date"])) if row.payload.get("date") else "—",
        )
        buttons = (
            (Button(texts("rem.report_progress"), f"/progress {filing.id}"),),
            _view(texts, filing.id or 0),
        )
        return Reply(text, buttons)

    return Decision([Message(cadre, render)])


# Return visits


async def _visit(scope: Scope, row: Reminder) -> tuple[ReturnVisit, None] | tuple[None, str]:
    visit = await scope.uow.visits.get(int(row.subject_id))
    if visit is None:
        return None, "subject_gone"
    if visit.status != "planned":
        return None, f"visit_{visit.status}"
    return visit, None


def _visit_render(scope: Scope, visit: ReturnVisit, cadre: User | None, number: str, key: str) -> Render:
    def render(texts: Texts) -> Reply:
        days = (visit.due_date - scope.today()).days
        text = texts(
            key,
            name=cadre.name if cadre and cadre.name else "—",
            unit=scope.unit(cadre.unit_code if cadre else None),
            seq=visit.seq,
            date=format_date(visit.due_date),
            days=abs(days),
            outcome=texts(f"tr.outcome.{visit.outcome}"),
            number=number,
        )
        buttons = (
            (Button(texts("visit.record_button"), f"/visit {visit.id}"),),
            _view(texts, visit.filing_id),
        )
        return Reply(text, buttons)

    return render


async def visit_officer(scope: Scope, row: Reminder) -> Decision:
    visit, reason = await _visit(scope, row)
    if visit is None:
        return skip(reason)
    officer, cadre = await scope.user(visit.officer_user_id), await scope.user(visit.cadre_user_id)
    filing = await scope.uow.filings.get(visit.filing_id)
    if officer is None:
        return skip("no_officer")
    render = _visit_render(scope, visit, cadre, filing.number if filing else "—", "rem.visit.officer")
    return Decision([Message(officer, render)])


async def visit_questionnaire(scope: Scope, row: Reminder) -> Decision:
    visit, reason = await _visit(scope, row)
    if visit is None:
        return skip(reason)
    if visit.questionnaire_at is not None:
        return skip("already_answered")
    cadre = await scope.user(visit.cadre_user_id)
    if cadre is None:
        return skip("no_cadre")

    def render(texts: Texts) -> Reply:
        return Reply(
            texts("rem.visit.questionnaire", name=cadre.name or ""),
            ((Button(texts("visit.form_button"), f"/visitform {visit.id}"),),),
        )

    return Decision([Message(cadre, render)])


async def visit_overdue(scope: Scope, row: Reminder) -> Decision:
    visit, reason = await _visit(scope, row)
    if visit is None:
        return skip(reason)
    cadre = await scope.user(visit.cadre_user_id)
    filing = await scope.uow.filings.get(visit.filing_id)
    render = _visit_render(scope, visit, cadre, filing.number if filing else "—", "rem.visit.overdue")
    recipients = await scope.lead_or_officers(visit.jurisdiction_code)
    officer = await scope.user(visit.officer_user_id)
    if officer is not None and all(r.id != officer.id for r in recipients):
        recipients.append(officer)
    return Decision([Message(r, render) for r in recipients])


KINDS: dict[str, Kind] = {
    "rect_due": rect_due,
    "rect_overdue_officer": rect_overdue_officer,
    "rect_overdue_lead": rect_overdue_lead,
    "review_sla_half": review_sla_half,
    "review_sla_breach": review_sla_breach,
    "draft_nudge": draft_nudge,
    "milestone_report": milestone_report,
    "visit_officer": visit_officer,
    "visit_questionnaire": visit_questionnaire,
    "visit_overdue": visit_overdue,
}
