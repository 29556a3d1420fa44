"""Joining channels: the bot gives a registered user a one-time code; typing `/link CODE` on another
channel (the web chat) makes that channel speak for the same user, with the same drafts and filings."""

from __future__ import annotations

import secrets
from datetime import timedelta

from bot.services.calls import Call, CommandResult
from dialogs.events import Command
from dialogs.replies import Reply

CODE_DIGITS = 8
VALID_FOR = timedelta(minutes=10)


async def link(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    code = command.args.replace(" ", "")
    if not code:
        if not call.ctx.viewer.registered:
            return CommandResult([Reply(texts("link.register_first"))])
        code = str(secrets.randbelow(10**CODE_DIGITS)).zfill(CODE_DIGITS)
        await call.uow.links.create(
            code=code, user_id=call.user.id or 0, now=call.now, expires_at=call.now + VALID_FOR
        )
        return CommandResult(
            [Reply(texts("link.code", code=code, minutes=int(VALID_FOR.total_seconds() // 60)))]
        )
    if not code.isdigit() or len(code) != CODE_DIGITS:
        return CommandResult([Reply(texts("link.bad_code"))])
    target = await call.uow.links.take(code, call.now)
    if target is None:
        call.uow.audit.record(
            at=call.now, action="link.failed", subject_type="identity", subject_id=call.identity.id or 0
        )
        return CommandResult([Reply(texts("link.bad_code"))])
    if target == call.user.id:
        return CommandResult([Reply(texts("link.same"))])
    await call.uow.links.move_identity(call.identity.id or 0, target)
    call.uow.audit.record(
        at=call.now,
        action="identity.linked",
        subject_type="user",
        subject_id=target,
        actor_user_id=target,
        data={"channel": call.identity.channel, "previous_user_id": call.user.id},
    )
    owner = await call.uow.users.get(target)
    name = owner.name if owner is not None and owner.name else ""
    # The session's own dialog (a registration begun here, say) is dropped: the linked account's counts.
    return CommandResult([Reply(texts("link.done", name=name))], None)


COMMANDS = {"link": link}
