"""Guidance (事中指导) from officers and progress reports from the cadre on accepted filings.
Red filings show the cadre's milestone dates, so officers see what a report is due against."""

from __future__ import annotations

from datetime import date

from bot.services.calls import Call, CommandResult
from bot.services.notify import notify
from bot.services.review import may_review, notify_officers_text
from dialogs.events import Command
from dialogs.flows import review, updates
from dialogs.parsing.dates import format_date
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from storage.models import Filing

OPEN_FOR_UPDATES = ("accepted", "in_progress", "under_review", "decided")
SHOWN = 5


async def _filing(call: Call, command: Command, *, officer: bool) -> Filing | Reply:
    arg = command.args.strip()
    filing = await call.uow.filings.get(found) if (found := record_id(arg)) else None
    allowed = filing is not None and (may_review(call, filing) if officer else filing.user_id == call.user.id)
    if not allowed:
        call.uow.audit.record(
            at=call.now,
            action="access.denied",
            subject_type="filing",
            subject_id=arg or "-",
            actor_user_id=call.user.id,
            comment=f"/{command.name} {command.args}"[:200],
        )
        return Reply(call.ctx.texts("access.not_yours"))
    assert filing is not None
    if filing.status not in OPEN_FOR_UPDATES:
        return Reply(
            call.ctx.texts(
                "up.not_open", number=filing.number, status=call.ctx.texts(f"status.{filing.status}")
            )
        )
    return filing


async def guidance(call: Call, command: Command) -> CommandResult:
    found = await _filing(call, command, officer=True)
    if isinstance(found, Reply):
        return CommandResult([found])
    result = review.start(
        updates.GUIDANCE_DIALOG, call.ctx, filing_id=found.id or 0, number=found.number or ""
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def progress(call: Call, command: Command) -> CommandResult:
    found = await _filing(call, command, officer=False)
    if isinstance(found, Reply):
        return CommandResult([found])
    result = review.start(
        updates.PROGRESS_DIALOG, call.ctx, filing_id=found.id or 0, number=found.number or ""
    )
    return CommandResult(list(result.outcome.replies), result.state)


async def posted(call: Call, effect: updates.PostUpdate) -> list[Reply]:
    texts, uow = call.ctx.texts, call.uow
    filing = await uow.filings.get(effect.filing_id)
    officer = effect.kind == "guidance"
    if filing is None or not (may_review(call, filing) if officer else filing.user_id == call.user.id):
        return [Reply(texts("access.not_yours"))]
    message = await uow.filing_messages.add(
        filing_id=filing.id or 0,
        kind=effect.kind,
        author_user_id=call.user.id or 0,
        text=effect.text,
        attachments=effect.attachments,
        now=call.now,
    )
    uow.audit.record(
        at=call.now,
        action=f"filing.{effect.kind}",
        subject_type="filing",
        subject_id=filing.id or 0,
        actor_user_id=call.user.id,
        comment=effect.text,
        data={"files": len(effect.attachments)},
    )
    view = (Button(texts("pf.view_filing"), f"/filing {filing.id}"),)
    if officer:
        cadre = await uow.users.get(filing.user_id)
        if cadre is not None:
            await notify(
                call,
                cadre,
                lambda t: Reply(
                    t("up.cadre.guidance", number=filing.number, text=effect.text),
                    ((Button(t("up.progress_action"), f"/progress {filing.id}"),), view),
                ),
                dedupe_key=f"update:{message.id}",
            )
        return [Reply(texts("up.guidance_sent", number=filing.number))]
    await notify_officers_text(
        call,
        filing,
        key=f"update:{message.id}",
        render=lambda t: Reply(
            t("up.officer.progress", number=filing.number, text=effect.text, files=len(effect.attachments)),
            (view,),
        ),
    )
    return [Reply(texts("up.progress_sent", number=filing.number))]


async def filing_section(
    call: Call, filing: Filing, *, as_officer: bool
) -> tuple[list[str], tuple[tuple[Button, ...], ...]]:
    texts = call.ctx.texts
    lines: list[str] = []
    if filing.risk_colour == "red" and filing.answers.get("milestones"):
        due = [m for m in filing.answers["milestones"]]
        lines.append(
            texts(
                "up.milestones_due",
                items="；".join(f"{format_date(date.fromisoformat(m['date']))} {m['what']}" for m in due),
            )
        )
    messages = await call.uow.filing_messages.of_kinds(
        filing.id or 0, ("guidance", "milestone_update"), SHOWN
    )
    for message in messages:
        when = format_date(message.created_at.astimezone(call.env.tz).date())
        lines.append(texts(f"up.line.{message.kind}", when=when, text=message.text[:200]))
    if filing.status not in OPEN_FOR_UPDATES:
        return lines, ()
    if as_officer:
        return lines, ((Button(texts("up.guidance_action"), f"/guidance {filing.id}"),),)
    return lines, ((Button(texts("up.progress_action"), f"/progress {filing.id}"),),)


COMMANDS = {"guidance": guidance, "progress": progress}
EFFECTS = {updates.PostUpdate: posted}
