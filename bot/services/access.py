"""Refusing a command that names something the caller may not touch: one polite answer, one audit
entry, no change. A forged or replayed button looks exactly like this."""

from __future__ import annotations

from bot.services.calls import Call, CommandResult
from dialogs.events import Command
from dialogs.replies import Reply


def deny(call: Call, command: Command, subject_type: str) -> CommandResult:
    call.uow.audit.record(
        at=call.now,
        action="access.denied",
        subject_type=subject_type,
        subject_id=command.args.strip() or "-",
        actor_user_id=call.user.id,
        comment=f"/{command.name} {command.args}"[:200],
    )
    return CommandResult([Reply(call.ctx.texts("access.not_yours"))])
