"""The outbox dispatcher against the Bot API emulator, with faults injected.

The emulator enforces Telegram's per-chat flood limit (1 message/s), so any message the
dispatcher sends too soon after the previous one into a chat shows up as a recorded 429 error:
"no flood errors" is the proof of the spacing. Injected faults are not recorded as errors.

The database clock is a ManualClock moved by the test (backoff and retry_after are database due
times); the rate limiter paces in real time, as Telegram measures.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Bot

from bot.clock import ManualClock, SystemClock
from bot.delivery import OutboxDispatcher, RateLimiter
from storage.database import Database
from storage.models import OutboxMessage
from storage.repositories.outbox import DEAD, SENT, UNDELIVERABLE, OutboxRepository
from storage.repositories.users import UserRepository
from tests.e2e.telegram_harness import emulator_running
from tests.emulator import BotApiEmulator, inline_buttons, message_text

ROUND = timedelta(seconds=10)  # database time that passes per dispatcher round in these tests


def quick_pacing(emulator: BotApiEmulator) -> RateLimiter:
    """For tests about outcomes, not pacing: no real second between a chat's sends."""
    emulator.per_chat_limit = None
    return RateLimiter(per_chat_interval=0.05)


@pytest.fixture
async def emulator() -> AsyncIterator[BotApiEmulator]:
    async with emulator_running(per_chat_limit=1.0, global_limit=30.0) as emu:
        yield emu
        assert not emu.internal_errors


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


@pytest.fixture
async def bot(emulator: BotApiEmulator) -> AsyncIterator[Bot]:
    async with Bot(emulator.token, base_url=emulator.base_url) as telegram_bot:
        yield telegram_bot


@dataclass
class Callbacks:
    unreachable: list[tuple[int | None, str]] = field(default_factory=list)
    dead: list[OutboxMessage] = field(default_factory=list)

    async def on_unreachable(self, user_id: int | None, chat_id: str) -> None:
        self.unreachable.append((user_id, chat_id))

    async def on_dead(self, row: OutboxMessage) -> None:
        self.dead.append(row)


def dispatcher_for(
    database: Database, bot: Bot, clock: Any, callbacks: Callbacks, **options: Any
) -> OutboxDispatcher:
    return OutboxDispatcher(
        database,
        bot,
        clock,
        owner="test-dispatcher",
        on_unreachable=callbacks.on_unreachable,
        on_dead=callbacks.on_dead,
        rng=random.Random(7),
        **options,
    )


async def queue(
    database: Database,
    now: datetime,
    chat_id: int,
    text: str,
    *,
    buttons: list[list[dict[str, str]]] | None = None,
    user_id: int | None = None,
) -> None:
    payload: dict[str, Any] = {"text": text}
    if buttons:
        payload["buttons"] = buttons
    async with database.sessions() as session:
        await OutboxRepository(session).add(
            channel="telegram", chat_id=chat_id, payload=payload, now=now, user_id=user_id
        )
        await session.commit()


async def rows(database: Database) -> list[OutboxMessage]:
    async with database.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


async def drain(
    dispatcher: OutboxDispatcher,
    database: Database,
    clock: ManualClock,
    *,
    timeout: float = 15.0,
    between_rounds: Any = None,
) -> int:
    """Run dispatcher rounds until no row is pending; returns the number of rounds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    rounds = 0
    while any(row.status == "pending" for row in await rows(database)):
        if loop.time() > deadline:
            pending = [(r.chat_id, r.payload["text"], r.last_error) for r in await rows(database)]
            raise AssertionError(f"outbox not drained within {timeout}s: {pending}")
        await dispatcher.run_once()
        rounds += 1
        clock.advance(ROUND)
        if between_rounds is not None:
            between_rounds(rounds)
    return rounds


def flood_errors(emulator: BotApiEmulator) -> list[str]:
    return [f"chat {e.chat_id}: {e.description}" for e in emulator.errors if e.status == 429]


async def test_faults_still_deliver_every_message_once_in_order(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    chats = [1001, 1002, 1003, 1004, 1005, 1006]
    for chat in chats:
        emulator.user(chat).send_text("/start")
    expected: dict[int, list[str]] = {chat: [] for chat in chats}
    for n in range(5):
        for chat in chats:
            text = f"通知 {chat} #{n}"
            buttons = [[{"label": "查看", "action": f"view:{chat}:{n}"}]] if n == 0 else None
            await queue(database, clock.now(), chat, text, buttons=buttons)
            expected[chat].append(text)

    # Faults are taken in order by whichever sends come next: a gateway down, a crash, flood
    # control; slow (but not too slow) answers for the first rounds.
    emulator.fail_next("sendMessage", status=502, count=3)
    emulator.fail_next("sendMessage", status=500, count=1)
    emulator.fail_next("sendMessage", status=429, count=2, retry_after=1)
    emulator.set_delay("sendMessage", 0.3)

    def calm_down(rounds: int) -> None:
        if rounds == 3:
            emulator.set_delay("sendMessage", None)

    callbacks = Callbacks()
    dispatcher = dispatcher_for(database, bot, clock, callbacks)
    await drain(dispatcher, database, clock, between_rounds=calm_down)

    assert flood_errors(emulator) == [], "a chat got two messages less than 1 s apart"
    assert callbacks == Callbacks()
    stored = await rows(database)
    for chat in chats:
        delivered = emulator.sent(chat)
        assert [message_text(m) for m in delivered] == expected[chat]
        assert inline_buttons(delivered[0]) == [["查看"]]
        assert delivered[0]["reply_markup"]["inline_keyboard"][0][0]["callback_data"] == f"view:{chat}:0"
        ids = {message_text(m): str(m["message_id"]) for m in delivered}
        for row in (r for r in stored if r.chat_id == str(chat)):
            assert row.status == SENT and row.sent_at is not None and row.lease_owner is None
            assert row.external_message_id == ids[row.payload["text"]]
    # The injected failures were retried: 6 faults on top of the 30 deliveries.
    assert len(emulator.calls_to("sendMessage")) == 30 + 6
    counted = sum(r.attempts - 1 for r in stored)
    assert counted == 4, "502/500 count as failed attempts, 429 does not"


async def test_a_blocked_user_is_undeliverable_and_reported_once(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    async with database.sessions() as session:
        user, _ = await UserRepository(session).create(
            channel="telegram", external_id="2001", now=clock.now()
        )
        await session.commit()
    for chat in (2001, 2002):
        emulator.user(chat).send_text("/start")
    emulator.block(2001)
    for n in range(3):
        await queue(database, clock.now(), 2001, f"催办 #{n}", user_id=user.id)
    await queue(database, clock.now(), 2002, "其他人的通知")

    callbacks = Callbacks()
    await drain(dispatcher_for(database, bot, clock, callbacks), database, clock)

    assert callbacks.unreachable == [(user.id, "2001")]
    stored = await rows(database)
    assert [r.status for r in stored if r.chat_id == "2001"] == [UNDELIVERABLE] * 3
    assert all("blocked" in (r.last_error or "") for r in stored if r.chat_id == "2001")
    # One refused request, not one per queued message.
    assert [c["chat_id"] for c in emulator.calls_to("sendMessage")].count(2001) == 1
    assert [message_text(m) for m in emulator.sent(2002)] == ["其他人的通知"]


async def test_a_permanent_bad_request_is_dead_and_the_chat_goes_on(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    emulator.user(3001).send_text("/start")
    await queue(database, clock.now(), 3001, "太长" * 3000)  # beyond 4096 characters
    await queue(database, clock.now(), 3001, "下一条")
    await queue(database, clock.now(), 3999, "从未开始对话的人")  # chat not found

    callbacks = Callbacks()
    dispatcher = dispatcher_for(database, bot, clock, callbacks, limiter=quick_pacing(emulator))
    await drain(dispatcher, database, clock)

    by_text = {r.payload["text"]: r for r in await rows(database)}
    too_long, following, unknown = by_text["太长" * 3000], by_text["下一条"], by_text["从未开始对话的人"]
    assert (too_long.status, unknown.status, following.status) == (DEAD, DEAD, SENT)
    assert "message is too long" in (too_long.last_error or "").lower()
    assert "chat not found" in (unknown.last_error or "").lower()
    assert sorted(r.id for r in callbacks.dead) == sorted([too_long.id, unknown.id])
    assert all(r.status == DEAD and r.lease_owner is None for r in callbacks.dead)
    assert [message_text(m) for m in emulator.sent(3001)] == ["下一条"]
    assert callbacks.unreachable == []


async def test_transient_failures_end_dead_after_max_attempts(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    emulator.user(4001).send_text("/start")
    await queue(database, clock.now(), 4001, "网关一直坏")
    await queue(database, clock.now(), 4001, "网关修好以后")
    emulator.fail_next("sendMessage", status=502, count=3)

    callbacks = Callbacks()
    dispatcher = dispatcher_for(
        database, bot, clock, callbacks, max_attempts=3, limiter=quick_pacing(emulator)
    )
    await drain(dispatcher, database, clock)

    first, second = await rows(database)
    assert (first.status, first.attempts) == (DEAD, 3)
    assert "gave up after 3 attempts" in (first.last_error or "") and "Bad Gateway" in (
        first.last_error or ""
    )
    assert [r.id for r in callbacks.dead] == [first.id]
    assert second.status == SENT
    assert [message_text(m) for m in emulator.sent(4001)] == ["网关修好以后"]


async def test_backoff_waits_grow_and_flood_waits_are_not_attempts(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    emulator.user(5001).send_text("/start")
    await queue(database, clock.now(), 5001, "重试")
    dispatcher = dispatcher_for(database, bot, clock, Callbacks(), limiter=quick_pacing(emulator))
    start = clock.now()

    emulator.fail_next("sendMessage", status=502, count=1)
    await dispatcher.run_once()
    [row] = await rows(database)
    assert row.attempts == 1 and "Bad Gateway" in (row.last_error or "")
    assert timedelta(seconds=1.6) <= row.next_attempt_at - start <= timedelta(seconds=2.4)
    assert await dispatcher.run_once() == 0, "not due yet"

    clock.advance(timedelta(seconds=3))
    emulator.fail_next("sendMessage", status=429, count=1, retry_after=1)
    await dispatcher.run_once()
    [row] = await rows(database)
    assert row.attempts == 1 and row.next_attempt_at == clock.now() + timedelta(seconds=1)

    clock.advance(timedelta(seconds=1))
    assert await dispatcher.run_once() == 1
    [row] = await rows(database)
    assert (row.status, row.attempts) == (SENT, 2)


async def test_rows_it_cannot_or_must_not_send(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    emulator.user(6001).send_text("/start")
    async with database.sessions() as session:
        repo = OutboxRepository(session)
        await repo.add(channel="telegram", chat_id=6001, payload={"buttons": []}, now=clock.now())
        await repo.add(channel="web", chat_id="session-1", payload={"text": "网页通知"}, now=clock.now())
        await session.commit()
    callbacks = Callbacks()
    dispatcher = dispatcher_for(database, bot, clock, callbacks)
    assert await dispatcher.run_once() == 1
    assert await dispatcher.run_once() == 0
    malformed, web = await rows(database)
    assert malformed.status == DEAD and "no text" in (malformed.last_error or "")
    assert [r.id for r in callbacks.dead] == [malformed.id]
    assert emulator.calls_to("sendMessage") == []
    assert (web.status, web.lease_owner, web.attempts) == ("pending", None, 0)


async def test_a_lost_answer_can_duplicate_a_message(
    database: Database, bot: Bot, emulator: BotApiEmulator, clock: ManualClock
) -> None:
    """The at-least-once window, documented: Telegram acted, the answer never came back."""
    emulator.user(7001).send_text("/start")
    await queue(database, clock.now(), 7001, "可能重复")
    emulator.fail_next("sendMessage", status=502, after_effect=True)
    dispatcher = dispatcher_for(database, bot, clock, Callbacks(), limiter=quick_pacing(emulator))
    await drain(dispatcher, database, clock)
    assert [message_text(m) for m in emulator.sent(7001)] == ["可能重复", "可能重复"]
    [row] = await rows(database)
    assert row.status == SENT and row.attempts == 2


async def test_run_delivers_until_stopped(database: Database, bot: Bot, emulator: BotApiEmulator) -> None:
    clock = SystemClock()
    limiter = quick_pacing(emulator)
    for chat in (9001, 9002):
        emulator.user(chat).send_text("/start")
        for n in range(2):
            await queue(database, clock.now(), chat, f"{chat}-{n}")
    stop = asyncio.Event()
    dispatcher = dispatcher_for(database, bot, clock, Callbacks(), limiter=limiter)
    task = asyncio.create_task(dispatcher.run(stop, idle=0.1))
    user = emulator.user(9002)
    await user.wait_for(lambda: len(emulator.sent(9001)) == 2 and len(emulator.sent(9002)) == 2, 5.0)
    stop.set()
    await asyncio.wait_for(task, 2.0)
    assert [message_text(m) for m in emulator.sent(9001)] == ["9001-0", "9001-1"]
    assert all(r.status == SENT for r in await rows(database))


async def test_run_claims_and_marks_many_rows_per_transaction(
    database: Database, bot: Bot, emulator: BotApiEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A transaction per message was what kept one process below Telegram's 30 a second."""
    clock = SystemClock()
    emulator.global_limit = None
    chats = list(range(9101, 9141))
    for chat in chats:
        emulator.user(chat).send_text("/start")
        await queue(database, clock.now(), chat, f"{chat}")
    claims: list[int] = []
    marks: list[int] = []
    claim_due, mark_sent_many = OutboxRepository.claim_due, OutboxRepository.mark_sent_many

    async def counted_claim(self: OutboxRepository, **options: Any) -> list[OutboxMessage]:
        claimed = await claim_due(self, **options)
        claims.append(len(claimed))
        return claimed

    async def counted_marks(self: OutboxRepository, sent: Any, *args: Any, **options: Any) -> set[int]:
        marks.append(len(sent))
        return await mark_sent_many(self, sent, *args, **options)

    monkeypatch.setattr(OutboxRepository, "claim_due", counted_claim)
    monkeypatch.setattr(OutboxRepository, "mark_sent_many", counted_marks)
    limiter = RateLimiter(per_chat_interval=0.05, global_rate=200.0)
    dispatcher = dispatcher_for(database, bot, clock, Callbacks(), limiter=limiter, concurrency=8)
    stop = asyncio.Event()
    task = asyncio.create_task(dispatcher.run(stop, idle=0.1))
    await emulator.user(chats[0]).wait_for(lambda: all(emulator.sent(c) for c in chats), 10.0)
    await asyncio.sleep(0.3)  # the last marks
    stop.set()
    await asyncio.wait_for(task, 5.0)

    assert all(len(emulator.sent(chat)) == 1 for chat in chats)
    assert all(r.status == SENT for r in await rows(database))
    assert sum(marks) == 40 and sum(claims) == 40
    # Claims wait for half the concurrency to be free (4 rows); marks gather for 0.1 s.
    assert len([n for n in claims if n]) <= 15, f"rows per claim: {claims}"
    assert len(marks) <= 20, f"marks per transaction: {marks}"


def test_the_lease_must_outlast_a_delivery() -> None:
    with pytest.raises(ValueError, match="lease_seconds"):
        OutboxDispatcher(
            Database("sqlite+aiosqlite:///:memory:"),
            Bot("1:x"),
            ManualClock(datetime(2026, 1, 1, tzinfo=UTC)),
            owner="p",
            lease_seconds=10,
        )
