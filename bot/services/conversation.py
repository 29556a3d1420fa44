"""Handle one incoming event: load the user and their dialog, run the pure engine, store, commit.

Replies are returned only after the commit, so the user is never told something the database
does not hold. A concurrent change to the same user's dialog (another process, a double tap)
is detected by the version column and the whole event is retried on fresh state.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from weakref import WeakValueDictionary

import structlog
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.metrics import Metrics
from bot.services import (
    admin,
    audit_trail,
    closing,
    filings,
    language,
    linking,
    rectification,
    review,
    selfchecks,
    tolerance,
    updates,
    visits,
)
from bot.services.calls import UNCHANGED, Call, CommandResult, Environment
from bot.services.exports import COMMANDS as EXPORT_COMMANDS
from bot.services.jobs import Job
from bot.services.stats.command import COMMANDS as STATS_COMMANDS
from bot.services.viewer import viewer_of
from dialogs import menus, router
from dialogs.context import Context, Viewer
from dialogs.directory import OrgDirectory
from dialogs.events import Command, Event, Press, parse_text
from dialogs.replies import (
    AnswerReturn,
    Button,
    CreateRectification,
    Effect,
    ExtendRectification,
    RecordSelfCheck,
    RectificationDecision,
    RegisterUser,
    Reply,
    ReviewDecision,
    SubmitEvidence,
    SubmitFiling,
)
from dialogs.state import DialogState
from dialogs.texts import Texts, normalize_locale
from storage.database import Database
from storage.errors import ConcurrentUpdate
from storage.repositories.callers import Caller
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 4
# Telegram keeps an unconfirmed update for 24 hours; after that it cannot come again. Old rows
# are deleted on every PRUNE_EVERY-th update (update ids are consecutive), not on each one.
PROCESSED_KEPT = timedelta(days=1)
PRUNE_EVERY = 500


@dataclass(frozen=True, slots=True)
class Incoming:
    channel: str
    external_id: str
    event: Event
    display_name: str | None = None
    language_code: str | None = None
    # The channel's id for this delivery (Telegram's update_id): the same id twice is one event.
    update_id: int | None = None


@dataclass(slots=True)
class Handled:
    replies: list[Reply]
    viewer: Viewer = field(default_factory=Viewer)
    identity_id: int | None = None
    menu: list[menus.MenuCommand] = field(default_factory=list)
    menu_key: str = ""
    stored_menu_key: str | None = None
    locale: str = "zh_CN"
    # Long-running work the command started, for the channel to run now that the commit is done.
    job: Job | None = None
    # An update delivered again after it was applied: nothing changed, and nothing to send.
    duplicate: bool = False

    @property
    def menu_changed(self) -> bool:
        return self.menu_key != self.stored_menu_key


CommandHandler = Callable[[Call, Command], Awaitable[CommandResult]]
EffectHandler = Callable[[Call, Any], Awaitable[list[Reply]]]


async def _register(call: Call, effect: RegisterUser) -> list[Reply]:
    user = call.user
    was_registered = user.registered_at is not None
    user.name, user.unit_code, user.position = effect.name, effect.unit_code, effect.position
    user.registered_at = user.registered_at or call.now
    user.updated_at = call.now
    call.uow.session.add(user)
    call.uow.audit.record(
        at=call.now,
        action="user.profile_updated" if was_registered else "user.registered",
        subject_type="user",
        subject_id=user.id or 0,
        actor_user_id=user.id,
        data={"unit_code": effect.unit_code, "position": effect.position},
    )
    return []


class ConversationService:
    def __init__(
        self, database: Database, directory: Callable[[], OrgDirectory], clock: Clock, env: Environment
    ) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock
        self.env = env
        # The runtime's metrics: every channel's updates pass through here.
        self.metrics = Metrics()
        self._commands: dict[str, CommandHandler] = {}
        self._effects: dict[type[Effect], EffectHandler] = {
            RegisterUser: _register,
            SubmitFiling: filings.submit,
            RecordSelfCheck: selfchecks.record,
            ReviewDecision: review.decide,
            AnswerReturn: review.answered,
            CreateRectification: rectification.create,
            SubmitEvidence: rectification.submit,
            RectificationDecision: rectification.decide,
            ExtendRectification: rectification.extended,
            **tolerance.EFFECTS,
            **updates.EFFECTS,
            **visits.EFFECTS,
            **closing.EFFECTS,
        }
        commands = {
            **filings.COMMANDS,
            **selfchecks.COMMANDS,
            **linking.COMMANDS,
            **review.COMMANDS,
            **rectification.COMMANDS,
            **tolerance.COMMANDS,
            **updates.COMMANDS,
            **visits.COMMANDS,
            **closing.COMMANDS,
            **language.COMMANDS,
            **admin.COMMANDS,
            **audit_trail.COMMANDS,
            **EXPORT_COMMANDS,
            **STATS_COMMANDS,
        }
        for name, handler in commands.items():
            self.add_command(name, handler)
        # One lock per user and process: events of one user are handled in order.
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    def add_command(self, name: str, handler: CommandHandler) -> None:
        if not menus.is_known(name):
            raise ValueError(f"/{name} is not declared in dialogs.menus.COMMANDS")
        self._commands[name] = handler

    def add_effect(self, effect: type[Effect], handler: EffectHandler) -> None:
        """For handlers that need more than a Call carries (the directory import reads files)."""
        self._effects[effect] = handler

    async def handle(self, incoming: Incoming) -> Handled:
        started = time.perf_counter()
        try:
            return await self._handle_in_order(incoming)
        finally:
            self.metrics.handled(incoming.channel, time.perf_counter() - started)

    async def _handle_in_order(self, incoming: Incoming) -> Handled:
        key = f"{incoming.channel}:{incoming.external_id}"
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            for attempt in range(1, MAX_ATTEMPTS + 1):
                try:
                    return await self._handle_once(incoming)
                except ConcurrentUpdate as exc:
                    log.info("conversation.retry", key=key, attempt=attempt, reason=str(exc))
                except Exception:
                    log.exception("conversation.failed", key=key)
                    self.metrics.error("conversation")
                    return self._apology(incoming, "error.internal")
            return self._apology(incoming, "error.busy")

    def _apology(self, incoming: Incoming, key: str) -> Handled:
        texts = Texts(normalize_locale(incoming.language_code))
        return Handled(replies=[Reply(texts(key))])

    async def _handle_once(self, incoming: Incoming) -> Handled:
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            if incoming.update_id is not None and not await self._claim(uow, incoming, now):
                # Delivered again: the process that applied it died before confirming it. Apply
                # nothing and say nothing. The person saw the answer to it already (or, if that was
                # lost as well, gets no answer and sends /start, which shows where they are); an
                # answer now could arrive after their next message and pass for the question after it.
                log.info(
                    "conversation.duplicate_update", channel=incoming.channel, update_id=incoming.update_id
                )
                return Handled(replies=[], duplicate=True)
            caller = await self._caller(uow, incoming, now)
            if not caller.reachable:
                # They wrote to us, so they have unblocked the bot: notifications can flow again.
                await uow.users.set_reachable(incoming.channel, incoming.external_id, reachable=True)
            viewer = viewer_of(caller, caller.grants)
            state = DialogState.from_json(caller.dialog) if caller.dialog is not None else None
            ctx = self._context(caller.locale, viewer)
            # Commands and effects get the person as ORM objects they may change; a plain dialog
            # step (most updates) reads and writes only its rows and never loads them.
            call: Call | None = None

            event = incoming.event
            job: Job | None = None
            if isinstance(event, Press) and event.action.startswith("/"):
                event = parse_text(event.at, event.action)
            if (
                isinstance(event, Command)
                and event.name in self._commands
                and menus.allowed(event.name, viewer)
            ):
                call = await self._call(uow, incoming, ctx, now, state)
                result = await self._commands[event.name](call, event)
                replies, job = result.replies, result.job
                new_state = state if result.state is UNCHANGED else result.state
            else:
                if isinstance(event, Command) and event.name in self._commands and viewer.registered:
                    # A command outside the person's role (an admin pressing an officer's button):
                    # the router refuses it below; a forged or replayed button is worth a record.
                    uow.audit.record(
                        at=now,
                        action="access.denied",
                        subject_type="command",
                        subject_id=event.name,
                        actor_user_id=caller.id,
                        comment=f"/{event.name} {event.args}".strip()[:200],
                    )
                routed = router.route(state, event, ctx)
                replies = list(routed.outcome.replies)
                new_state = routed.state
                if routed.outcome.effects:
                    call = await self._call(uow, incoming, ctx, now, state)
                for effect in routed.outcome.effects:
                    assert call is not None
                    replies += await self._effects[type(effect)](call, effect)
            assert not isinstance(new_state, type(UNCHANGED))
            if new_state is not None and new_state.dialog == filings.DIALOG:
                await filings.store_draft(uow, caller.id, new_state, now)
            if new_state is not None:
                await uow.dialog_states.save(
                    caller.id, new_state.to_json(), expected_version=caller.dialog_version, now=now
                )
            elif caller.dialog_version is not None:
                await uow.dialog_states.delete(caller.id, expected_version=caller.dialog_version)
            locale = caller.locale
            if call is not None:
                # Only commands and effects change who someone is (registration, grants, /lang).
                viewer = viewer_of(call.user, await uow.users.roles(caller.id))
                locale = call.user.locale
            await uow.commit()
        menu = menus.commands_for(viewer)
        return Handled(
            replies=replies,
            viewer=viewer,
            identity_id=caller.identity_id,
            menu=menu,
            # The language is part of the key: after /lang the command menu is set again, translated.
            menu_key=f"{locale}:{menus.menu_key(viewer)}",
            stored_menu_key=caller.menu_key,
            locale=locale,
            job=job,
        )

    async def _caller(self, uow: UnitOfWork, incoming: Incoming, now: datetime) -> Caller:
        caller = await uow.callers.find(incoming.channel, incoming.external_id)
        if caller is not None:
            return caller
        try:
            await uow.users.create(
                channel=incoming.channel,
                external_id=incoming.external_id,
                now=now,
                locale=normalize_locale(incoming.language_code),
                display_name=incoming.display_name,
            )
        except IntegrityError as exc:
            raise ConcurrentUpdate("identity created concurrently") from exc
        caller = await uow.callers.find(incoming.channel, incoming.external_id)
        assert caller is not None
        return caller

    async def _call(
        self, uow: UnitOfWork, incoming: Incoming, ctx: Context, now: datetime, state: DialogState | None
    ) -> Call:
        found = await uow.users.by_identity(incoming.channel, incoming.external_id)
        assert found is not None  # read in this transaction a moment ago
        user, identity = found
        return Call(uow=uow, ctx=ctx, user=user, identity=identity, now=now, env=self.env, state=state)

    async def _claim(self, uow: UnitOfWork, incoming: Incoming, now: datetime) -> bool:
        """Mark the update applied in this transaction; False if it already was."""
        assert incoming.update_id is not None
        if incoming.update_id % PRUNE_EVERY == 0:
            await uow.processed_updates.prune(now - PROCESSED_KEPT)
        return await uow.processed_updates.claim(incoming.channel, incoming.update_id, now)

    def _context(self, locale: str, viewer: Viewer) -> Context:
        return Context(
            texts=Texts(locale),
            viewer=viewer,
            directory=self._directory(),
            tz=self.env.tz,
            policy=self.env.policy,
        )

    async def defer(self, channel: str, external_id: str, replies: list[Reply]) -> int:
        """Queue answers the channel could not deliver just now (an outage); returns how many.

        The answer was already committed, so it must not be lost with the failed request: the
        outbox dispatcher sends it when the channel is back, with its retries and backoff, in
        order after anything queued for that chat before. Files cannot wait in the outbox; their
        text goes, and the person can ask again.
        """
        now = self._clock.now()
        queued = 0
        async with UnitOfWork(self._database) as uow:
            found = await uow.users.by_identity(channel, external_id)
            user_id = found[0].id if found else None
            for reply in replies:
                if reply.attachment is not None:
                    log.warning(
                        "conversation.deferred_without_file", channel=channel, file=reply.attachment.filename
                    )
                if not reply.text.strip():
                    continue
                await uow.outbox.add(
                    channel=channel, chat_id=external_id, payload=reply.to_json(), now=now, user_id=user_id
                )
                queued += 1
            await uow.commit()
        return queued

    async def inbox(self, channel: str, external_id: str) -> list[Reply]:
        """Messages queued for someone reached through a pull channel (the web chat), oldest first."""
        async with UnitOfWork(self._database) as uow:
            rows = await uow.outbox.take_for_chat(channel, external_id, self._clock.now())
            await uow.commit()
        return [
            Reply(
                str(r.payload.get("text", "")),
                tuple(
                    tuple(Button(b["label"], b["action"]) for b in row)
                    for row in r.payload.get("buttons") or []
                ),
            )
            for r in rows
        ]

    async def remember_menu(self, identity_id: int, menu_key: str) -> None:
        async with UnitOfWork(self._database) as uow:
            await uow.users.set_menu_key(identity_id, menu_key)
            await uow.commit()
