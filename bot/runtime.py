"""Wires the program together: database, directory, services, channels; starts and stops them."""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
import socket
from dataclasses import dataclass
from datetime import time, timedelta
from typing import TYPE_CHECKING

import structlog
from aiohttp import web

from bot.channels.web import create_web_app
from bot.channels.web_security import WebSecurity
from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.metrics import Metrics
from bot.quiet_hours import QuietHours
from bot.scheduler import build_scheduler
from bot.services.admin import AdminService
from bot.services.calls import Environment
from bot.services.conversation import ConversationService
from bot.services.delivery_events import DeliveryEvents
from bot.services.digest import send_digests
from bot.services.directory import LiveDirectory, load_directory, read_directory_file, startup_sync
from bot.services.directory_import import DirectoryImports
from bot.services.files import FileStore
from bot.services.invitations import InvitationService, InviteSettings
from bot.services.reminders.tick import ReminderTick, plan_draft_nudges
from bot.services.stats.rollup import ROLLUP_SECONDS, refresh_rollup
from bot.workdays import WorkCalendar
from dialogs.directory import OrgDirectory
from dialogs.flows.admin import CheckDirectoryFile
from dialogs.policy.pack import PolicyPack, load_pack
from storage import migrate
from storage.database import Database
from storage.uow import UnitOfWork

if TYPE_CHECKING:
    # Imported where used: python-telegram-bot and httpx are a fair part of the start-up time,
    # and the program without a token (the web chat alone) never needs them.
    from telegram import Bot

    from bot.channels.telegram import TelegramChannel

log = structlog.get_logger(__name__)
DRAFT_SCAN_SECONDS = 600
DIRECTORY_RELOAD_SECONDS = 60


def secret_key(settings: Settings) -> str:
    """The configured key, or one generated once and kept (owner-only) in the data directory."""
    return settings.secret_key or _kept_secret(settings, "secret.key")


def webhook_secret(settings: Settings) -> str:
    """Like the web key; several processes behind one webhook must share it (set it, or share data_dir)."""
    return settings.webhook_secret or _kept_secret(settings, "webhook.secret")


def _kept_secret(settings: Settings, name: str) -> str:
    path = settings.data_dir / name
    if path.exists():
        return path.read_text().strip()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


@dataclass
class Runtime:
    settings: Settings
    clock: Clock
    database: Database
    live: LiveDirectory
    conversations: ConversationService
    admin: AdminService
    files: FileStore
    invitations: InvitationService | None = None

    @property
    def metrics(self) -> Metrics:
        return self.conversations.metrics

    @property
    def env(self) -> Environment:
        return self.conversations.env

    @property
    def directory(self) -> OrgDirectory:
        # Read at each use: an import replaces it while the program runs.
        return self.live()

    def reminder_tick(self) -> ReminderTick:
        quiet = QuietHours(
            self.env.calendar,
            self.env.tz,
            start=time(self.settings.quiet_start),
            end=time(self.settings.quiet_end),
        )
        return ReminderTick(
            self.database, lambda: self.directory, self.clock, self.env, owner=process_name(), quiet=quiet
        )


def process_name() -> str:
    """Who holds a lease: readable in the database when a process dies holding one."""
    return f"{socket.gethostname()}:{os.getpid()}"


async def open_database(settings: Settings) -> Database:
    database = Database(settings.effective_database_url)
    try:
        await migrate.ensure_current(database, auto_upgrade=settings.uses_embedded_database)
    except BaseException:
        await database.dispose()
        raise
    return database


async def build_runtime(settings: Settings, clock: Clock | None = None) -> Runtime:
    clock = clock or SystemClock()
    # A malformed pack or directory stops the program before anything else happens.
    policy = load_pack(settings.policy_pack)
    file_directory = read_directory_file(settings.org_directory)
    database = await open_database(settings)
    synced = await startup_sync(database, file_directory)
    if synced is None:
        log.info("directory.file_not_synced", reason="a directory was imported; import again to change it")
    elif any(synced):
        log.info("directory.synced", added=synced[0], updated=synced[1], deactivated=synced[2])
    live = LiveDirectory(await load_directory(database))
    env = Environment(policy=policy, calendar=WorkCalendar(settings.workday_overrides), tz=settings.tz)
    await remember_policy(database, policy, clock)
    conversations = ConversationService(database, live, clock, env)
    files = FileStore(settings.data_dir / "uploads")
    imports = DirectoryImports(live, files)
    conversations.add_command("import", imports.command)
    conversations.add_effect(CheckDirectoryFile, imports.received)
    admin = AdminService(database, live, clock)
    invitations = InvitationService(
        database,
        live,
        clock,
        InviteSettings(settings.public_url, timedelta(hours=settings.invite_hours)),
    )
    conversations.add_command("invite", invitations.command)
    return Runtime(settings, clock, database, live, conversations, admin, files, invitations)


async def remember_policy(database: Database, policy: PolicyPack, clock: Clock) -> None:
    """Keep the pack's text, so verdicts stay explainable after the pack is replaced."""
    async with UnitOfWork(database) as uow:
        added = await uow.selfchecks.remember_policy(
            policy_id=policy.id, version=policy.version, content=policy.content, now=clock.now()
        )
        await uow.commit()
    if added:
        log.info("policy.new_version", policy=policy.id, version=policy.version)


def start_delivery(runtime: Runtime, bot: Bot, stop: asyncio.Event) -> asyncio.Task[None]:
    """Deliver the outbox to Telegram until `stop` is set."""
    from bot.delivery.dispatcher import OutboxDispatcher
    from bot.delivery.limiter import RateLimiter

    events = DeliveryEvents(runtime.database, runtime.directory, runtime.clock)
    dispatcher = OutboxDispatcher(
        runtime.database,
        bot,
        runtime.clock,
        owner=process_name(),
        limiter=RateLimiter(global_rate=runtime.settings.send_rate),
        max_attempts=runtime.settings.outbox_max_attempts,
        on_unreachable=events.unreachable,
        on_dead=events.dead,
        metrics=runtime.metrics,
    )
    runtime.metrics.dispatching = True
    return asyncio.create_task(dispatcher.run(stop), name="outbox-dispatcher")


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until SIGINT/SIGTERM (or until `stop` is set): the web channel always, Telegram when configured."""
    runtime = await build_runtime(settings)
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass

    app = create_web_app(
        runtime.conversations,
        runtime.database,
        runtime.clock,
        secret_key(settings),
        settings.data_dir / "uploads",
        security=WebSecurity.from_settings(settings),
        invitations=runtime.invitations,
    )
    telegram: TelegramChannel | None = None
    polling = settings.telegram_mode == "polling"
    if settings.telegram_token:
        from bot.channels import webhook
        from bot.channels.telegram import TelegramChannel, build_application
        from bot.services.files import telegram_reader

        application = build_application(
            settings.telegram_token,
            settings.telegram_api_url,
            settings.effective_file_url,
            polling=polling,
        )
        telegram = TelegramChannel(application, runtime.conversations, runtime.clock)
        if not polling:
            # The route must exist before the server starts: aiohttp freezes the router then.
            webhook.install(app, application, webhook_secret(settings))
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.http_host, settings.http_port)
    await site.start()
    log.info("web.started", url=f"http://{settings.http_host}:{settings.http_port}/")

    dispatching: asyncio.Task[None] | None = None
    try:
        if telegram is not None:
            application = telegram.application
            runtime.files.telegram = telegram_reader(application.bot)
            await telegram.start(polling=polling)
            if not polling:
                assert settings.webhook_url is not None  # the settings refuse webhook mode without it
                await webhook.register(application, settings.webhook_url, webhook_secret(settings))
            dispatching = start_delivery(runtime, application.bot, stop)
        else:
            log.info("telegram.disabled", reason="RONGCUO_TELEGRAM_TOKEN is not set")
        reminders = runtime.reminder_tick()
        scheduler = build_scheduler(
            [
                (
                    "digest",
                    lambda: send_digests(runtime.database, runtime.directory, runtime.clock),
                    settings.digest_minutes * 60,
                ),
                # Reminders that fell due while the program was down go out on the first tick.
                ("reminders", reminders.run, settings.reminder_seconds),
                # An import made by another process (or the command line) reaches this one.
                ("directory", lambda: runtime.live.reload(runtime.database), DIRECTORY_RELOAD_SECONDS),
                (
                    "draft-nudges",
                    lambda: plan_draft_nudges(runtime.database, runtime.clock),
                    DRAFT_SCAN_SECONDS,
                ),
                # Keeps what /stats must refresh before counting down to a slice or two.
                ("stats-rollup", lambda: refresh_rollup(runtime.database, runtime.clock), ROLLUP_SECONDS),
            ],
            runtime.metrics,
        )
        scheduler.start()
        await stop.wait()
        await scheduler.stop()
    finally:
        log.info("shutdown")
        stop.set()
        if dispatching is not None:
            await dispatching
        if telegram is not None:
            await telegram.stop()
        await runner.cleanup()
        await runtime.database.dispose()
