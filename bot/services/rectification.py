"""Rectification (整改): officers set items on accepted filings, cadres report them done with
evidence, officers accept them, send them back, or extend a due date once.

Authorised here for every channel: the owner of an item (always the filing's cadre) reports on
it; officers of the filing's jurisdiction set, judge and extend. Every transition is audited and
announced to the other side through the outbox in the same transaction. A refused command (a
forged id, a button of an item that has moved on) changes nothing and leaves an audit entry.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.exc import IntegrityError

from bot.services.calls import Call, CommandResult
from bot.services.notify import notify
from bot.services.reminders import plans
from bot.services.review import may_review
from dialogs.engine import Dialog
from dialogs.events import Command
from dialogs.flows import rectification as flow
from dialogs.parsing.dates import format_date
from dialogs.parsing.ids import record_id
from dialogs.replies import (
    Button,
    CreateRectification,
    ExtendRectification,
    RectificationDecision,
    Reply,
    SubmitEvidence,
)
from dialogs.texts import Texts
from storage.errors import ConcurrentUpdate
from storage.models import Filing, RectificationItem

OPEN, SUBMITTED, ACCEPTED = "open", "submitted", "accepted"
# Items are set once the filing is accepted (earlier there is no decision to rectify against), and
# also during and after a tolerance review: 纠错整改 follows the decision.
FILING_STATUSES = ("accepted", "in_progress", "under_review", "decided")
EXTENDABLE = (OPEN, SUBMITTED)
SUBJECT = "rectification_item"
LISTED = 10  # buttons per message: more would bury the text on a phone


def _ref(texts: Texts, filing: Filing, item: RectificationItem) -> str:
    return texts("rect.ref", number=filing.number or "—", no=item.item_no)


def _status(texts: Texts, item: RectificationItem) -> str:
    return texts(f"rect.status.{item.status}")


def _overdue(call: Call, item: RectificationItem) -> bool:
    return item.status == OPEN and item.due_date < call.now.astimezone(call.env.tz).date()


def _files(texts: Texts, files: list[dict]) -> str:
    return "、".join(str(f.get("name") or "—") for f in files) if files else texts("files.none")


def _arg(command: Command) -> str:
    return command.args.strip().split(" ", 1)[0]


def _deny(call: Call, *, subject_type: str, subject: str, attempted: str) -> Reply:
    call.uow.audit.record(
        at=call.now,
        action="access.denied",
        subject_type=subject_type,
        subject_id=subject or "-",
        actor_user_id=call.user.id,
        comment=attempted[:200],
    )
    return Reply(call.ctx.texts("access.not_yours"))


def _refuse(call: Call, item: RectificationItem, *, attempted: str, reason: str, reply: str) -> Reply:
    """An allowed person acting on an item that has moved on (an old button): say so, record it."""
    call.uow.audit.record(
        at=call.now,
        action="rectification.refused",
        subject_type=SUBJECT,
        subject_id=item.id or 0,
        actor_user_id=call.user.id,
        from_state=item.status,
        comment=attempted[:200],
        data={"reason": reason},
    )
    return Reply(reply)


def _command_text(command: Command) -> str:
    return f"/{command.name} {command.args}".strip()


async def _item_and_filing(call: Call, raw: str) -> tuple[RectificationItem, Filing] | None:
    item = await call.uow.rectifications.get(found) if (found := record_id(raw)) else None
    if item is None:
        return None
    filing = await call.uow.filings.get(item.filing_id)
    return (item, filing) if filing is not None else None


async def _as_officer(call: Call, raw: str, attempted: str) -> tuple[RectificationItem, Filing] | Reply:
    found = await _item_and_filing(call, raw)
    if found is None or not may_review(call, found[1]):
        return _deny(call, subject_type=SUBJECT, subject=raw, attempted=attempted)
    return found


async def _as_owner(call: Call, raw: str, attempted: str) -> tuple[RectificationItem, Filing] | Reply:
    found = await _item_and_filing(call, raw)
    if found is None or found[0].owner_user_id != call.user.id:
        return _deny(call, subject_type=SUBJECT, subject=raw, attempted=attempted)
    return found


async def _seq(call: Call, item: RectificationItem) -> int:
    """How many transitions the item has had: keeps notices of repeated rounds apart in the outbox."""
    return len(await call.uow.audit.for_subject(SUBJECT, item.id or 0))


def _record(
    call: Call,
    item: RectificationItem,
    action: str,
    previous: str | None,
    *,
    comment: str | None = None,
    data: dict | None = None,
) -> None:
    call.uow.audit.record(
        at=call.now,
        action=f"rectification.{action}",
        subject_type=SUBJECT,
        subject_id=item.id or 0,
        actor_user_id=call.user.id,
        from_state=previous,
        to_state=item.status,
        comment=comment,
        data={"filing_id": item.filing_id, "item_no": item.item_no, **(data or {})},
    )


def _start(dialog: Dialog, call: Call, context: dict, intro: str | None = None) -> CommandResult:
    result = flow.start(dialog, call.ctx, context=context, intro=intro)
    return CommandResult(list(result.outcome.replies), result.state)


def _item_context(texts: Texts, filing: Filing, item: RectificationItem) -> dict:
    return {flow.ITEM: item.id, flow.LABEL: _ref(texts, filing, item)}


def _item_card(texts: Texts, filing: Filing, item: RectificationItem) -> str:
    return texts(
        "rect.item_card",
        ref=_ref(texts, filing, item),
        problem=item.problem,
        measure=item.measure,
        due=format_date(item.due_date),
    )


def _evidence_card(call: Call, item: RectificationItem) -> str:
    texts = call.ctx.texts
    when = item.submitted_at.astimezone(call.env.tz) if item.submitted_at else None
    return texts(
        "rect.evidence_card",
        report=item.evidence_text or "",
        files=_files(texts, item.evidence),
        when=f"{format_date(when.date())} {when:%H:%M}" if when else "—",
    )


# Commands


async def rectify(call: Call, command: Command) -> CommandResult:
    """/rectify FILING_ID: an officer sets a new item on an accepted filing."""
    arg = _arg(command)
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    if filing is None or not may_review(call, filing):
        return CommandResult(
            [_deny(call, subject_type="filing", subject=arg, attempted=_command_text(command))]
        )
    if filing.status not in FILING_STATUSES:
        call.uow.audit.record(
            at=call.now,
            action="rectification.refused",
            subject_type="filing",
            subject_id=filing.id or 0,
            actor_user_id=call.user.id,
            from_state=filing.status,
            comment=_command_text(command),
            data={"reason": "filing_not_open"},
        )
        status = call.ctx.texts(f"status.{filing.status}")
        return CommandResult(
            [Reply(call.ctx.texts("rect.filing_not_open", number=filing.number, status=status))]
        )
    return _start(flow.CREATE_DIALOG, call, {flow.FILING: filing.id, flow.NUMBER: filing.number or ""})


async def evidence(call: Call, command: Command) -> CommandResult:
    """/evidence ITEM_ID: the owner reports an open item done."""
    texts = call.ctx.texts
    found = await _as_owner(call, _arg(command), _command_text(command))
    if isinstance(found, Reply):
        return CommandResult([found])
    item, filing = found
    if item.status != OPEN:
        reply = texts("rect.not_open", ref=_ref(texts, filing, item), status=_status(texts, item))
        return CommandResult(
            [_refuse(call, item, attempted=_command_text(command), reason="not_open", reply=reply)]
        )
    intro = _item_card(texts, filing, item)
    if item.officer_note:
        intro += "\n" + texts("rect.sent_back_was", reason=item.officer_note)
    return _start(flow.EVIDENCE_DIALOG, call, _item_context(texts, filing, item), intro)


async def _start_decision(call: Call, command: Command, dialog: Dialog) -> CommandResult:
    texts = call.ctx.texts
    found = await _as_officer(call, _arg(command), _command_text(command))
    if isinstance(found, Reply):
        return CommandResult([found])
    item, filing = found
    if item.status != SUBMITTED or item.submitted_at is None:
        reply = texts("rect.not_submitted", ref=_ref(texts, filing, item), status=_status(texts, item))
        return CommandResult(
            [_refuse(call, item, attempted=_command_text(command), reason="not_submitted", reply=reply)]
        )
    context = _item_context(texts, filing, item) | {flow.SUBMITTED: item.submitted_at.isoformat()}
    intro = _item_card(texts, filing, item) + "\n" + _evidence_card(call, item)
    return _start(dialog, call, context, intro)


async def item_ok(call: Call, command: Command) -> CommandResult:
    """/itemok ITEM_ID: accept the submitted evidence."""
    return await _start_decision(call, command, flow.ACCEPT_DIALOG)


async def item_back(call: Call, command: Command) -> CommandResult:
    """/itemback ITEM_ID: send the item back for more work, with a reason."""
    return await _start_decision(call, command, flow.SEND_BACK_DIALOG)


def _cannot_extend(call: Call, filing: Filing, item: RectificationItem) -> tuple[str, str] | None:
    texts = call.ctx.texts
    if item.status not in EXTENDABLE:
        return "not_extendable", texts(
            "rect.not_extendable", ref=_ref(texts, filing, item), status=_status(texts, item)
        )
    if item.extended:
        return "already_extended", texts(
            "rect.already_extended",
            ref=_ref(texts, filing, item),
            original=format_date(item.original_due_date),
            due=format_date(item.due_date),
        )
    return None


async def extend(call: Call, command: Command) -> CommandResult:
    """/extend ITEM_ID: the item's one extension, granted by an officer."""
    texts = call.ctx.texts
    found = await _as_officer(call, _arg(command), _command_text(command))
    if isinstance(found, Reply):
        return CommandResult([found])
    item, filing = found
    refusal = _cannot_extend(call, filing, item)
    if refusal is not None:
        reason, reply = refusal
        return CommandResult(
            [_refuse(call, item, attempted=_command_text(command), reason=reason, reply=reply)]
        )
    context = _item_context(texts, filing, item) | {flow.DUE: item.due_date.isoformat()}
    return _start(flow.EXTEND_DIALOG, call, context, _item_card(texts, filing, item))


async def tasks(call: Call, command: Command) -> CommandResult:
    """/tasks: the caller's own items, open ones first, each by its due date."""
    texts = call.ctx.texts
    assert call.user.id is not None
    items = await call.uow.rectifications.of_owner(call.user.id)
    if not items:
        return CommandResult([Reply(texts("rect.tasks.none"))])
    order = {OPEN: 0, SUBMITTED: 1}
    items = sorted(items, key=lambda i: (order.get(i.status, 2), i.due_date, i.id or 0))
    filings: dict[int, Filing] = {}
    for item in items:
        if item.filing_id not in filings:
            filing = await call.uow.filings.get(item.filing_id)
            if filing is not None:
                filings[item.filing_id] = filing
    lines = [texts("rect.tasks.header", count=len(items))]
    buttons: list[tuple[Button, ...]] = []
    for item in items:
        filing = filings.get(item.filing_id)
        if filing is None:
            continue
        ref = _ref(texts, filing, item)
        lines.append(
            texts(
                "rect.tasks.line",
                flag=texts("rect.overdue") if _overdue(call, item) else "",
                ref=ref,
                status=_status(texts, item),
                due=format_date(item.due_date),
                problem=item.problem,
            )
        )
        if item.status == OPEN and len(buttons) < LISTED:
            buttons.append((Button(texts("rect.evidence_ref", ref=ref), f"/evidence {item.id}"),))
    return CommandResult([Reply("\n".join(lines), tuple(buttons))])


# Effects, when a dialog finishes: the state is checked again, since time has passed.


async def create(call: Call, effect: CreateRectification) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    filing = await uow.filings.get(effect.filing_id)
    if filing is None or not may_review(call, filing):
        # The role was revoked while the dialog was open.
        return [_deny(call, subject_type="filing", subject=str(effect.filing_id), attempted="rect_create")]
    if filing.status not in FILING_STATUSES:
        status = texts(f"status.{filing.status}")
        return [Reply(texts("rect.filing_not_open", number=filing.number, status=status))]
    assert filing.id is not None and call.user.id is not None
    due = date.fromisoformat(effect.due_date)
    try:
        item = await uow.rectifications.add(
            filing_id=filing.id,
            item_no=await uow.rectifications.next_item_no(filing.id),
            problem=effect.problem,
            measure=effect.measure,
            owner_user_id=filing.user_id,
            due_date=due,
            created_by=call.user.id,
            now=call.now,
            jurisdiction_code=filing.jurisdiction_code,
        )
    except IntegrityError as exc:
        raise ConcurrentUpdate("rectification item number taken concurrently") from exc
    _record(call, item, "created", None, comment=effect.problem, data={"due_date": effect.due_date})
    await plans.plan_rectification(uow, call.env, call.now, item)
    owner = await uow.users.get(filing.user_id)
    if owner is not None and owner.id != call.user.id:
        await notify(
            call,
            owner,
            lambda t: _owner_notice(t, "created", filing, item),
            dedupe_key=f"rect:{item.id}:created:owner:{owner.id}",
        )
    buttons = (
        (Button(texts("rect.add_more"), f"/rectify {filing.id}"),),
        (Button(texts("rect.view"), f"/filing {filing.id}"),),
    )
    return [Reply(texts("rect.created", ref=_ref(texts, filing, item), due=format_date(due)), buttons)]


async def submit(call: Call, effect: SubmitEvidence) -> list[Reply]:
    texts = call.ctx.texts
    found = await _as_owner(call, str(effect.item_id), "rect_evidence")
    if isinstance(found, Reply):
        return [found]
    item, filing = found
    seq = await _seq(call, item)
    changed = await call.uow.rectifications.transition(
        item.id or 0,
        expect={"status": OPEN},
        values={
            "status": SUBMITTED,
            "evidence_text": effect.text,
            "evidence": list(effect.attachments),
            "submitted_at": call.now,
            "updated_at": call.now,
        },
    )
    if not changed:
        reply = texts("rect.changed", ref=_ref(texts, filing, item), status=_status(texts, item))
        return [_refuse(call, item, attempted="rect_evidence", reason="changed", reply=reply)]
    # The evidence columns hold the latest round only; the audit entry keeps every round.
    _record(
        call, item, "submitted", OPEN, comment=effect.text, data={"attachments": list(effect.attachments)}
    )
    owner_name = call.user.name or "—"
    for officer in await call.uow.users.officers_of(filing.jurisdiction_code or ""):
        if officer.id == call.user.id:
            continue
        await notify(
            call,
            officer,
            lambda t: _officer_notice(t, call, filing, item, owner_name),
            dedupe_key=f"rect:{item.id}:submitted:{seq}:officer:{officer.id}",
        )
    return [Reply(texts("rect.evidence_sent", ref=_ref(texts, filing, item)))]


async def decide(call: Call, effect: RectificationDecision) -> list[Reply]:
    texts = call.ctx.texts
    found = await _as_officer(call, str(effect.item_id), f"rect_{effect.decision}")
    if isinstance(found, Reply):
        return [found]
    item, filing = found
    try:
        seen = datetime.fromisoformat(effect.submitted_at)
    except ValueError:
        seen = None
    seq = await _seq(call, item)
    accept = effect.decision == flow.ACCEPT
    values: dict = {"status": ACCEPTED if accept else OPEN, "updated_at": call.now}
    if accept:
        values["accepted_at"] = call.now
    else:
        values["officer_note"] = effect.text
    # Another officer may have decided first, or the cadre submitted again after a send-back:
    # this decision was about evidence that is no longer the item's current one.
    changed = seen is not None and await call.uow.rectifications.transition(
        item.id or 0, expect={"status": SUBMITTED, "submitted_at": seen}, values=values
    )
    if not changed:
        reply = texts("rect.changed", ref=_ref(texts, filing, item), status=_status(texts, item))
        return [_refuse(call, item, attempted=f"rect_{effect.decision}", reason="changed", reply=reply)]
    action = "accepted" if accept else "sent_back"
    if accept:
        await plans.stop_rectification(call.uow, call.now, [item.id or 0])
    _record(call, item, action, SUBMITTED, comment=effect.text)
    owner = await call.uow.users.get(item.owner_user_id)
    if owner is not None and owner.id != call.user.id:
        await notify(
            call,
            owner,
            lambda t: _owner_notice(t, action, filing, item),
            dedupe_key=f"rect:{item.id}:{action}:{seq}:owner:{owner.id}",
        )
    return [Reply(texts(f"rect.done.{action}", ref=_ref(texts, filing, item)))]


async def extended(call: Call, effect: ExtendRectification) -> list[Reply]:
    texts = call.ctx.texts
    found = await _as_officer(call, str(effect.item_id), "rect_extend")
    if isinstance(found, Reply):
        return [found]
    item, filing = found
    refusal = _cannot_extend(call, filing, item)
    if refusal is not None:
        reason, reply = refusal
        return [_refuse(call, item, attempted="rect_extend", reason=reason, reply=reply)]
    previous, new = date.fromisoformat(effect.previous_due_date), date.fromisoformat(effect.due_date)
    if new <= previous:
        # The dialog refuses this already; a crafted effect must not shorten a deadline.
        reply = texts("rect.date_not_later", date=format_date(new), due=format_date(previous))
        return [_refuse(call, item, attempted="rect_extend", reason="not_later", reply=reply)]
    seq = await _seq(call, item)
    changed = await call.uow.rectifications.transition(
        item.id or 0,
        expect={"extended": False, "due_date": previous, "status": item.status},
        values={"due_date": new, "extended": True, "updated_at": call.now},
    )
    if not changed:
        reply = texts("rect.changed", ref=_ref(texts, filing, item), status=_status(texts, item))
        return [_refuse(call, item, attempted="rect_extend", reason="changed", reply=reply)]
    _record(
        call,
        item,
        "extended",
        item.status,
        comment=f"{previous.isoformat()} → {new.isoformat()}",
        data={"from_due": previous.isoformat(), "to_due": new.isoformat()},
    )
    await plans.plan_rectification(call.uow, call.env, call.now, item)
    owner = await call.uow.users.get(item.owner_user_id)
    if owner is not None and owner.id != call.user.id:
        await notify(
            call,
            owner,
            lambda t: _owner_notice(t, "extended", filing, item),
            dedupe_key=f"rect:{item.id}:extended:{seq}:owner:{owner.id}",
        )
    return [Reply(texts("rect.done.extended", ref=_ref(texts, filing, item), due=format_date(new)))]


# Notices for the other side, rendered in the recipient's language.


def _owner_notice(texts: Texts, event: str, filing: Filing, item: RectificationItem) -> Reply:
    text = texts(
        f"rect.notice.{event}",
        ref=_ref(texts, filing, item),
        problem=item.problem,
        measure=item.measure,
        due=format_date(item.due_date),
        original=format_date(item.original_due_date),
        reason=item.officer_note or "",
    )
    rows: list[tuple[Button, ...]] = []
    if item.status == OPEN:
        rows.append((Button(texts("rect.evidence_button"), f"/evidence {item.id}"),))
    rows.append((Button(texts("rect.view"), f"/filing {filing.id}"),))
    return Reply(text, tuple(rows))


def _officer_notice(texts: Texts, call: Call, filing: Filing, item: RectificationItem, owner: str) -> Reply:
    when = item.submitted_at.astimezone(call.env.tz) if item.submitted_at else None
    text = texts(
        "rect.notice.submitted",
        ref=_ref(texts, filing, item),
        owner=owner,
        problem=item.problem,
        report=item.evidence_text or "",
        files=_files(texts, item.evidence),
        due=format_date(item.due_date),
        when=f"{format_date(when.date())} {when:%H:%M}" if when else "—",
    )
    buttons = (
        (
            Button(texts("rect.accept"), f"/itemok {item.id}"),
            Button(texts("rect.send_back"), f"/itemback {item.id}"),
        ),
        (Button(texts("rect.view"), f"/filing {filing.id}"),),
    )
    return Reply(text, buttons)


# The filing view's section, for its cadre and its officers.


async def filing_section(
    call: Call, filing: Filing, *, as_officer: bool
) -> tuple[list[str], tuple[tuple[Button, ...], ...]]:
    texts = call.ctx.texts
    items = await call.uow.rectifications.of_filing(filing.id or 0)
    lines: list[str] = []
    if items:
        lines.append(texts("rect.filing.header", count=len(items)))
    rows: list[tuple[Button, ...]] = []
    for item in items:
        extended_mark = (
            texts("rect.extended_mark", original=format_date(item.original_due_date)) if item.extended else ""
        )
        lines.append(
            texts(
                "rect.filing.line",
                flag=texts("rect.overdue") if _overdue(call, item) else "",
                no=item.item_no,
                status=_status(texts, item),
                due=format_date(item.due_date),
                extended=extended_mark,
                problem=item.problem,
                measure=item.measure,
            )
        )
        if len(rows) >= LISTED:
            continue
        if as_officer:
            row: list[Button] = []
            if item.status == SUBMITTED:
                row += [
                    Button(texts("rect.accept_no", no=item.item_no), f"/itemok {item.id}"),
                    Button(texts("rect.send_back_no", no=item.item_no), f"/itemback {item.id}"),
                ]
            if item.status in EXTENDABLE and not item.extended:
                row.append(Button(texts("rect.extend_no", no=item.item_no), f"/extend {item.id}"))
            if row:
                rows.append(tuple(row))
        elif item.status == OPEN and item.owner_user_id == call.user.id:
            rows.append((Button(texts("rect.evidence_no", no=item.item_no), f"/evidence {item.id}"),))
    if as_officer and filing.status in FILING_STATUSES:
        rows.append((Button(texts("rect.add"), f"/rectify {filing.id}"),))
    return lines, tuple(rows)


COMMANDS = {
    "rectify": rectify,
    "tasks": tasks,
    "evidence": evidence,
    "itemok": item_ok,
    "itemback": item_back,
    "extend": extend,
}
