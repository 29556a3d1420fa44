"""What a command or effect handler gets: the open transaction, the user, the engine context."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services.jobs import Job
from bot.workdays import WorkCalendar
from dialogs.context import Context
from dialogs.policy.pack import PolicyPack
from dialogs.replies import Reply
from dialogs.state import DialogState
from storage.models import User, UserIdentity
from storage.uow import UnitOfWork


@dataclass(frozen=True, slots=True)
class Environment:
    """Long-lived things services need besides the database."""

    policy: PolicyPack
    calendar: WorkCalendar
    tz: ZoneInfo


@dataclass(slots=True)
class Call:
    uow: UnitOfWork
    ctx: Context
    user: User
    identity: UserIdentity  # how the user reached us this time
    now: datetime
    env: Environment
    state: DialogState | None  # the user's current dialog, as loaded


class _Unchanged:
    pass


UNCHANGED = _Unchanged()


@dataclass(slots=True)
class CommandResult:
    replies: list[Reply]
    # A new dialog state for the user (None ends the current dialog); UNCHANGED leaves it alone.
    state: DialogState | _Unchanged | None = field(default=UNCHANGED)
    # Long-running work for the channel to run after the commit (bot/services/jobs.py).
    job: Job | None = None
