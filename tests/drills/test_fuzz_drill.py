"""Fuzz drill (issue 10): random updates posted to the program's Telegram webhook.

    .venv/bin/pytest tests/drills/test_fuzz_drill.py -q -s                        # CI size
    RONGCUO_DRILLS=full .venv/bin/pytest tests/drills/test_fuzz_drill.py -q -s    # 100,000 updates
    RONGCUO_FUZZ_SEED=1234 ...             # replay a seed (the outbox's timing can make it drift)
    RONGCUO_FUZZ_UPDATES=10000 ...         # any other size
    RONGCUO_FUZZ_KNOWN=0 ...               # leave out what the fuzz found (KNOWN_FAILURES, fixed)

The program runs as `rongcuo run` wires it in webhook mode (the web app with the webhook route,
the PTB Application without an Updater, the outbox dispatcher) on a real port, against the Bot API
emulator. The test plays Telegram: it posts each update itself, so it can also post what Telegram
never would. A seeded generator (tests/drills/fuzz_updates.py) mixes texts of every size and
alphabet, every message type, edited messages, commands with odd arguments, commands outside the
sender's role, forged ids, real and forged button presses, updates the bot never asks for,
malformed bodies and wrong secrets, from an administrator, officers of two counties, cadres and
people who never registered.

Afterwards: nothing was logged as failed and PTB's error handler never ran; every private message
got an answer and every press an answerCallbackQuery; every malformed body got a 4xx; every command
outside the sender's role was refused politely; and the database holds no role, decision, review,
rectification, visit, export or invitation made by someone without the role, nor did a filing's
title reach anyone who may not read it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import structlog
from aiohttp import web
from sqlalchemy import select
from telegram import Update
from telegram.ext import ContextTypes, TypeHandler

from bot.channels import webhook
from bot.channels.telegram import TelegramChannel, build_application
from bot.channels.web import MAX_BODY, create_web_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime, start_delivery
from bot.services.files import telegram_reader
from dialogs.texts import LOCALES, Texts
from storage.models import (
    AuditEntry,
    Filing,
    FilingMessage,
    Invitation,
    OutboxMessage,
    RectificationItem,
    ReturnVisit,
    ToleranceReview,
    UserIdentity,
    UserRole,
)
from storage.uow import UnitOfWork
from tests.db.talker import Talker
from tests.drills.conftest import pick
from tests.drills.fuzz_updates import (
    ANSWER,
    KNOWN_FAILURES,
    PRESS,
    QUIET,
    REJECTED,
    TOLERATED,
    FuzzGenerator,
    Person,
    Planned,
    Targets,
)
from tests.e2e.telegram_harness import emulator_running, free_port
from tests.emulator import BotApiEmulator, message_text

UPDATES = int(os.environ.get("RONGCUO_FUZZ_UPDATES") or pick(1_500, 100_000))
# Seconds per update the slowest engine may take, generously, plus setup: the pytest timeout.
TIMEOUT = int(120 + UPDATES * 0.1)
SECRET = "fuzz-drill-secret"
PATH = webhook.PATH_PREFIX + webhook.path_secret(SECRET)
HEADERS = {webhook.HEADER: webhook.header_token(SECRET)}
# Titles nobody but the filer and the officers of the filing's county may ever read (nor may the
# titles of the filings FILERS add during the drill).
SECRET_TITLES = {
    1001: "甲号盘活土地试点项目",
    1002: "乙号厂房改造试点项目",
    1003: "丙号园区招商试点项目",
}
DRAFT_TITLE = "丁号草稿保密项目"

ADMIN, OFFICER_SM, OFFICER_AN = 9001, 2001, 2003
SONGMING, ANNING = "530127", "530181"


def cast() -> list[Person]:
    return [
        Person(ADMIN, "admin", "李管"),
        Person(OFFICER_SM, "officer", "王纪"),  # of 嵩明 (SONGMING)
        Person(OFFICER_AN, "officer", "钱监"),  # of 安宁 (ANNING)
        Person(1001, "cadre", "张三"),
        Person(1002, "cadre", "李四"),
        Person(1003, "cadre", "赵五"),
        *(Person(3000 + n, "stranger", f"路人{n}") for n in range(1, 5)),
    ]


# ---- the program ----------------------------------------------------------------------------------


class FlowingClock(ManualClock):
    """The fixture's Monday morning, moving on in real time. The outbox dispatcher defers a row
    by a second or more when it must wait; under a frozen clock such a row never falls due again,
    and neither does anything queued behind it for the same chat."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._began = time.monotonic()

    def now(self) -> datetime:
        return super().now() + timedelta(seconds=time.monotonic() - self._began)


@dataclass
class Mark:
    """One update as the application handled it: counters of the emulator before and after."""

    chat_id: int | None
    sent_before: int
    calls_before: int
    logs_before: int
    sent_after: int = -1
    calls_after: int = -1
    logs_after: int = -1
    new_message_ids: list[int] = field(default_factory=list)


class Observer:
    """Two handlers around the bot's own (groups -1 and 1): which Bot API calls each update caused.

    The Application handles one update at a time (concurrent_updates is 1), so the calls between
    an update's two marks are its own, but for the outbox dispatcher's and report jobs' sends,
    which run beside it; the drill subtracts the dispatcher's by their message ids.
    """

    def __init__(self, emulator: BotApiEmulator, events: list[dict[str, Any]]) -> None:
        self.emulator = emulator
        self.events = events  # the captured log, so errors can be laid at an update's door
        self.marks: dict[int, Mark] = {}
        self.handled = 0
        self.changed = asyncio.Event()

    def _sent(self, chat_id: int | None) -> int:
        chat = self.emulator._chats.get(chat_id) if chat_id is not None else None
        return len(chat.outgoing_ids) if chat is not None else 0

    async def start(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert isinstance(update, Update)
        chat = update.effective_chat
        user = update.effective_user
        chat_id = chat.id if chat is not None else user.id if user is not None else None
        self.marks[update.update_id] = Mark(
            chat_id, self._sent(chat_id), len(self.emulator.calls), len(self.events)
        )

    async def end(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert isinstance(update, Update)
        mark = self.marks[update.update_id]
        mark.sent_after, mark.calls_after = self._sent(mark.chat_id), len(self.emulator.calls)
        mark.logs_after = len(self.events)
        if mark.chat_id is not None and mark.sent_after > mark.sent_before:
            chat = self.emulator._chats[mark.chat_id]
            mark.new_message_ids = chat.outgoing_ids[mark.sent_before : mark.sent_after]
        self.handled += 1
        self.changed.set()

    async def wait_handled(self, count: int, timeout: float) -> None:
        """Until `count` updates have been handled in all."""
        async with asyncio.timeout(timeout):
            while self.handled < count:
                self.changed.clear()
                await self.changed.wait()


@dataclass
class Program:
    runtime: Runtime
    url: str
    observer: Observer
    start_delivery: Callable[[], None]  # the outbox dispatcher, once every chat is open


@asynccontextmanager
async def webhook_program(
    emulator: BotApiEmulator,
    database_url: str,
    data_dir: Path,
    clock: ManualClock,
    events: list[dict[str, Any]],
) -> AsyncIterator[Program]:
    """What `serve()` runs in webhook mode, less the scheduler, with the test's clock.

    The hook is not registered with the emulator: the test delivers every update itself.
    """
    port = free_port()
    settings = load_settings(
        database_url=database_url,
        data_dir=data_dir,
        telegram_token=emulator.token,
        telegram_api_url=emulator.base_url,
        telegram_file_url=emulator.base_file_url,
        telegram_mode="webhook",
        webhook_url=f"http://127.0.0.1:{port}/",
        webhook_secret=SECRET,
        http_port=port,
    )
    runtime = await build_runtime(settings, clock)
    app = create_web_app(
        runtime.conversations,
        runtime.database,
        runtime.clock,
        "fuzz-web-secret",
        data_dir / "uploads",
        invitations=runtime.invitations,
    )
    application = build_application(emulator.token, emulator.base_url, emulator.base_file_url, polling=False)
    channel = TelegramChannel(application, runtime.conversations, runtime.clock)
    observer = Observer(emulator, events)
    application.add_handler(TypeHandler(Update, observer.start), group=-1)
    application.add_handler(TypeHandler(Update, observer.end), group=1)
    webhook.install(app, application, SECRET)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    runtime.files.telegram = telegram_reader(application.bot)
    await channel.start(polling=False)
    stop = asyncio.Event()
    delivery: list[asyncio.Task[None]] = []

    def deliver() -> None:
        delivery.append(start_delivery(runtime, application.bot, stop))

    try:
        yield Program(runtime, f"http://127.0.0.1:{port}", observer, deliver)
    finally:
        stop.set()
        for task in delivery:
            await task
        await channel.stop()
        await runner.cleanup()
        await runtime.database.dispose()


# ---- the people and what they filed --------------------------------------------------------------

# Two filers outside the fuzzed cast: their filings keep arriving during the drill, so officers
# always have notices to press and everyone else has fresh ids of other people's filings to forge.
FILERS = (Person(1101, "cadre", "孙六"), Person(1102, "cadre", "周七"))
TOPUP_EVERY = 250


async def register_cast(runtime: Runtime, clock: ManualClock) -> dict[int, Talker]:
    """Roles and registrations, through the conversation service as the channel would."""
    await runtime.admin.grant(ADMIN, "admin", None, by="drill-setup")
    await runtime.admin.grant(OFFICER_SM, "officer", SONGMING, by="drill-setup")
    await runtime.admin.grant(OFFICER_AN, "officer", ANNING, by="drill-setup")
    talkers: dict[int, Talker] = {}
    for person in (*cast(), *FILERS):
        if person.role == "stranger":
            continue
        talker = talkers[person.telegram_id] = Talker(runtime, clock, str(person.telegram_id))
        if person.telegram_id in (OFFICER_AN, 1003, 1102):
            await talker.register(person.name, "安宁市", "连然街道办事处")
        else:
            await talker.register(person.name)
    return talkers


async def submit(talker: Talker, title: str) -> None:
    await talker.fill_prefiling(title)
    assert "已提交" in await talker.press("✅ 确认无误，提交报备")


async def seed(runtime: Runtime, clock: ManualClock) -> tuple[Targets, dict[int, Talker]]:
    talkers = await register_cast(runtime, clock)
    for telegram_id, title in SECRET_TITLES.items():
        await submit(talkers[telegram_id], title)
    targets = await known_filings(runtime, Targets())
    by_title = {title: filing_id for filing_id, title in targets.titles.items()}
    # 李四's filing is accepted, so rectification, visits and closing have something to act on.
    officer = talkers[OFFICER_SM]
    await officer.text(f"/accept {by_title[SECRET_TITLES[1002]]}")
    await officer.press("🔴 红色：高风险，需报告关键节点进展")
    await officer.press("跳过")
    assert "容受" in await officer.press("✅ 确认受理")
    # And a draft nobody else may see.
    draft = talkers[1002]
    await draft.text("/new")
    await draft.press("个人报备")
    await draft.text(DRAFT_TITLE)
    await draft.text("/cancel")
    return await known_filings(runtime, targets), talkers


async def known_filings(runtime: Runtime, targets: Targets) -> Targets:
    """Add every filing in the database to what the generator may forge commands against."""
    async with UnitOfWork(runtime.database) as uow:
        filings = (await uow.session.execute(select(Filing).order_by(Filing.id))).scalars().all()
    for filing in filings:
        assert filing.id is not None
        if filing.id not in targets.owners:
            targets.filing_ids.append(filing.id)
            targets.owners[filing.id] = filing.user_id
            targets.titles[filing.id] = filing.title or ""
            if filing.number:
                targets.filing_numbers.append(filing.number)
    return targets


# ---- logs -----------------------------------------------------------------------------------------


class Failures(logging.Handler):
    """Standard-library records at ERROR and above: aiohttp's 500s, asyncio's lost task errors."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@asynccontextmanager
async def watched_logs() -> AsyncIterator[tuple[list[dict[str, Any]], Failures]]:
    failures = Failures()
    root = logging.getLogger()
    root.addHandler(failures)
    try:
        with structlog.testing.capture_logs() as events:
            yield events, failures
    finally:
        root.removeHandler(failures)


def failed(event: dict[str, Any]) -> bool:
    return event.get("log_level") in ("error", "critical", "exception")


def describe(event: dict[str, Any]) -> str:
    return f"{event.get('event')}: {event.get('error') or event.get('exc_info') or ''}"[:300]


# ---- the run ----------------------------------------------------------------------------------------


@dataclass
class Posted:
    planned: Planned
    status: int
    seconds: float = 0.0  # from the POST until the application had handled it


async def post(session: aiohttp.ClientSession, base: str, planned: Planned) -> int:
    path = planned.path or PATH
    headers = dict(HEADERS if planned.headers is None else planned.headers)
    if path == "swap":
        path = webhook.PATH_PREFIX + webhook.header_token(SECRET)
        headers = {webhook.HEADER: webhook.path_secret(SECRET)}
    headers["Content-Type"] = planned.content_type
    async with session.request(planned.method, base + path, data=planned.body, headers=headers) as response:
        await response.read()
        return response.status


def bot_messages(emulator: BotApiEmulator, chat_id: int, last: int = 12) -> list[dict[str, Any]]:
    """The newest bot messages of a chat, as the person sees them (for presses)."""
    chat = emulator._chats.get(chat_id)
    if chat is None:
        return []
    return [chat.messages[mid].data for mid in chat.outgoing_ids[-last:] if not chat.messages[mid].deleted]


def seed_value() -> int:
    configured = os.environ.get("RONGCUO_FUZZ_SEED")
    return int(configured) if configured else random.SystemRandom().randrange(2**32)


@pytest.mark.timeout(TIMEOUT)
async def test_fuzz_drill(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    clock = FlowingClock(clock.now())
    seed_used = seed_value()
    print(f"\nfuzz seed {seed_used} (replay: RONGCUO_FUZZ_SEED={seed_used}), {UPDATES} updates")
    rng = random.Random(seed_used)
    people = cast()
    async with (
        watched_logs() as (events, failures),
        emulator_running() as emulator,
        webhook_program(emulator, database_url, tmp_path / "data", clock, events) as program,
    ):
        runtime = program.runtime
        targets, talkers = await seed(runtime, clock)
        roles_before = await role_rows(runtime)
        audit_start = await max_audit_id(runtime)
        generator = FuzzGenerator(
            rng,
            emulator,
            people,
            targets,
            bot_messages=lambda chat_id: bot_messages(emulator, chat_id),
            max_body=MAX_BODY,
            known_failures=os.environ.get("RONGCUO_FUZZ_KNOWN", "1") != "0",
        )
        observer = program.observer
        posted: list[Posted] = []
        accepted = 0
        guarded = {*SECRET_TITLES.values(), DRAFT_TITLE}

        async def send(planned: Planned) -> None:
            nonlocal accepted
            began = time.monotonic()
            status = await post(session, program.url, planned)
            accepted += status == 200
            # Telegram sends a chat's next update only once the webhook has answered; waiting
            # for the handling as well keeps a seed's run close to its replay.
            await observer.wait_handled(accepted, 60)
            posted.append(Posted(planned, status, time.monotonic() - began))

        started = time.monotonic()
        async with aiohttp.ClientSession() as session:
            # Everyone opens the chat first: Telegram lets a bot write only to people who did.
            for person in (*people, *FILERS):
                emulator.user(person.telegram_id, first_name=person.name, language_code="zh-hans")
                await send(generator.typed("open", person, "/start"))
            program.start_delivery()
            for n in range(UPDATES):
                if n % TOPUP_EVERY == TOPUP_EVERY - 1:
                    filer = FILERS[(n // TOPUP_EVERY) % len(FILERS)]
                    guarded.add(f"第{n}号常规盘活项目")
                    await submit(talkers[filer.telegram_id], f"第{n}号常规盘活项目")
                    await known_filings(runtime, targets)
                await send(generator.next())
            await outbox_drained(runtime)
        duration = time.monotonic() - started
        errors_metric = {
            where: runtime.metrics.registry.get_sample_value("rongcuo_errors_total", {"where": where}) or 0
            for where in ("telegram", "conversation")
        }
        report = await analyse(
            program, emulator, posted, people, targets, roles_before, audit_start, events, guarded
        )
    summary(report, posted, duration, seed_used)
    problems = report.problems
    problems += [
        f"logged outside any update: {describe(e)}" for e in events if failed(e) and not e.get("_seen")
    ]
    problems += [f"stdlib log: {r.name}: {r.getMessage()}" for r in failures.records]
    problems += [f"error counter {k} = {v}" for k, v in errors_metric.items() if v]
    problems += [f"emulator bug: {e!r}" for e in emulator.internal_errors]
    assert not problems, f"seed {seed_used}: {len(problems)} problem(s):\n" + "\n".join(problems[:40])


async def outbox_drained(runtime: Runtime, timeout: float = 30) -> None:
    """Notices the drill caused are delivered (or given up) before the program stops."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        async with UnitOfWork(runtime.database) as uow:
            rows = (
                (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.status == "pending")))
                .scalars()
                .all()
            )
        if not [r for r in rows if r.channel == "telegram" and r.next_attempt_at <= runtime.clock.now()]:
            return
        await asyncio.sleep(0.1)


# ---- analysis -------------------------------------------------------------------------------------


@dataclass
class Report:
    problems: list[str] = field(default_factory=list)
    answered: int = 0
    presses_answered: int = 0
    refused: int = 0
    rejected: int = 0
    quiet: int = 0
    api_errors: Counter[str] = field(default_factory=Counter)
    audit_actions: Counter[str] = field(default_factory=Counter)
    filing_statuses: Counter[str] = field(default_factory=Counter)


def refusals(command: str) -> list[str]:
    """What refusing `/command` says, in each language a person may have chosen with /lang: that
    the role is missing or, to someone not (yet) registered, that registration comes first."""
    said: list[str] = []
    for locale in LOCALES:
        texts = Texts(locale)
        said += [texts("router.not_allowed", command=command), texts("router.register_first")]
    return said


async def role_rows(runtime: Runtime) -> set[tuple[int, str, str]]:
    async with UnitOfWork(runtime.database) as uow:
        return {(r.user_id, r.role, r.jurisdiction_code) for r in await all_roles(uow)}


async def max_audit_id(runtime: Runtime) -> int:
    async with UnitOfWork(runtime.database) as uow:
        rows = (await uow.session.execute(select(AuditEntry.id))).scalars().all()
    return max(rows, default=0)


# Audit actions and who alone may cause them.
OFFICER_ACTIONS = (
    "filing.accepted",
    "filing.not_accepted",
    "filing.returned",
    "filing.closed",
    "review.",
    "visits.planned",
    "visit.recorded",
)
ADMIN_ACTIONS = ("role.", "invitation.created", "jurisdiction.configured", "directory.")
REFUSALS = ("access.denied", "rectification.refused", "link.failed")


async def analyse(
    program: Program,
    emulator: BotApiEmulator,
    posted: list[Posted],
    people: list[Person],
    targets: Targets,
    roles_before: set[tuple[int, str, str]],
    audit_start: int,
    events: list[dict[str, Any]],
    guarded: set[str],
) -> Report:
    report = Report()
    runtime = program.runtime
    marks = program.observer.marks
    async with UnitOfWork(runtime.database) as uow:
        outbox = (await uow.session.execute(select(OutboxMessage))).scalars().all()
        identities = (await uow.session.execute(select(UserIdentity))).scalars().all()
        filings = (await uow.session.execute(select(Filing))).scalars().all()
        reviews = (await uow.session.execute(select(ToleranceReview))).scalars().all()
        items = (await uow.session.execute(select(RectificationItem))).scalars().all()
        visits = (await uow.session.execute(select(ReturnVisit))).scalars().all()
        invitations = (await uow.session.execute(select(Invitation))).scalars().all()
        messages = (await uow.session.execute(select(FilingMessage))).scalars().all()
        audit = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.id > audit_start))).scalars().all()
        )
        roles_after = {(r.user_id, r.role, r.jurisdiction_code) for r in await all_roles(uow)}
    notices = {(r.chat_id, r.external_message_id) for r in outbox if r.external_message_id}
    answered_queries = {
        p.get("callback_query_id") for name, p in emulator.calls if name == "answerCallbackQuery"
    }
    apologies = [Texts(locale)("error.internal") for locale in LOCALES]

    def replies(mark: Mark) -> tuple[list[str], int]:
        """Texts of the update's own new messages, and how many edits it made in its chat."""
        chat = emulator._chats.get(mark.chat_id) if mark.chat_id is not None else None
        texts = []
        for mid in mark.new_message_ids:
            if (str(mark.chat_id), str(mid)) in notices:
                continue  # the outbox dispatcher's, running beside the handler
            data = chat.messages[mid].data if chat is not None else {}
            texts.append(str(data.get("text") or data.get("caption") or "[file]"))
        edits = 0
        for name, params in emulator.calls[mark.calls_before : mark.calls_after]:
            if name.startswith("editMessage") and params.get("chat_id") == mark.chat_id:
                edits += 1
        return texts, edits

    for item in posted:
        planned, status = item.planned, item.status
        who = planned.person.telegram_id if planned.person else "-"
        where = f"{planned.kind} (update {planned.update_id}, from {who}, body {planned.body[:160]!r})"
        if planned.expect == REJECTED or (planned.expect == TOLERATED and status != 200):
            if 400 <= status < 500:
                report.rejected += 1
            else:
                report.problems.append(f"{where}: status {status} for a body that is not an update")
            continue
        if status != 200:
            report.problems.append(f"{where}: status {status}")
            continue
        mark = marks.get(planned.update_id or -1)
        if mark is None or mark.calls_after < 0:
            report.problems.append(f"{where}: accepted but never handled")
            continue
        for event in events[mark.logs_before : mark.logs_after]:
            if failed(event):
                event["_seen"] = True
                report.problems.append(f"{where}: logged {describe(event)}")
        texts, edits = replies(mark)
        if any(apology in text for text in texts for apology in apologies):
            report.problems.append(f"{where}: answered with the internal-error apology")
        if planned.expect == TOLERATED:
            report.quiet += not texts and not edits
            continue
        if planned.expect == QUIET:
            if texts or edits:
                report.problems.append(f"{where}: answered an update it should leave alone: {texts[:1]}")
            else:
                report.quiet += 1
            continue
        if planned.expect == PRESS:
            if planned.callback_id in answered_queries:
                report.presses_answered += 1
            else:
                report.problems.append(f"{where}: the press was never answered (answerCallbackQuery)")
        if not texts and not edits:
            if planned.needs_reply:
                report.problems.append(f"{where}: no reply")
        elif planned.expect == ANSWER:
            report.answered += 1
        if planned.refused_command is not None:
            said = refusals(planned.refused_command)
            if any(r in text for text in texts for r in said):
                report.refused += 1
            else:
                report.problems.append(
                    f"{where}: /{planned.refused_command} outside the role was not refused: {texts[:2]}"
                )

    for error in emulator.errors:
        report.api_errors[f"{error.method} {error.status} {error.description[:60]}"] += 1
    # The bot edits a message to mark the pressed button, which a press on a message that does
    # not exist (or on an unchanged toggle) makes Telegram refuse; answering an invented callback
    # query fails the same way. An admin's directory file (an import) is fetched with getFile, and
    # only Telegram can tell an invented file id: it refuses it, and the admin is told the file
    # could not be read (seed 1029327903). Every other refusal means the bot sent what Telegram
    # rejects.
    expected_errors = (
        "answerCallbackQuery 400",
        "editMessageText 400",
        "editMessageReplyMarkup 400",
        "getFile 400",
    )
    report.problems += [
        f"Bot API error: {key} x{count}"
        for key, count in report.api_errors.items()
        if not key.startswith(expected_errors)
    ]

    # ---- authorization, from what the database holds ----
    user_of = {int(i.external_id): i.user_id for i in identities if i.channel == "telegram"}
    officers: dict[str, set[int]] = {}
    admins: set[int] = set()
    for user_id, role, code in roles_before:
        if role == "officer":
            officers.setdefault(code, set()).add(user_id)
        if role == "admin":
            admins.add(user_id)
    if roles_after != roles_before:
        report.problems.append(f"roles changed: {sorted(roles_after ^ roles_before)}")
    filing_by_id = {f.id: f for f in filings}
    review_filing = {r.id: r.filing_id for r in reviews}
    item_by_id = {i.id: i for i in items}
    visit_filing = {v.id: v.filing_id for v in visits}

    def filing_of(entry: AuditEntry) -> Filing | None:
        if not entry.subject_id.isdigit():
            return None
        number = int(entry.subject_id)
        found = {
            "filing": number,
            "review": review_filing.get(number),
            "rectification_item": item_by_id[number].filing_id if number in item_by_id else None,
            "return_visit": visit_filing.get(number),
        }.get(entry.subject_type)
        return filing_by_id.get(found) if found is not None else None

    report.audit_actions.update(e.action for e in audit)
    report.filing_statuses.update(f.status for f in filings)
    for entry in audit:
        actor, action = entry.actor_user_id, entry.action
        if action in REFUSALS or action.startswith(("identity.", "user.")):
            continue
        label = f"audit #{entry.id} {action} {entry.subject_type}:{entry.subject_id} by user {actor}"
        if action.startswith(ADMIN_ACTIONS):
            if actor not in admins:
                report.problems.append(f"{label}: not an administrator")
            continue
        if action.startswith("export."):
            served = {code for code, ids in officers.items() if actor in ids}
            if actor not in admins and not (served and set(entry.subject_id.split(",")) <= served):
                report.problems.append(f"{label}: not an officer of every county exported")
            continue
        filing = filing_of(entry)
        if filing is None and action == "draft.deleted":
            # The row went with the draft; its owner is known if it existed when last listed.
            owner = targets.owners.get(int(entry.subject_id))
            if owner is not None and owner != actor:
                report.problems.append(f"{label}: deleted a draft of user {owner}")
            continue
        if filing is None:
            report.problems.append(f"{label}: names no filing")
            continue
        is_officer = actor in officers.get(filing.jurisdiction_code or "", set())
        if action.startswith(OFFICER_ACTIONS):
            if not is_officer:
                report.problems.append(f"{label}: not an officer of {filing.jurisdiction_code}")
            continue
        item = item_by_id.get(int(entry.subject_id)) if entry.subject_type == "rectification_item" else None
        if not (is_officer or actor == filing.user_id or (item is not None and actor == item.owner_user_id)):
            report.problems.append(f"{label}: neither the filer nor an officer of {filing.jurisdiction_code}")

    # The tables agree: every officer's act was an officer's of the filing's county.
    def officer_of(filing_id: int, user_id: int | None) -> bool:
        filing = filing_by_id.get(filing_id)
        return filing is not None and user_id in officers.get(filing.jurisdiction_code or "", set())

    acts = [
        *((f"filing {f.id} reviewed", f.id, f.reviewed_by) for f in filings if f.reviewed_by is not None),
        *((f"review {r.id} opened", r.filing_id, r.opened_by) for r in reviews),
        *((f"rectification item {i.id} created", i.filing_id, i.created_by) for i in items),
        *(
            (f"visit {v.id} recorded", v.filing_id, v.recorded_by)
            for v in visits
            if v.recorded_by is not None
        ),
    ]
    for what, filing_id, user_id in acts:
        if not officer_of(filing_id or 0, user_id):
            report.problems.append(f"{what} by user {user_id}, not an officer of its county")
    for message in messages:
        filing = filing_by_id.get(message.filing_id)
        owners = {i.owner_user_id for i in items if i.filing_id == message.filing_id}
        if filing is None or not (
            officer_of(message.filing_id, message.author_user_id)
            or message.author_user_id in {filing.user_id, *owners}
        ):
            report.problems.append(
                f"{message.kind} on filing {message.filing_id} written by user {message.author_user_id}"
            )
    for invitation in invitations:
        creator = invitation.created_by.removeprefix("user:")
        if not (creator.isdigit() and int(creator) in admins):
            report.problems.append(f"invitation {invitation.id} created by {invitation.created_by}")

    # ---- no title reached a chat whose person may not read the filing ----
    shown: dict[int, str] = {}
    for person in people:
        chat = emulator._chats.get(person.telegram_id)
        shown[person.telegram_id] = "\n".join(
            str(chat.messages[mid].data.get("text") or chat.messages[mid].data.get("caption") or "")
            for mid in (chat.outgoing_ids if chat is not None else [])
        )
    for filing in filings:
        if filing.title not in guarded:
            continue  # a title the fuzz typed may well be a word every chat shows
        readers = {filing.user_id} | {i.owner_user_id for i in items if i.filing_id == filing.id}
        if filing.status != "draft":
            readers |= officers.get(filing.jurisdiction_code or "", set())
        for person in people:
            if user_of.get(person.telegram_id) in readers or person.role == "admin":
                continue  # an administrator reads the audit trail, titles included
            if filing.title in shown[person.telegram_id]:
                report.problems.append(
                    f"{person.name} ({person.role}) was shown the title of filing {filing.id}"
                )
    return report


async def all_roles(uow: UnitOfWork) -> list[UserRole]:
    return list((await uow.session.execute(select(UserRole))).scalars().all())


def summary(report: Report, posted: list[Posted], duration: float, seed_used: int) -> None:
    kinds = Counter(p.planned.kind.split(":")[0] for p in posted)
    print(f"fuzz seed {seed_used}: {len(posted)} posts in {duration:.1f} s ({len(posted) / duration:.0f}/s)")
    print("  by kind: " + ", ".join(f"{k} {v}" for k, v in sorted(kinds.items())))
    detail = Counter(p.planned.kind for p in posted if ":" in p.planned.kind)
    print("  shapes: " + ", ".join(f"{k} {v}" for k, v in sorted(detail.items())))
    print(
        f"  answered {report.answered}, presses answered {report.presses_answered}, "
        f"refused politely {report.refused}, 4xx {report.rejected}, left alone {report.quiet}"
    )
    spent: Counter[str] = Counter()
    for p in posted:
        spent[p.planned.kind.split(":")[0]] += p.seconds
    print("  seconds by kind: " + ", ".join(f"{k} {v:.1f}" for k, v in spent.most_common(8)))
    slowest = max(posted, key=lambda p: p.seconds)
    print(f"  slowest: {slowest.planned.kind} {slowest.seconds:.2f} s {slowest.planned.body[:120]!r}")
    statuses = Counter(p.status for p in posted)
    print("  statuses: " + ", ".join(f"{k} {v}" for k, v in sorted(statuses.items())))
    print("  audit entries: " + ", ".join(f"{k} {v}" for k, v in sorted(report.audit_actions.items())))
    print("  filings: " + ", ".join(f"{k} {v}" for k, v in sorted(report.filing_statuses.items())))
    if report.api_errors:
        print("  Bot API errors: " + "; ".join(f"{k} x{v}" for k, v in report.api_errors.most_common()))


# ---- what the fuzz found, one case each -------------------------------------------------------------


@asynccontextmanager
async def one_sender(
    database_url: str, tmp_path: Path, clock: ManualClock, person: Person
) -> AsyncIterator[tuple[Program, BotApiEmulator, list[dict[str, Any]], Any]]:
    """The program in webhook mode with the cast registered and `person`'s chat open."""
    async with (
        watched_logs() as (events, failures),
        emulator_running() as emulator,
        webhook_program(emulator, database_url, tmp_path / "data", clock, events) as program,
    ):
        await register_cast(program.runtime, clock)
        emulator.user(person.telegram_id, first_name=person.name)
        emulator._user_message(person.telegram_id, {"text": "/start"})  # the chat is open
        yield program, emulator, events, failures


@pytest.mark.parametrize("name", list(KNOWN_FAILURES))
async def test_what_the_fuzz_found(name: str, database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    """Each case the fuzz found (all fixed since), posted alone: what the program must do with it."""
    known = KNOWN_FAILURES[name]
    person = next(p for p in cast() if p.role == known.sender)
    update_id = 777_000_001
    async with one_sender(database_url, tmp_path, clock, person) as (program, emulator, events, failures):
        planned = Planned(name, known.expect, known.build(person, update_id), person, update_id)
        async with aiohttp.ClientSession() as session:
            status = await post(session, program.url, planned)
        if status == 200:
            await program.observer.wait_handled(1, 30)
        mark = program.observer.marks.get(update_id)
        errors = program.runtime.metrics.registry.get_sample_value(
            "rongcuo_errors_total", {"where": "telegram"}
        )
        answered = [p for m, p in emulator.calls if m == "answerCallbackQuery"]
        replies = [m for m, p in emulator.calls if m in ("sendMessage", "editMessageText")]
    assert status < 500, f"status {status}"
    assert not [describe(e) for e in events if failed(e)]
    assert not failures.records and not errors
    if known.expect == REJECTED:
        assert 400 <= status < 500
    if known.expect == PRESS and status == 200:
        assert answered, "the press was never answered"
    if known.expect == ANSWER:
        assert status == 200 and mark is not None and replies, "no answer"
        apology = Texts("zh_CN")("error.internal")
        assert not any(apology in message_text(m) for m in emulator.sent(person.telegram_id))


async def test_a_command_that_starts_a_job_is_answered_while_it_is_handled(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    """Found by the full run of seed 1029327903: an admin's /export was answered only from the
    export's own task, after the update counted as handled (and after the person's next update
    could have been answered). The "started" message now goes with the answer to the command."""
    admin = next(p for p in cast() if p.role == "admin")
    update_id = 777_000_002
    update = {
        "update_id": update_id,
        "message": {
            "message_id": 1,
            "date": int(time.time()),
            "chat": {"id": admin.telegram_id, "type": "private", "first_name": admin.name},
            "from": {"id": admin.telegram_id, "is_bot": False, "first_name": admin.name},
            "text": "/export",
            "entities": [{"type": "bot_command", "offset": 0, "length": 7}],
        },
    }
    planned = Planned("command", ANSWER, json.dumps(update).encode(), admin, update_id)
    async with one_sender(database_url, tmp_path, clock, admin) as (program, emulator, _, _):
        async with aiohttp.ClientSession() as session:
            assert await post(session, program.url, planned) == 200
        mark = program.observer.marks[update_id]
        assert mark.calls_after >= 0  # handled when the webhook answered
        sent = [message_text(m) for m in emulator.sent(admin.telegram_id)]
    assert len(mark.new_message_ids) == 1
    assert sent[0].startswith(("正在生成导出文件", "导出文件已生成"))
