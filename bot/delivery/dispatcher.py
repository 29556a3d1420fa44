"""Sends the Telegram rows of the outbox and records what became of each.

Delivery is at-least-once. The row is marked only after Telegram answers, so a message can go
out twice when:
- a request times out or the connection drops after Telegram accepted it (the Bot API has no
  idempotency key, so a retry cannot be told apart from a new message); generous timeouts keep
  this to real outages rather than slow answers;
- the process dies, or the database is unreachable, between Telegram's answer and the mark:
  the lease expires and another claim sends the row again.
Everything else (ordering per chat, one sender per row) is guaranteed by the lease.

The costs are paid per batch, not per message, so that one process can keep up with Telegram's
30 messages a second: rows are claimed (leased) in batches of up to half the concurrency, and
accepted sends are marked together, each with its own send time and message id: a send after a
quiet spell is marked at once, as before, but then at most one transaction per ``mark_delay``
(0.1 s) records all the sends accepted meanwhile. A row counts against the concurrency until its request is answered,
not until its mark is written, so a slow commit (SQLite's single writer busy with the reminder
tick) does not stop the sending. The exactly-once window is unchanged: a row is marked sent only
after Telegram accepted it, and it keeps its lease until the mark is committed, so a crash
re-sends at most the rows in flight and the ones accepted in the last ``mark_delay``.
"""

from __future__ import annotations

import asyncio
import random
import warnings
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import TypeVar

import structlog
from sqlalchemy.exc import SQLAlchemyError
from telegram import Bot
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    RetryAfter,
    TelegramError,
)
from telegram.warnings import PTBDeprecationWarning

from bot.clock import Clock
from bot.delivery.backoff import backoff
from bot.delivery.limiter import RateLimiter
from bot.delivery.payload import MalformedPayload, render
from bot.metrics import Metrics
from storage.database import Database
from storage.models import OutboxMessage
from storage.repositories.outbox import DEAD, SENT, UNDELIVERABLE, OutboxRepository
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)

TELEGRAM = "telegram"
RETRY = "retry"
DEFERRED = "deferred"
ABANDONED = "abandoned"  # the lease was lost or the outcome could not be recorded

OnUnreachable = Callable[[int | None, str], Awaitable[None]]
OnDead = Callable[[OutboxMessage], Awaitable[None]]
T = TypeVar("T")

# A bad token fails every row alike; waiting it out must not burn their attempts.
_INVALID_TOKEN_PAUSE = timedelta(minutes=1)
# Time for claiming, marking and scheduling around the HTTP request itself, within a lease.
_LEASE_MARGIN = 5.0
_RECORD_TRIES = 3
# Accepted sends marked in one statement at most; more wait for the next transaction.
_MARK_BATCH = 200
# Rows claimed and not yet finished (answered or not), as a multiple of the concurrency: beyond
# it nothing new is claimed, so a database that cannot keep up with the marks slows the sending
# instead of piling up leases.
_MAX_UNMARKED = 4


@dataclass(frozen=True)
class Timeouts:
    """Per-request HTTP timeouts, in seconds.

    The read timeout is generous on purpose: a slow answer treated as a failure would be sent
    again, and Telegram may well have delivered the first one (see the module docstring).
    """

    connect: float = 5.0
    write: float = 10.0
    read: float = 20.0
    pool: float = 5.0

    @property
    def worst_case(self) -> float:
        return self.connect + self.write + self.read + self.pool


@dataclass
class _Accepted:
    """A send Telegram accepted, waiting for its mark."""

    row_id: int
    message_id: int
    at: datetime
    marked: asyncio.Future[bool]


class OutboxDispatcher:
    def __init__(
        self,
        database: Database,
        bot: Bot,
        clock: Clock,
        *,
        owner: str,
        max_attempts: int = 8,
        lease_seconds: float = 60,
        on_unreachable: OnUnreachable | None = None,
        on_dead: OnDead | None = None,
        limiter: RateLimiter | None = None,
        timeouts: Timeouts | None = None,
        max_local_wait: float = 5.0,
        concurrency: int = 32,
        mark_delay: float = 0.1,
        rng: random.Random | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        """``owner`` names this process in leases; it must differ between processes.

        ``max_local_wait``: a chat that must wait longer than this (flood control, a group's
        per-minute budget) is handed back to the queue with a later due time instead of holding
        its lease while it sleeps. ``concurrency`` bounds the rows claimed and not yet answered
        in ``run``; the bot's HTTP connection pool should be at least that large (PTB's default
        is 256). ``mark_delay``: the least time between two mark transactions; the sends
        accepted meanwhile are marked together.
        """
        if not owner or len(owner) > 60:
            raise ValueError("owner must be 1 to 60 characters (it is stored in outbox.lease_owner)")
        if max_attempts < 1 or concurrency < 1:
            raise ValueError("max_attempts and concurrency must be at least 1")
        if mark_delay < 0:
            raise ValueError("mark_delay must not be negative")
        self._database = database
        self._bot = bot
        self._clock = clock
        self.owner = owner
        self._max_attempts = max_attempts
        self._limiter = limiter or RateLimiter()
        self._timeouts = timeouts or Timeouts()
        self._max_local_wait = max_local_wait
        self._concurrency = concurrency
        self._mark_delay = mark_delay
        self._accepted: list[_Accepted] = []
        self._marking: asyncio.Task[None] | None = None
        self._marked_at = float("-inf")  # event-loop time the last mark transaction began
        # Rows claimed whose request has not been answered yet, and the event ``run`` waits on.
        self._unanswered: set[int] = set()
        self._answered: asyncio.Event | None = None
        self._on_unreachable = on_unreachable
        self._on_dead = on_dead
        self._rng = rng or random.Random()
        self._metrics = metrics
        self._lease = timedelta(seconds=lease_seconds)
        # A lease running out while its row is still being sent lets a second process send it too.
        needed = (
            max_local_wait
            + self._limiter.queue_time(concurrency)
            + self._timeouts.worst_case
            + mark_delay
            + _LEASE_MARGIN
        )
        if lease_seconds < needed:
            raise ValueError(
                f"lease_seconds={lease_seconds} is shorter than one delivery may take ({needed:.0f} s)"
            )

    def _count_error(self) -> None:
        if self._metrics is not None:
            self._metrics.error("outbox")

    async def run_once(self, limit: int = 100) -> int:
        """Claim the due rows (one per chat), deliver them concurrently; returns how many were claimed."""
        rows = await self._claim(limit)
        if rows:
            await asyncio.gather(*(self._start(row) for row in rows))
        return len(rows)

    async def run(self, stop: asyncio.Event, idle: float = 0.5) -> None:
        """Deliver until ``stop`` is set, claiming again as sends are answered or ``idle`` passes.

        Unlike repeated ``run_once`` calls, a slow chat never holds up the next round of others.
        Claims come in batches: once half the concurrency is free (or every claimed row has been
        answered, or ``idle`` passed), not after every single answer, so one claim's cost is
        shared by many rows.
        """
        in_flight: set[asyncio.Task[str]] = set()
        answered = self._answered = asyncio.Event()
        refill = max(1, self._concurrency // 2)
        stopping = asyncio.create_task(stop.wait())
        woken = asyncio.create_task(answered.wait())
        timed_out = True
        try:
            while not stop.is_set():
                # Cleared before looking, so an answer that comes during the claim wakes the wait.
                answered.clear()
                if woken.done():
                    woken = asyncio.create_task(answered.wait())
                room = self._concurrency - len(self._unanswered)
                wanted = room >= refill or not self._unanswered or timed_out
                if room > 0 and wanted and len(in_flight) < _MAX_UNMARKED * self._concurrency:
                    try:
                        rows = await self._claim(room)
                    except Exception:
                        log.exception("outbox_claim_failed", owner=self.owner)
                        self._count_error()
                        rows = []
                    for row in rows:
                        task = asyncio.create_task(self._start(row))
                        in_flight.add(task)
                        task.add_done_callback(in_flight.discard)
                done, _ = await asyncio.wait(
                    {woken, stopping}, timeout=idle, return_when=asyncio.FIRST_COMPLETED
                )
                timed_out = not done
        finally:
            stopping.cancel()
            woken.cancel()
            if in_flight:
                # Cancelling a request mid-flight leaves its fate unknown, so let it finish.
                _, unfinished = await asyncio.wait(
                    in_flight, timeout=self._timeouts.worst_case + self._mark_delay
                )
                for task in unfinished:
                    task.cancel()
                await asyncio.gather(*unfinished, return_exceptions=True)
            if self._marking is not None and not self._marking.done():
                await asyncio.wait({self._marking}, timeout=self._timeouts.worst_case)
            self._answered = None

    # --- one row ---------------------------------------------------------------------------------

    async def _claim(self, limit: int) -> list[OutboxMessage]:
        return await self._record(
            lambda repo: repo.claim_due(
                owner=self.owner, now=self._clock.now(), lease=self._lease, limit=limit, channel=TELEGRAM
            )
        )

    def _start(self, row: OutboxMessage) -> Awaitable[str]:
        # Counted from the claim on, before the task first runs, so the next claim sees it.
        if row.id is not None:
            self._unanswered.add(row.id)
        return self._deliver(row)

    async def _deliver(self, row: OutboxMessage) -> str:
        """Send one claimed row and record the outcome; never raises (the lease is the safety net)."""
        try:
            return await self._attempt(row)
        except Exception:
            log.exception("outbox_delivery_failed", outbox_id=row.id, chat_id=row.chat_id)
            self._count_error()
            return ABANDONED
        finally:
            self._answer(row)

    def _answer(self, row: OutboxMessage) -> None:
        """The row no longer waits for Telegram: its place may go to a newly claimed one."""
        if row.id in self._unanswered:
            self._unanswered.discard(row.id)
            if self._answered is not None:
                self._answered.set()

    async def _attempt(self, row: OutboxMessage) -> str:
        try:
            text, markup = render(row.payload)
        except MalformedPayload as exc:
            return await self._dead(row, f"malformed payload: {exc}")
        wait = self._limiter.delay(row.chat_id)
        if wait > self._max_local_wait:
            return await self._retry(
                row, timedelta(seconds=wait), row.last_error, count=False, outcome=DEFERRED
            )
        try:
            async with self._limiter.slot(row.chat_id):
                message = await self._bot.send_message(
                    chat_id=_chat_ref(row.chat_id),
                    text=text,
                    reply_markup=markup,
                    read_timeout=self._timeouts.read,
                    write_timeout=self._timeouts.write,
                    connect_timeout=self._timeouts.connect,
                    pool_timeout=self._timeouts.pool,
                )
        except Exception as exc:
            self._answer(row)
            return await self._refused(row, exc)
        self._answer(row)
        message_id = message.message_id
        if not await self._mark_sent(row, message_id):
            log.warning("outbox_lease_lost_after_send", outbox_id=row.id, chat_id=row.chat_id)
            return ABANDONED
        log.debug("outbox_sent", outbox_id=row.id, chat_id=row.chat_id, message_id=message_id)
        return SENT

    async def _refused(self, row: OutboxMessage, exc: Exception) -> str:
        """Record a send that failed, by what the failure says about the row's future."""
        if isinstance(exc, RetryAfter):
            seconds = _retry_after_seconds(exc)
            self._limiter.defer(row.chat_id, seconds)
            return await self._retry(row, timedelta(seconds=seconds), str(exc), count=False)
        if isinstance(exc, Forbidden):
            return await self._undeliverable(row, _describe(exc))
        if isinstance(exc, BadRequest):  # before NetworkError: PTB makes BadRequest a subclass of it
            return await self._dead(row, _describe(exc))
        if isinstance(exc, ChatMigrated):
            # The group became a supergroup; whoever queued for the old id must learn the new one.
            return await self._dead(row, f"chat migrated to {exc.new_chat_id}")
        if isinstance(exc, InvalidToken):
            log.error("outbox_invalid_token", outbox_id=row.id, error=str(exc))
            return await self._retry(row, _INVALID_TOKEN_PAUSE, _describe(exc), count=False)
        if isinstance(exc, TelegramError):  # NetworkError, TimedOut, 5xx: the message may be sent later
            return await self._transient(row, _describe(exc))
        # Not PTB's: count it, so a steady failure ends as a dead row.
        log.error("outbox_send_crashed", outbox_id=row.id, exc_info=exc)
        self._count_error()
        return await self._transient(row, repr(exc))

    async def _mark_sent(self, row: OutboxMessage, message_id: int) -> bool:
        """Queue the mark of an accepted send; True once committed, False if the lease was lost."""
        accepted = _Accepted(
            _id(row), message_id, self._clock.now(), asyncio.get_running_loop().create_future()
        )
        self._accepted.append(accepted)
        if self._marking is None or self._marking.done():
            self._marking = asyncio.create_task(self._mark_accepted(), name="outbox-marks")
        return await accepted.marked

    async def _mark_accepted(self) -> None:
        """Write the queued marks, a batch per transaction, until none is left."""
        loop = asyncio.get_running_loop()
        while self._accepted:
            # Sends answered meanwhile join this transaction. A lone send is marked at once, as
            # before batching: until its mark, the chat's next message waits behind it.
            wait = self._marked_at + self._mark_delay - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._marked_at = loop.time()
            batch = self._accepted[:_MARK_BATCH]
            del self._accepted[:_MARK_BATCH]
            mark = partial(
                OutboxRepository.mark_sent_many,
                sent=[(a.row_id, a.at, a.message_id) for a in batch],
                owner=self.owner,
                chat_interval=timedelta(seconds=self._limiter.per_chat_interval),
            )
            try:
                applied = await self._record(mark)
            except Exception as exc:
                for accepted in batch:
                    if not accepted.marked.done():
                        accepted.marked.set_exception(exc)
                continue
            for accepted in batch:
                if not accepted.marked.done():
                    accepted.marked.set_result(accepted.row_id in applied)

    async def _transient(self, row: OutboxMessage, error: str) -> str:
        attempts = row.attempts + 1
        if attempts >= self._max_attempts:
            return await self._dead(row, f"gave up after {attempts} attempts: {error}")
        return await self._retry(row, backoff(attempts, self._rng), error, count=True)

    async def _retry(
        self, row: OutboxMessage, after: timedelta, error: str | None, *, count: bool, outcome: str = RETRY
    ) -> str:
        due = self._clock.now() + after
        applied = await self._record(lambda repo: repo.mark_retry(_id(row), self.owner, due, error, count))
        if not applied:
            return ABANDONED
        log.info("outbox_retry", outbox_id=row.id, chat_id=row.chat_id, due=due.isoformat(), error=error)
        return outcome

    async def _dead(self, row: OutboxMessage, error: str) -> str:
        if not await self._record(lambda repo: repo.mark_dead(_id(row), self.owner, error)):
            return ABANDONED
        log.warning("outbox_dead", outbox_id=row.id, chat_id=row.chat_id, error=error)
        row.status, row.last_error, row.attempts = DEAD, error, row.attempts + 1
        row.lease_owner = row.lease_until = None
        if self._on_dead is not None:
            await self._notify(self._on_dead(row), "on_dead", row)
        return DEAD

    async def _undeliverable(self, row: OutboxMessage, error: str) -> str:
        # The rest of the chat's queue would meet the same refusal; marking it now means the
        # service hears about this recipient once, not once per queued message.
        marked = await self._record(
            lambda repo: repo.mark_undeliverable(_id(row), self.owner, error, rest_of_chat=True)
        )
        if not marked:
            return ABANDONED
        log.warning("outbox_undeliverable", outbox_id=row.id, chat_id=row.chat_id, rows=marked, error=error)
        # Called after the commit, so a crash can lose the call but never repeat it.
        if self._on_unreachable is not None:
            await self._notify(self._on_unreachable(row.user_id, row.chat_id), "on_unreachable", row)
        return UNDELIVERABLE

    async def _notify(self, call: Awaitable[None], name: str, row: OutboxMessage) -> None:
        try:
            await call
        except Exception:
            log.exception("outbox_callback_failed", callback=name, outbox_id=row.id)
            self._count_error()

    async def _record(self, action: Callable[[OutboxRepository], Awaitable[T]]) -> T:
        """Run ``action`` in its own short transaction, retrying a database hiccup.

        Losing the record of a send would let the lease expire and the message go out again.
        """
        for attempt in range(1, _RECORD_TRIES + 1):
            try:
                # A unit of work, so that on SQLite this queues with the process's other writers.
                async with UnitOfWork(self._database) as uow:
                    result = await action(uow.outbox)
                    await uow.commit()
                    return result
            except (SQLAlchemyError, OSError):
                if attempt == _RECORD_TRIES:
                    raise
                log.warning("outbox_database_retry", attempt=attempt, exc_info=True)
                await asyncio.sleep(0.2 * 2**attempt)
        raise AssertionError("unreachable")


def _id(row: OutboxMessage) -> int:
    if row.id is None:
        raise ValueError("outbox row without id")
    return row.id


def _chat_ref(chat_id: str) -> int | str:
    # Stored as text (other channels have other ids); Telegram wants numbers, or "@name" for channels.
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def _retry_after_seconds(exc: RetryAfter) -> float:
    # PTB 22 warns on reading retry_after as an int; both forms are accepted until it decides.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", PTBDeprecationWarning)
        value = exc.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return max(seconds, 1.0)


def _describe(exc: TelegramError) -> str:
    return f"{type(exc).__name__}: {exc.message}"
