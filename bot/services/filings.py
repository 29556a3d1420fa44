"""Pre-filings: drafts stored at every step, submission with a number per jurisdiction and year,
and the cadre's commands around them. Cadres see and act on their own filings only."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.exc import IntegrityError

from bot.services import closing, rectification, review, selfchecks, tolerance, updates, visits
from bot.services.calls import UNCHANGED, Call, CommandResult
from bot.services.reminders import plans
from bot.services.stats import record as stats_record
from dialogs import engine
from dialogs.actions import command_action
from dialogs.events import Command
from dialogs.flows import prefiling
from dialogs.parsing.dates import format_date
from dialogs.parsing.ids import record_id
from dialogs.registry import dialogs_for
from dialogs.replies import Button, Reply, SubmitFiling
from dialogs.state import DialogState
from storage.errors import ConcurrentUpdate
from storage.models import Filing
from storage.uow import UnitOfWork

DIALOG = prefiling.NAME
SUBMITTED = "submitted"
WITHDRAWN = "withdrawn"
# A filing can be withdrawn until a decision has been made on it.
WITHDRAWABLE = {"submitted", "returned", "accepted", "in_progress"}
LISTED = 10


def _local(call: Call, when: datetime) -> str:
    local = when.astimezone(call.env.tz)
    return f"{format_date(local.date())} {local:%H:%M}"


def _title(call: Call, filing: Filing) -> str:
    return filing.title or call.ctx.texts("pf.untitled")


async def store_draft(uow: UnitOfWork, user_id: int, state: DialogState, now: datetime) -> None:
    """Every answer is stored the moment it is given: the draft row mirrors the dialog state."""
    key = state.answers.get(prefiling.DRAFT_KEY)
    if key:
        await uow.filings.save_draft(
            user_id=user_id, draft_key=key, answers=dict(state.answers), step=state.step, now=now
        )


async def submit(call: Call, effect: SubmitFiling) -> list[Reply]:
    texts, uow, user = call.ctx.texts, call.uow, call.user
    filing = await uow.filings.by_draft_key(effect.draft_key)
    if filing is None or filing.status != "draft" or filing.user_id != user.id:
        return [Reply(texts("pf.already_submitted"))]
    unit_code = user.unit_code or ""
    jurisdiction = call.ctx.directory.jurisdiction_of(unit_code)
    if jurisdiction is None:
        return [Reply(texts("pf.no_jurisdiction"))]
    year = call.now.astimezone(call.env.tz).year
    seq = await uow.filings.next_seq(jurisdiction.code, year)
    number = f"{jurisdiction.display_short}-{year}-{seq:04d}"
    filing.number = number
    filing.year, filing.seq = year, seq
    filing.jurisdiction_code, filing.unit_code = jurisdiction.code, unit_code
    filing.status = SUBMITTED
    filing.answers = dict(effect.fields)
    filing.step = None
    filing.submitted_at = filing.updated_at = call.now
    filing.review_due_at = call.env.calendar.initial_review_due(call.now, call.env.tz)
    stats_record.submitted(call, filing)
    if effect.selfcheck_answers:
        record = await selfchecks.store(call, effect.selfcheck_answers, mode="prefiling")
        filing.selfcheck_id = record.id
    uow.session.add(filing)
    try:
        await uow.session.flush()
    except IntegrityError as exc:
        # Another submission took this number first; the whole event is retried on fresh state.
        raise ConcurrentUpdate(f"filing number {number} taken concurrently") from exc
    uow.audit.record(
        at=call.now,
        action="filing.submitted",
        subject_type="filing",
        subject_id=filing.id or 0,
        actor_user_id=user.id,
        from_state="draft",
        to_state=SUBMITTED,
        data={"number": filing.number},
    )
    await review.notify_officers(call, filing, event="new")
    await plans.plan_review_deadline(uow, call.env, call.now, filing)
    due = filing.review_due_at.astimezone(call.env.tz).date()
    text = texts("pf.receipt", number=filing.number, due=format_date(due))
    buttons = (
        (Button(texts("pf.view_filing"), f"/filing {filing.id}"), Button(texts("menu.mine"), "/mine")),
    )
    return [Reply(text, buttons)]


async def new(call: Call, command: Command) -> CommandResult:
    """/new, optionally `sc<id>`: a new draft, seeded with a saved self-check's answers."""
    texts = call.ctx.texts
    seed: dict[str, str] | None = None
    if command.args.startswith("sc") and command.args[2:].isdigit():
        seed_id = record_id(command.args[2:])
        record = await call.uow.selfchecks.get(seed_id) if seed_id else None
        if record is None or record.user_id != call.user.id:
            return CommandResult([Reply(texts("access.not_yours"))])
        seed = dict(record.answers)
    dialog = dialogs_for(call.ctx.policy)[DIALOG]
    result = prefiling.start(dialog, call.ctx, seed=seed)
    replies = list(result.outcome.replies)
    previous = call.state
    if previous is not None and previous.dialog == DIALOG and previous.answers.get("title"):
        replies.insert(0, Reply(texts("pf.previous_kept", title=previous.answers["title"])))
    return CommandResult(replies, result.state)


async def drafts(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    assert call.user.id is not None
    rows = await call.uow.filings.drafts_of(call.user.id)
    if not rows:
        return CommandResult(
            [Reply(texts("drafts.none"), ((Button(texts("menu.new"), command_action("new")),),))]
        )
    dialog = dialogs_for(call.ctx.policy)[DIALOG]
    replies = [Reply(texts("drafts.header", count=len(rows)))]
    for filing in rows[:LISTED]:
        step = filing.step or ""
        where = texts(dialog.step(step).label_key) if dialog.has_step(step) else "—"
        if step.startswith(prefiling.SELFCHECK_PREFIX):
            where = texts("sc.title")
        text = texts(
            "drafts.line", title=_title(call, filing), step=where, updated=_local(call, filing.updated_at)
        )
        buttons = (
            (
                Button(texts("drafts.resume"), f"/resume {filing.id}"),
                Button(texts("drafts.delete"), f"/deldraft {filing.id}"),
            ),
        )
        replies.append(Reply(text, buttons))
    return CommandResult(replies)


async def _deny(call: Call, command: Command, action: str, subject: str) -> Reply:
    call.uow.audit.record(
        at=call.now,
        action="access.denied",
        subject_type="filing",
        subject_id=subject or "-",
        actor_user_id=call.user.id,
        comment=f"/{command.name} {command.args}"[:200],
        data={"attempted": action},
    )
    return Reply(call.ctx.texts("access.not_yours"))


async def _own_filing(call: Call, command: Command, *, action: str) -> Filing | Reply:
    """The filing named in the command if it is the caller's; otherwise a refusal (and an audit entry)."""
    arg = command.args.split(" ", 1)[0]
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    if filing is None or filing.user_id != call.user.id:
        return await _deny(call, command, action, arg)
    return filing


async def _visible_filing(call: Call, command: Command) -> tuple[Filing, bool] | Reply:
    """A filing the caller may read (by id, or by number like 嵩明-2026-0007): their own, or a
    submitted one in a jurisdiction they serve as officer. Returns it and whether read as its officer.
    """
    arg = command.args.split(" ", 1)[0]
    if arg.isdigit():
        filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    else:
        filing = await call.uow.filings.by_number(arg) if arg else None
    if filing is not None and filing.user_id == call.user.id:
        return filing, False
    viewer = call.ctx.viewer
    if (
        filing is not None
        and filing.status != "draft"
        and viewer.has_role("officer")
        and filing.jurisdiction_code in viewer.jurisdictions
    ):
        return filing, True
    return await _deny(call, command, "view", arg)


async def resume(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    found = await _own_filing(call, command, action="resume")
    if isinstance(found, Reply):
        return CommandResult([found])
    if found.status != "draft":
        return CommandResult([Reply(texts("drafts.not_a_draft", title=_title(call, found)))])
    dialog = dialogs_for(call.ctx.policy)[DIALOG]
    answers = dict(found.answers)
    path = prefiling.field_path(answers)
    step = found.step if found.step and dialog.has_step(found.step) else None
    if step is None:
        # The stored step no longer exists (an older policy pack): continue at the first open field.
        step = prefiling.next_field(path[-1], answers) if path else prefiling.FIELD_ORDER[0]
    history = [n for n in path if n != step]
    if step.startswith(prefiling.SELFCHECK_PREFIX) or step == "edit_pick":
        history.append("summary")
    state = DialogState(dialog=DIALOG, step=step, answers=answers, history=history)
    result = engine.resume(dialog, state, call.ctx)
    return CommandResult(list(result.outcome.replies), result.state)


async def delete_draft(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    found = await _own_filing(call, command, action="delete_draft")
    if isinstance(found, Reply):
        return CommandResult([found])
    if found.status != "draft":
        return CommandResult([Reply(texts("drafts.not_a_draft", title=_title(call, found)))])
    if not command.args.endswith(" yes"):
        buttons = (
            (
                Button(texts("drafts.delete_confirm"), f"/deldraft {found.id} yes"),
                Button(texts("drafts.keep"), "/drafts"),
            ),
        )
        return CommandResult([Reply(texts("drafts.delete_ask", title=_title(call, found)), buttons)])
    await call.uow.filings.delete_draft(found.id or 0)
    call.uow.audit.record(
        at=call.now,
        action="draft.deleted",
        subject_type="filing",
        subject_id=found.id or 0,
        actor_user_id=call.user.id,
        from_state="draft",
        comment=found.title,
    )
    state = call.state
    if state is not None and state.answers.get(prefiling.DRAFT_KEY) == found.draft_key:
        return CommandResult([Reply(texts("drafts.deleted", title=_title(call, found)))], None)
    return CommandResult([Reply(texts("drafts.deleted", title=_title(call, found)))])


async def mine(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    assert call.user.id is not None
    rows = await call.uow.filings.submitted_of(call.user.id)
    if not rows:
        return CommandResult(
            [Reply(texts("mine.none"), ((Button(texts("menu.new"), command_action("new")),),))]
        )
    lines = [texts("mine.header", count=len(rows))]
    buttons = []
    for filing in rows:
        status = texts(f"status.{filing.status}")
        lines.append(
            texts("mine.line", number=filing.number or "—", title=_title(call, filing), status=status)
        )
        if len(buttons) < LISTED:
            buttons.append((Button(f"{filing.number} {_title(call, filing)}"[:40], f"/filing {filing.id}"),))
    return CommandResult([Reply("\n".join(lines), tuple(buttons))])


async def show(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    visible = await _visible_filing(call, command)
    if isinstance(visible, Reply):
        return CommandResult([visible])
    found, as_officer = visible
    lines = [
        texts("filing.header", number=found.number or "—", status=texts(f"status.{found.status}")),
        texts("filing.submitted_at", when=_local(call, found.submitted_at)) if found.submitted_at else "",
    ]
    if as_officer:
        filer = await call.uow.users.get(found.user_id)
        unit = call.ctx.directory.full_name(found.unit_code) if found.unit_code else "—"
        lines.append(texts("filing.filer", name=filer.name if filer else "—", unit=unit))
    if found.review_due_at and found.status == SUBMITTED:
        lines.append(
            texts("filing.review_due", due=format_date(found.review_due_at.astimezone(call.env.tz).date()))
        )
    lines += prefiling.summary_lines(call.ctx, found.answers)
    if found.selfcheck_id:
        record = await call.uow.selfchecks.get(found.selfcheck_id)
        if record is not None:
            lines.append(texts("filing.selfcheck", verdict=selfchecks.stored_verdict_line(call, record)))
            if as_officer:
                lines += await selfchecks.officer_lines(call, record)
    update_lines, update_buttons = await updates.filing_section(call, found, as_officer=as_officer)
    lines += update_lines
    review_lines, review_buttons = await tolerance.filing_section(call, found, as_officer=as_officer)
    lines += review_lines
    rect_lines, rect_buttons = await rectification.filing_section(call, found, as_officer=as_officer)
    lines += rect_lines
    lines += await visits.filing_section(call, found, as_officer=as_officer)
    buttons: tuple[tuple[Button, ...], ...] = ()
    if as_officer:
        buttons = (
            review.officer_buttons(texts, found)
            + update_buttons
            + review_buttons
            + rect_buttons
            + closing.officer_buttons(texts, found)
        )
    else:
        if found.status == review.RETURNED:
            question = await call.uow.filing_messages.latest(found.id or 0, "return_question")
            if question is not None:
                lines.append(texts("rv.question_was", question=question.text))
            buttons += ((Button(texts("rv.answer_button"), f"/answer {found.id}"),),)
        buttons += update_buttons + rect_buttons
        if found.status in WITHDRAWABLE:
            buttons += ((Button(texts("filing.withdraw"), f"/withdraw {found.id}"),),)
    return CommandResult([Reply("\n".join(line for line in lines if line), buttons)])


async def withdraw(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    found = await _own_filing(call, command, action="withdraw")
    if isinstance(found, Reply):
        return CommandResult([found])
    if found.status not in WITHDRAWABLE:
        return CommandResult([Reply(texts("filing.cannot_withdraw", status=texts(f"status.{found.status}")))])
    if not command.args.endswith(" yes"):
        buttons = (
            (
                Button(texts("filing.withdraw_confirm"), f"/withdraw {found.id} yes"),
                Button(texts("filing.keep"), f"/filing {found.id}"),
            ),
        )
        return CommandResult([Reply(texts("filing.withdraw_ask", number=found.number), buttons)])
    previous = found.status
    found.status, found.withdrawn_at, found.updated_at = WITHDRAWN, call.now, call.now
    call.uow.session.add(found)
    await plans.stop_filing(call.uow, call.now, found)
    call.uow.audit.record(
        at=call.now,
        action="filing.withdrawn",
        subject_type="filing",
        subject_id=found.id or 0,
        actor_user_id=call.user.id,
        from_state=previous,
        to_state=WITHDRAWN,
        data={"number": found.number},
    )
    return CommandResult([Reply(texts("filing.withdrawn", number=found.number))], UNCHANGED)


COMMANDS = {
    "new": new,
    "drafts": drafts,
    "resume": resume,
    "deldraft": delete_draft,
    "mine": mine,
    "filing": show,
    "withdraw": withdraw,
}
