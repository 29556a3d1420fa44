"""Outage drill (issue 10): the Bot API fails for a stretch while filings are submitted and
reminders fall due; afterwards every notification was delivered exactly once.

The real PTB Application and outbox dispatcher run in this process (bot_in_process) against the
Bot API emulator. For the stretch of the outage every sending call (sendMessage, edits, callback
answers) draws a fate from a fixed mix:

- ``502``: Bad Gateway, nothing done;
- ``429``: flood control with retry_after, nothing done;
- ``hang``: the answer never comes and the client gives up before the emulator acts (timeout a);
- ``lost_502`` / ``lost_hang``: Telegram acted (the message is in the chat) but the answer was
  lost, as a 502 or as a timeout (timeout b, the emulator's ``after_effect``).

What holds afterwards, counted from the database and from the emulator's chats:
- every intended notification (each officer of the county for each new filing, each due
  reminder) has one outbox row, sent; no row is left pending or dead;
- each row's text is in its chat exactly once, plus one copy per lost answer on that row: the
  Bot API has no idempotency key, so the dispatcher's retry of a send whose answer was lost is a
  second message (at-least-once, see bot/delivery/dispatcher.py). Timeouts before acting, 502 and
  429 never duplicate;
- every filer ends up knowing their filing number, and holds exactly one filing.

A direct reply that Telegram refuses (timeout, 5xx, 429) is handed to the outbox
(bot/channels/telegram.py `_send`), so it arrives after the outage; those rows carry no dedupe
key and are checked apart: all sent, all to filers. (Before that hand-over, 79-85 of 200 filers
in a full run got no answer at all and had to ask /mine.) The drill still plays what a person
does when no answer comes in time (presses again while the button is there; afterwards asks
/mine, and submits again if nothing was filed) and reports how many needed that.

Time: the bot's clock runs SPEED times faster than real time during the drill, so backoffs
(database due times) pass quickly; the dispatcher's lease is scaled alike, so it lasts as long
in real time as in production. The dispatcher's and PTB's HTTP timeouts are shortened to two
seconds (what a timeout does is unchanged; only how long it takes), so a hung request does not
cost 20 s.

    .venv/bin/python -m pytest tests/drills/test_outage_drill.py -s          # reduced (CI)
    RONGCUO_DRILLS=full .venv/bin/python -m pytest tests/drills/test_outage_drill.py -s
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import inspect
import random
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

import bot.delivery.dispatcher
import bot.runtime
from bot.channels.telegram_transport import AiohttpRequest
from bot.clock import ManualClock
from bot.delivery.dispatcher import OutboxDispatcher, Timeouts
from bot.runtime import Runtime
from bot.services.reminders.plans import RECT_SUBJECT
from dialogs.texts import Texts
from storage.models import Filing, OutboxMessage, RectificationItem, Reminder, User, UserIdentity
from tests.db.talker import Talker
from tests.drills.conftest import pick
from tests.e2e.telegram_harness import bot_in_process
from tests.emulator import BotApiEmulator, UserDriver, button_labels, message_text
from tests.emulator.records import Fault, Params

TZ = ZoneInfo("Asia/Shanghai")
# A Monday morning and a working day in Kunming: reminders are allowed out.
START = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)

FILERS = pick(12, 200)
REMINDERS = pick(36, 1000)
COUNTIES = pick(3, 10)  # counties of 昆明市 the filers are spread over, 2 officers each
OFFICERS_PER_COUNTY = 2
# Real seconds of outage, and how much faster than real time the bot's clock runs. The outage
# spans OUTAGE_SECONDS * SPEED of bot time (40 s reduced, 160 s full): below the ~200 s a row
# needs to fail max_attempts (8) times with backoff 2, 4, 8 ... s (-20 %), so no row may die.
OUTAGE_SECONDS = pick(10.0, 80.0)
SPEED = pick(4, 2)
# Reminders fall due in this window of bot time after the outage starts.
REMINDER_WINDOW = pick(25, 100)
# A filer waits this long for an answer before pressing again (at most PRESSES times).
PATIENCE = 4.0
PRESSES = 3
TICK_EVERY = 0.5  # real seconds between reminder ticks (the scheduler's job, played by the test)
DRAIN_TIMEOUT = pick(60.0, 400.0)
SETUP_TIMEOUT = pick(30.0, 300.0)

REMINDER_COUNTY = "530127"  # 嵩明县: the seeded rectification filings live there, no officers
FIRST_REMINDED = 710_000_000
FIRST_FILER = 720_000_000
FIRST_OFFICER = 730_000_000

CONFIRM = "✅ 确认无误，提交报备"
RECEIPT = re.compile(r"报备编号：(\S+)")
NOTICE = "📥 新的容错报备："
REMINDER_MARK = "整改提醒"

# --- the outage in the emulator ------------------------------------------------------------------

SENDING = frozenset(
    {
        "sendMessage",
        "sendPhoto",
        "sendDocument",
        "editMessageText",
        "editMessageReplyMarkup",
        "answerCallbackQuery",
    }
)
OK = "ok"
HANG_SECONDS = 30.0  # far beyond every client timeout: the client always gives up first
# kind: (HTTP status, acted before failing, hangs)
KINDS: dict[str, tuple[int, bool, bool]] = {
    "502": (502, False, False),
    "429": (429, False, False),
    "hang": (504, False, True),
    "lost_502": (502, True, False),
    "lost_hang": (504, True, True),
}
MIX = {OK: 40, "502": 20, "429": 12, "hang": 10, "lost_502": 9, "lost_hang": 9}
LOST = frozenset({"lost_502", "lost_hang"})
COUNTED = frozenset({"502", "hang", "lost_502", "lost_hang"})  # 429 is not a failed attempt

# The request being handled, and whether its answer must hang: aiohttp runs each request in its
# own task, so these are per request.
_params: contextvars.ContextVar[Params | None] = contextvars.ContextVar("outage_params", default=None)
_hang: contextvars.ContextVar[bool] = contextvars.ContextVar("outage_hang", default=False)


@dataclass(frozen=True)
class Injected:
    method: str
    chat_id: int | None
    text: str | None
    kind: str


class OutageEmulator(BotApiEmulator):
    """The Bot API emulator with an outage switch: while on, every sending call draws a fate."""

    def __init__(self, seed: int) -> None:
        super().__init__()
        self._rng = random.Random(seed)
        self._kinds = list(MIX)
        self._weights = list(MIX.values())
        self.outage = False
        self.injected: list[Injected] = []

    async def _read_params(self, request: Any) -> Params:
        params = await super()._read_params(request)
        _params.set(params)
        return params

    def _take_fault(self, name: str) -> Fault | None:
        queued = super()._take_fault(name)
        if queued is not None or not self.outage or name not in SENDING:
            return queued
        kind = self._rng.choices(self._kinds, self._weights)[0]
        if kind == OK:
            return None
        params = _params.get()
        raw = params.raw if params is not None else {}
        chat = str(raw.get("chat_id", ""))
        text = raw.get("text")
        self.injected.append(Injected(name, int(chat) if chat.lstrip("-").isdigit() else None, text, kind))
        status, acted, hangs = KINDS[kind]
        _hang.set(hangs)
        return Fault(status, 1, None, 1, acted)

    async def _delay(self, name: str) -> None:
        if _hang.get():
            _hang.set(False)
            # aiohttp cancels this when the client hangs up (handler_cancellation=True).
            await asyncio.sleep(HANG_SECONDS)
        await super()._delay(name)


# --- the bot's clock and its shortened timeouts ----------------------------------------------------


class DrillClock(ManualClock):
    """Frozen while the drill sets up, then running SPEED times faster than real time."""

    def __init__(self, start: datetime) -> None:
        super().__init__(start)
        self._since: float | None = None
        self._speed = 0.0

    def now(self) -> datetime:
        if self._since is None:
            return self._now
        return self._now + timedelta(seconds=(time.monotonic() - self._since) * self._speed)

    def run(self, speed: float) -> None:
        self._now, self._since, self._speed = self.now(), time.monotonic(), speed

    def freeze(self) -> None:
        self._now, self._since = self.now(), None


# Two seconds instead of 20 (dispatcher) and 5 (PTB) before a hung request counts as timed out.
# Not less: the emulator shares the event loop, and a loop busier than this would turn a plain
# answer into a timeout (an unexplained duplicate) or a 429 into a counted attempt.
QUICK = Timeouts(connect=2.0, write=2.0, read=2.0, pool=2.0)


def quick_transport(connections: int = 64) -> AiohttpRequest:
    return AiohttpRequest(
        connections, connect=QUICK.connect, write=QUICK.write, read=QUICK.read, pool=QUICK.pool
    )


# The lease is in bot time, which runs SPEED times faster: scaled alike, it lasts as long in real
# time as in production, so a send in flight never outlives it (that would be a drill artefact).
LEASE = inspect.signature(OutboxDispatcher).parameters["lease_seconds"].default * SPEED


@pytest.fixture
def quick_timeouts(monkeypatch: pytest.MonkeyPatch) -> None:
    dispatcher = functools.partial(OutboxDispatcher, timeouts=QUICK, lease_seconds=LEASE)
    # start_delivery takes the class from its module when called (bot.runtime imports it late).
    monkeypatch.setattr(bot.delivery.dispatcher, "OutboxDispatcher", dispatcher)
    monkeypatch.setattr(bot.runtime, "OutboxDispatcher", dispatcher, raising=False)
    monkeypatch.setattr("bot.channels.telegram.AiohttpRequest", quick_transport)


# --- seeding -------------------------------------------------------------------------------------


async def _insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list((await session.execute(statement, rows)).scalars())


@dataclass(frozen=True)
class Reminded:
    chat_id: int
    user_id: int
    reminder_id: int
    ref: str


async def seed_reminders(
    runtime: Runtime, *, county: str, first_chat: int, today: date, due: list[datetime]
) -> list[Reminded]:
    """Registered cadres of ``county`` (chats ``first_chat``, ``first_chat + 1`` ...), each with an
    accepted filing and an open item due ``today``, its T-0 reminder due at ``due[n]``.

    Written in bulk (the dialogs would take minutes), as plan_rectification writes them; also
    used by the two-process drill."""
    texts = Texts("zh_CN")
    past = min(due) - timedelta(days=30)
    units = [u.code for u in runtime.directory.children(county)]
    short = runtime.directory.get(county).display_short  # type: ignore[union-attr]
    people = range(len(due))
    async with runtime.database.sessions() as session:
        [reviewer] = await _insert(
            session,
            User,
            [
                {
                    "name": "审核人",
                    "unit_code": county,
                    "locale": "zh_CN",
                    "created_at": past,
                    "updated_at": past,
                }
            ],
        )
        users = await _insert(
            session,
            User,
            [
                {
                    "name": f"整改干部{n:04d}",
                    "unit_code": units[n % len(units)],
                    "position": "科员",
                    "locale": "zh_CN",
                    "registered_at": past,
                    "created_at": past,
                    "updated_at": past,
                }
                for n in people
            ],
        )
        await _insert(
            session,
            UserIdentity,
            [
                {
                    "user_id": users[n],
                    "channel": "telegram",
                    "external_id": str(first_chat + n),
                    "display_name": f"整改干部{n:04d}",
                    "reachable": True,
                    "created_at": past,
                }
                for n in people
            ],
        )
        numbers = [f"{short}-{today.year}-{n + 1:04d}" for n in people]
        filings = await _insert(
            session,
            Filing,
            [
                {
                    "draft_key": f"outage-seed-{n}",
                    "number": numbers[n],
                    "user_id": users[n],
                    "unit_code": units[n % len(units)],
                    "jurisdiction_code": county,
                    "status": "accepted",
                    "title": f"农村道路改造第{n + 1}标段",
                    "answers": {},
                    "year": today.year,
                    "seq": n + 1,
                    "created_at": past,
                    "updated_at": past,
                    "submitted_at": past,
                    "review_due_at": past + timedelta(days=1),
                    "reviewed_at": past,
                    "reviewed_by": reviewer,
                    "risk_colour": "yellow",
                    "decision_number": f"{short}容受〔{today.year}〕{n + 1}号",
                    "decision_seq": n + 1,
                }
                for n in people
            ],
        )
        items = await _insert(
            session,
            RectificationItem,
            [
                {
                    "filing_id": filings[n],
                    "item_no": 1,
                    "problem": f"第{n + 1}标段台账缺少监理签字",
                    "measure": "补齐签字并归档",
                    "owner_user_id": users[n],
                    "due_date": today,
                    "original_due_date": today,
                    "status": "open",
                    "extended": False,
                    "evidence": [],
                    "created_by": reviewer,
                    "created_at": past,
                    "updated_at": past,
                }
                for n in people
            ],
        )
        reminders = await _insert(
            session,
            Reminder,
            [
                {
                    "kind": "rect_due",
                    "due_at": due[n],
                    "target_user_id": users[n],
                    "subject_type": RECT_SUBJECT,
                    "subject_id": str(items[n]),
                    "status": "pending",
                    "attempts": 0,
                    "payload": {"due": today.isoformat(), "label": "T-0", "filing_id": filings[n]},
                    "created_at": past,
                    "dedupe_key": f"rect:{items[n]}:{today.isoformat()}:T-0",
                }
                for n in people
            ],
        )
        await session.commit()
    return [
        Reminded(first_chat + n, users[n], reminders[n], texts("rect.ref", number=numbers[n], no=1))
        for n in people
    ]


# --- the people --------------------------------------------------------------------------------------


@dataclass
class FilerState:
    user: UserDriver
    presses: int = 0
    receipt_in_outage: bool = False
    recovery: str | None = None  # None, "mine" (it was filed) or "resubmitted"

    def number_seen(self) -> str | None:
        """The filing number this person has read in the chat: a receipt or a /mine listing."""
        for message in self.user.messages:
            text = message_text(message)
            if found := RECEIPT.search(text):
                return found.group(1)
            if text.startswith("您提交的报备"):
                return text.splitlines()[1].removeprefix("· ").split("｜")[0]
        return None

    def sees_button(self) -> bool:
        return any(CONFIRM in button_labels(m) for m in self.user.messages)


def person(prefix: str, n: int) -> str:
    """A name the registration accepts (no digits): 报备人 + 一二三."""
    return prefix + "".join("零一二三四五六七八九"[int(d)] for d in str(n % 10000))


async def until(user: UserDriver, predicate: Callable[[], bool], timeout: float) -> bool:
    try:
        await user.wait_for(predicate, timeout)
    except AssertionError:
        return False
    return True


def count(user: UserDriver) -> int:
    return len(user.messages)


async def file_during_outage(filer: FilerState, delay: float, outage_on: Callable[[], bool]) -> None:
    """Press submit; with no answer after PATIENCE seconds, press again while the button is there."""
    await asyncio.sleep(delay)
    while outage_on() and filer.presses < PRESSES and filer.sees_button():
        seen = count(filer.user)
        filer.user.press(CONFIRM)
        filer.presses += 1
        answered = await until(filer.user, lambda seen=seen: count(filer.user) > seen, PATIENCE)
        if filer.number_seen() is not None:
            filer.receipt_in_outage = True
            return
        if answered:
            return  # an answer that is not the receipt ("button expired"): /mine will tell


async def recover(filer: FilerState) -> None:
    """After the outage: someone who never read a number asks /mine, and files again if nothing was."""
    if filer.number_seen() is not None:
        return
    user = filer.user
    user.send_text("/mine")
    listed = await until(
        user,
        lambda: any(
            message_text(m).startswith(("您提交的报备", "您还没有提交过报备")) for m in user.messages
        ),
        30,
    )
    assert listed, user.describe()
    if filer.number_seen() is not None:
        filer.recovery = "mine"
        return
    seen = count(user)
    user.send_text("/start")
    assert await until(user, lambda: count(user) > seen and filer.sees_button(), 30), user.describe()
    user.press(CONFIRM)
    assert await until(user, lambda: filer.number_seen() is not None, 30), user.describe()
    filer.recovery = "resubmitted"


async def start_chat(user: UserDriver, wanted: Callable[[], bool]) -> None:
    user.send_text("/start")
    assert await until(user, wanted, SETUP_TIMEOUT), user.describe()


# --- the drill ---------------------------------------------------------------------------------------


async def tick_until(runtime: Runtime, stop: asyncio.Event) -> None:
    """The scheduler's reminder job, run more often than the default 30 s so it keeps up with SPEED."""
    tick = runtime.reminder_tick()
    while not stop.is_set():
        await tick.run()
        try:
            await asyncio.wait_for(stop.wait(), TICK_EVERY)
        except TimeoutError:
            pass


async def backlog(runtime: Runtime) -> tuple[int, int]:
    """Reminders due and not yet sent, and outbox rows not yet sent. Each submission also plans
    its review-deadline reminders (due the next working day): those are not due in the drill."""
    async with runtime.database.sessions() as session:
        reminders = await session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.status == "pending", Reminder.due_at <= runtime.clock.now())
        )
        outbox = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    return int(reminders or 0), int(outbox or 0)


@pytest.mark.timeout(int(SETUP_TIMEOUT + OUTAGE_SECONDS + DRAIN_TIMEOUT + 120))
async def test_outage_then_every_notification_exactly_once(
    database_url: str, tmp_path: Path, quick_timeouts: None
) -> None:
    engine = database_url.split(":", 1)[0]
    clock = DrillClock(START)
    emulator = OutageEmulator(seed=20261123)
    await emulator.start()
    try:
        async with bot_in_process(emulator, database_url, tmp_path, clock) as runtime:
            began = time.monotonic()
            # Officers of each county, and cadres there with a draft at its last question.
            counties = [c for c in runtime.directory.children("5301") if c.code != REMINDER_COUNTY][:COUNTIES]
            assert len(counties) == COUNTIES
            officers: dict[str, list[int]] = {}
            for k, county in enumerate(counties):
                unit = runtime.directory.children(county.code)[0]
                chats = [FIRST_OFFICER + k * OFFICERS_PER_COUNTY + j for j in range(OFFICERS_PER_COUNTY)]
                for chat in chats:
                    await runtime.admin.grant(chat, "officer", county.code, by="drill")
                    await Talker(runtime, clock, str(chat)).register(
                        person("纪检", chat), county.name, unit.name
                    )
                officers[county.code] = chats
            filers: list[FilerState] = []
            for n in range(FILERS):
                county = counties[n % COUNTIES]
                unit = runtime.directory.children(county.code)[0]
                talker = Talker(runtime, clock, str(FIRST_FILER + n))
                await talker.register(person("报备人", n), county.name, unit.name)
                await talker.fill_prefiling(f"{county.name}重点项目先行实施第{n + 1}项")
                filers.append(FilerState(emulator.user(FIRST_FILER + n)))
            # Spread over the window, so several ticks during the outage each find some due.
            due = [START + timedelta(seconds=5 + n * REMINDER_WINDOW / REMINDERS) for n in range(REMINDERS)]
            reminded = await seed_reminders(
                runtime, county=REMINDER_COUNTY, first_chat=FIRST_REMINDED, today=START.date(), due=due
            )

            # Everyone opens the chat before the outage: the bot may write to them from then on.
            starting = [
                start_chat(emulator.user(chat), lambda chat=chat: bool(emulator.sent(chat)))
                for chats in officers.values()
                for chat in chats
            ]
            starting += [start_chat(f.user, f.sees_button) for f in filers]
            starting += [
                start_chat(emulator.user(r.chat_id), lambda r=r: bool(emulator.sent(r.chat_id)))
                for r in reminded
            ]
            await asyncio.gather(*starting)
            everyone = [*(c for chats in officers.values() for c in chats), *(f.user.chat_id for f in filers)]
            everyone += [r.chat_id for r in reminded]
            before_outage = {chat: len(emulator.sent(chat)) for chat in everyone}
            assert await backlog(runtime) == (0, 0), "nothing due, nothing queued before the outage"
            set_up = time.monotonic()

            # The outage: filers press submit (staggered over its first 60 %), reminders fall due.
            stop_ticking = asyncio.Event()
            ticking = asyncio.create_task(tick_until(runtime, stop_ticking))
            clock.run(SPEED)
            emulator.outage = True
            outage_started = clock.now()
            filing = [
                asyncio.create_task(
                    file_during_outage(f, n * OUTAGE_SECONDS * 0.6 / FILERS, lambda: emulator.outage)
                )
                for n, f in enumerate(filers)
            ]
            try:
                await asyncio.sleep(OUTAGE_SECONDS)
                emulator.outage = False
                outage_clock = clock.now() - outage_started
                await asyncio.gather(*filing)
                ended = time.monotonic()

                # Afterwards: those without a number find out; the outbox and reminders drain.
                await asyncio.gather(*(recover(f) for f in filers))
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while (left := await backlog(runtime)) != (0, 0):
                    assert time.monotonic() < deadline, f"not drained within {DRAIN_TIMEOUT}s: {left}"
                    await asyncio.sleep(0.25)
                drained = time.monotonic()
            finally:
                stop_ticking.set()
                await ticking
                for task in filing:
                    task.cancel()
                await asyncio.gather(*filing, return_exceptions=True)
            clock.freeze()

            async with runtime.database.sessions() as session:
                rows = list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))
                reminders = list(await session.scalars(select(Reminder).where(Reminder.kind == "rect_due")))
                filed = list(
                    await session.scalars(select(Filing).where(Filing.draft_key.not_like("outage-seed-%")))
                )
                identities = {
                    i.user_id: int(i.external_id)
                    for i in await session.scalars(
                        select(UserIdentity).where(UserIdentity.channel == "telegram")
                    )
                }
        assert not emulator.internal_errors, emulator.internal_errors[:3]
        # Injected faults are not recorded here: these would be real refusals (flood, bad request).
        api_errors = Counter((e.method, e.status, e.description) for e in emulator.errors)
        assert not api_errors, api_errors
        sent = {chat: emulator.sent(chat)[skip:] for chat, skip in before_outage.items()}
        calls = Counter(
            (int(p["chat_id"]), str(p.get("text")))
            for p in emulator.calls_to("sendMessage")
            if "chat_id" in p
        )
    finally:
        await emulator.stop()

    injected = emulator.injected
    # Answers to the filers that Telegram refused go to the outbox too (no dedupe key): they are
    # checked apart from the notifications.
    deferred = [r for r in rows if r.dedupe_key is None]
    rows = [r for r in rows if r.dedupe_key is not None]
    outbox_chats = {int(r.chat_id) for r in rows}
    officer_chats = {chat for chats in officers.values() for chat in chats}
    filer_chats = {f.user.chat_id for f in filers}
    reminded_chats = {r.chat_id for r in reminded}

    # --- the database: every intended notification queued once, and sent ---------------------------
    assert Counter(r.status for r in rows) == {"sent": len(rows)}, Counter(r.status for r in rows)
    assert Counter(r.status for r in deferred) == {"sent": len(deferred)} if deferred else True
    assert {int(r.chat_id) for r in deferred} <= filer_chats, "only answers to filers are deferred"
    assert Counter(r.status for r in reminders) == {"sent": REMINDERS}
    by_filer = Counter(identities[f.user_id] for f in filed)
    assert by_filer == dict.fromkeys(filer_chats, 1), "one filing per filer, no duplicate, none missing"
    assert all(f.status == "submitted" for f in filed)
    user_of = {chat: user_id for user_id, chat in identities.items()}
    intended = {
        (chat, f"filing:{f.id}:new:0:officer:{user_of[chat]}")
        for f in filed
        for chat in officers[f.jurisdiction_code or ""]
    } | {(r.chat_id, f"reminder:{r.reminder_id}:{r.user_id}") for r in reminded}
    assert {(int(r.chat_id), r.dedupe_key) for r in rows} == intended
    assert len(rows) == len(intended) == FILERS * OFFICERS_PER_COUNTY + REMINDERS
    assert outbox_chats <= officer_chats | reminded_chats and not outbox_chats & filer_chats

    # --- Telegram's side: each row's text in its chat once, plus one copy per lost answer --------------
    faults_of: dict[tuple[int, str], Counter[str]] = {}
    for fault in injected:
        if fault.method == "sendMessage" and fault.chat_id in outbox_chats:
            faults_of.setdefault((fault.chat_id, str(fault.text)), Counter())[fault.kind] += 1
    duplicates = 0
    for row in rows:
        chat, text = int(row.chat_id), row.payload["text"]
        faults = faults_of.get((chat, text), Counter())
        copies = [m for m in sent[chat] if message_text(m) == text]
        lost = sum(faults[k] for k in LOST)
        assert len(copies) == 1 + lost, (chat, text[:40], len(copies), dict(faults))
        duplicates += lost
        # The row records the copy whose answer arrived: the last one.
        assert row.external_message_id == str(copies[-1]["message_id"]), (chat, text[:40])
        assert row.attempts == 1 + sum(faults[k] for k in COUNTED), (
            chat,
            text[:40],
            row.attempts,
            dict(faults),
        )
        assert calls[(chat, text)] == 1 + sum(faults.values()), (chat, text[:40])
    # Nothing else reached those chats: no notification outside the outbox, none for someone else.
    for chat in outbox_chats:
        expected = sum(
            1 + sum(faults_of.get((chat, r.payload["text"]), Counter())[k] for k in LOST)
            for r in rows
            if int(r.chat_id) == chat
        )
        assert len(sent[chat]) == expected, (chat, [message_text(m)[:30] for m in sent[chat]])
    for r in reminded:
        [row] = [x for x in rows if x.dedupe_key == f"reminder:{r.reminder_id}:{r.user_id}"]
        assert REMINDER_MARK in row.payload["text"] and r.ref in row.payload["text"]
    notices = [r for r in rows if r.payload["text"].startswith(NOTICE)]
    assert len(notices) == FILERS * OFFICERS_PER_COUNTY

    # --- the filers: each knows their number, the one the database holds ---------------------------
    numbers = {identities[f.user_id]: f.number for f in filed}
    for filer in filers:
        assert filer.number_seen() == numbers[filer.user.chat_id], filer.user.describe()

    # The drill did what it says: every kind of fault hit both the outbox and the replies.
    on_outbox = Counter(f.kind for f in injected if f.chat_id in outbox_chats)
    on_replies = Counter(f.kind for f in injected if f.chat_id not in outbox_chats)
    assert set(on_outbox) == set(KINDS), on_outbox
    assert all(f.method == "sendMessage" for f in injected if f.chat_id in outbox_chats)
    assert duplicates == sum(on_outbox[k] for k in LOST)
    assert outage_clock < timedelta(seconds=190), "the outage must stay shorter than max_attempts' backoff"
    during = sum(f.receipt_in_outage for f in filers)
    recovery = Counter(f.recovery for f in filers if f.recovery)
    print(
        f"\n[outage drill, {engine}] {FILERS} filers, {REMINDERS} reminders, "
        f"{len(rows)} notifications; outage {OUTAGE_SECONDS:.0f}s real = {outage_clock.total_seconds():.0f}s bot time\n"
        f"  faults on notifications: {dict(on_outbox)}; on replies/edits/callback answers: {dict(on_replies)}\n"
        f"  duplicates (all from lost answers): {duplicates}; attempts per row: "
        f"{dict(sorted(Counter(r.attempts for r in rows).items()))}\n"
        f"  answers to filers deferred to the outbox: {len(deferred)}\n"
        f"  filers: receipt during the outage {during}, learned it by /mine {recovery['mine']}, "
        f"had to submit again {recovery['resubmitted']}; presses {sum(f.presses for f in filers)}\n"
        f"  set-up {set_up - began:.1f}s, outage {ended - set_up:.1f}s, drain {drained - ended:.1f}s"
    )
