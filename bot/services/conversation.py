"""Handle one incoming event: load the user and their dialog, run the pure engine, store, commit.

Replies are returned only after the commit, so the user is never told something the database
does not hold. A concurrent change to the same user's dialog (another process, a double tap)
is detected by the version column and the whole event is retried on fresh state.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from weakref import WeakValueDictionary

import structlog
from sqlalchemy.exc import IntegrityError

from bot.clock import Clock
from bot.services.viewer import viewer_of
from dialogs import menus, router
from dialogs.context import Context, Viewer
from dialogs.directory import OrgDirectory
from dialogs.events import Command, Event, Press, parse_text
from dialogs.replies import Effect, RegisterUser, Reply
from dialogs.state import DialogState
from dialogs.texts import Texts, normalize_locale
from storage.database import Database
from storage.errors import ConcurrentUpdate
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)

MAX_ATTEMPTS = 4


@dataclass(frozen=True, slots=True)
class Incoming:
    channel: str
    external_id: str
    event: Event
    display_name: str | None = None
    language_code: str | None = None


@dataclass(slots=True)
class Handled:
    replies: list[Reply]
    viewer: Viewer = field(default_factory=Viewer)
    identity_id: int | None = None
    menu: list[menus.MenuCommand] = field(default_factory=list)
    menu_key: str = ""
    stored_menu_key: str | None = None
    locale: str = "zh_CN"

    @property
    def menu_changed(self) -> bool:
        return self.menu_key != self.stored_menu_key


# A command answered from the database rather than by the pure router.
CommandHandler = Callable[[UnitOfWork, Context, Command], Awaitable[list[Reply]]]


class ConversationService:
    def __init__(self, database: Database, directory: Callable[[], OrgDirectory], clock: Clock) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock
        self._commands: dict[str, CommandHandler] = {}
        # One lock per user and process: events of one user are handled in order.
        self._locks: WeakValueDictionary[str, asyncio.Lock] = WeakValueDictionary()

    def add_command(self, name: str, handler: CommandHandler) -> None:
        if not menus.is_known(name):
            raise ValueError(f"/{name} is not declared in dialogs.menus.COMMANDS")
        self._commands[name] = handler

    async def handle(self, incoming: Incoming) -> Handled:
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
                    return self._apology(incoming, "error.internal")
            return self._apology(incoming, "error.busy")

    def _apology(self, incoming: Incoming, key: str) -> Handled:
        texts = Texts(normalize_locale(incoming.language_code))
        return Handled(replies=[Reply(texts(key))])

    async def _handle_once(self, incoming: Incoming) -> Handled:
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            found = await uow.users.by_identity(incoming.channel, incoming.external_id)
            if found is None:
                try:
                    found = await uow.users.create(
                        channel=incoming.channel,
                        external_id=incoming.external_id,
                        now=now,
                        locale=normalize_locale(incoming.language_code),
                        display_name=incoming.display_name,
                    )
                except IntegrityError as exc:
                    raise ConcurrentUpdate("identity created concurrently") from exc
            user, identity = found
            assert user.id is not None and identity.id is not None
            viewer = viewer_of(user, await uow.users.roles(user.id))
            ctx = Context(texts=Texts(user.locale), viewer=viewer, directory=self._directory())

            event = incoming.event
            if isinstance(event, Press) and event.action.startswith("/"):
                event = parse_text(event.at, event.action)
            if (
                isinstance(event, Command)
                and event.name in self._commands
                and menus.allowed(event.name, viewer)
            ):
                replies = await self._commands[event.name](uow, ctx, event)
                await uow.commit()
            else:
                replies = await self._run_dialog(uow, user.id, ctx, event, now)
                user_after = await uow.users.get(user.id)
                assert user_after is not None
                viewer = viewer_of(user_after, await uow.users.roles(user.id))
                await uow.commit()
        menu = menus.commands_for(viewer)
        return Handled(
            replies=replies,
            viewer=viewer,
            identity_id=identity.id,
            menu=menu,
            menu_key=menus.menu_key(viewer),
            stored_menu_key=identity.menu_key,
            locale=user.locale,
        )

    async def _run_dialog(
        self, uow: UnitOfWork, user_id: int, ctx: Context, event: Event, now: datetime
    ) -> list[Reply]:
        loaded = await uow.dialog_states.load(user_id)
        state = DialogState.from_json(loaded[0]) if loaded else None
        result = router.route(state, event, ctx)
        for effect in result.outcome.effects:
            await self._apply(uow, user_id, effect, now)
        if result.state is not None:
            await uow.dialog_states.save(
                user_id, result.state.to_json(), expected_version=loaded[1] if loaded else None, now=now
            )
        elif loaded is not None:
            await uow.dialog_states.delete(user_id, expected_version=loaded[1])
        return result.outcome.replies

    async def _apply(self, uow: UnitOfWork, user_id: int, effect: Effect, now: datetime) -> None:
        if isinstance(effect, RegisterUser):
            user = await uow.users.get(user_id)
            assert user is not None
            was_registered = user.registered_at is not None
            user.name = effect.name
            user.unit_code = effect.unit_code
            user.position = effect.position
            user.registered_at = user.registered_at or now
            user.updated_at = now
            uow.session.add(user)
            uow.audit.record(
                at=now,
                action="user.registered" if not was_registered else "user.profile_updated",
                subject_type="user",
                subject_id=user_id,
                actor_user_id=user_id,
                data={"unit_code": effect.unit_code, "position": effect.position},
            )
            return
        raise TypeError(f"no handler for effect {type(effect).__name__}")

    async def remember_menu(self, identity_id: int, menu_key: str) -> None:
        async with UnitOfWork(self._database) as uow:
            await uow.users.set_menu_key(identity_id, menu_key)
            await uow.commit()
