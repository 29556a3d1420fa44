"""Closing a filing (办结): an officer of its jurisdiction ends the work on it. Open rectification
items close with it, every pending reminder about it is withdrawn, and the cadre is told."""

from __future__ import annotations

from sqlalchemy import update

from bot.services.access import deny
from bot.services.calls import Call, CommandResult
from bot.services.notify import notify
from bot.services.reminders import plans
from bot.services.review import may_review
from dialogs.events import Command
from dialogs.flows import closing as flow
from dialogs.flows import review as review_flow
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from dialogs.texts import Texts
from storage.models import Filing, RectificationItem

CLOSED = "closed"
CLOSABLE = ("accepted", "in_progress", "decided")
ITEMS_CLOSED_WITH_FILING = ("open", "submitted")


def _not_closable(call: Call, filing: Filing) -> Reply:
    texts = call.ctx.texts
    return Reply(texts("close.not_closable", number=filing.number, status=texts(f"status.{filing.status}")))


async def close(call: Call, command: Command) -> CommandResult:
    """/close FILING_ID"""
    arg = command.args.strip()
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    if filing is None or not may_review(call, filing):
        return deny(call, command, "filing")
    if filing.status not in CLOSABLE:
        return CommandResult([_not_closable(call, filing)])
    open_items = [
        i
        for i in await call.uow.rectifications.of_filing(filing.id or 0)
        if i.status in ITEMS_CLOSED_WITH_FILING
    ]
    intro = call.ctx.texts("close.open_items", count=len(open_items)) if open_items else None
    result = review_flow.start(
        flow.CLOSE_DIALOG, call.ctx, filing_id=filing.id or 0, number=filing.number or "", intro=intro
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def closed(call: Call, effect: flow.CloseFiling) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    filing = await uow.filings.get(effect.filing_id)
    if filing is None or not may_review(call, filing):
        return [Reply(texts("access.not_yours"))]
    if filing.status not in CLOSABLE:
        return [_not_closable(call, filing)]
    previous = filing.status
    filing.status, filing.closed_at, filing.updated_at = CLOSED, call.now, call.now
    uow.session.add(filing)
    assert filing.id is not None
    await uow.session.execute(
        update(RectificationItem)
        .where(
            RectificationItem.filing_id == filing.id,
            RectificationItem.status.in_(ITEMS_CLOSED_WITH_FILING),  # type: ignore[attr-defined]
        )
        .values(status=CLOSED, updated_at=call.now)
        .execution_options(synchronize_session=False)
    )
    withdrawn = await plans.stop_filing(uow, call.now, filing)
    uow.audit.record(
        at=call.now,
        action="filing.closed",
        subject_type="filing",
        subject_id=filing.id,
        actor_user_id=call.user.id,
        from_state=previous,
        to_state=CLOSED,
        comment=effect.summary,
        data={"reminders_withdrawn": withdrawn},
    )
    cadre = await uow.users.get(filing.user_id)
    if cadre is not None and cadre.id != call.user.id:

        def render(t: Texts) -> Reply:
            text = t("close.cadre", number=filing.number, summary=effect.summary)
            return Reply(text, ((Button(t("pf.view_filing"), f"/filing {filing.id}"),),))

        await notify(call, cadre, render, dedupe_key=f"filing:{filing.id}:closed")
    return [Reply(texts("close.done", number=filing.number))]


def officer_buttons(texts: Texts, filing: Filing) -> tuple[tuple[Button, ...], ...]:
    if filing.status not in CLOSABLE:
        return ()
    return ((Button(texts("close.action"), f"/close {filing.id}"),),)


COMMANDS = {"close": close}
EFFECTS = {flow.CloseFiling: closed}
