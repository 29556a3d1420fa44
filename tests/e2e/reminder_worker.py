"""One bot process's share of the reminder work, for the two-process exactly-once test.

    python -m tests.e2e.reminder_worker --database-url URL --api-url URL --token TOKEN \
        --now 2026-11-23T10:00+08:00 --owner worker-a

Builds the real runtime, runs the reminder tick in a loop with an outbox dispatcher delivering
alongside (as `rongcuo run` does), until no reminder and no outbox row is pending anywhere in the
database, then prints one JSON line on stdout: what THIS process finished and delivered. Logs go
to stderr, so stdout stays parseable.

Start-up is a barrier with the test: once the runtime is built the worker prints "ready" and
waits for a "go" line on stdin, so two workers start claiming at the same moment rather than one
a second or two after the other (imports, directory load).

The clock is fixed: reminders are only sent in working hours, and a fixed time makes both
processes agree on what is due and keeps every lease valid for the whole run, so "exactly once"
rests on the claims alone, not on leases expiring at the right moment.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from datetime import datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from telegram import Bot, Message

from bot.channels.telegram_transport import AiohttpRequest
from bot.clock import ManualClock
from bot.config import load_settings
from bot.delivery import OutboxDispatcher, RateLimiter
from bot.logs import configure_logging
from bot.quiet_hours import QuietHours
from bot.runtime import Runtime, build_runtime
from bot.services.delivery_events import DeliveryEvents
from bot.services.reminders.tick import ReminderTick, TickReport
from storage.database import Database
from storage.models import OutboxMessage, Reminder

PENDING = "pending"
# Short pauses: the loops below poll the database, and the run should end soon after the work.
POLL = 0.05


class CountingBot(Bot):
    """A Bot that remembers the chats it delivered to: which process sent what, for the test.

    It sends through the program's own transport, as the dispatcher's Bot does in `rongcuo run`.
    """

    def __init__(self, token: str, base_url: str) -> None:
        super().__init__(token, base_url=base_url, request=AiohttpRequest())
        # Underscored: PTB freezes a Bot's public attributes after __init__.
        self._delivered: list[int | str] = []

    async def send_message(self, *args: Any, **kwargs: Any) -> Message:  # type: ignore[override]
        message = await super().send_message(*args, **kwargs)
        # Counted only after Telegram's answer, like the dispatcher's own notion of "sent".
        self._delivered.append(kwargs.get("chat_id", args[0] if args else None))
        return message

    @property
    def delivered(self) -> list[int | str]:
        return list(self._delivered)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="reminder_worker")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--api-url", required=True, help="Bot API base URL, as PTB's base_url takes it")
    parser.add_argument("--token", required=True)
    parser.add_argument("--now", required=True, help="the fixed time, ISO with an offset")
    parser.add_argument("--owner", required=True, help="this process's name in leases")
    parser.add_argument("--data-dir", type=Path, default=Path("data"))
    parser.add_argument("--batch", type=int, default=50, help="reminders claimed per transaction")
    parser.add_argument("--concurrency", type=int, default=32, help="outbox rows in flight")
    parser.add_argument("--send-rate", type=float, default=1000.0, help="messages per second overall")
    parser.add_argument("--no-barrier", action="store_true", help="start at once, not on 'go' from stdin")
    parser.add_argument("--deadline", type=float, default=150.0, help="seconds before giving up")
    return parser.parse_args(argv)


async def wait_for_go() -> None:
    print("ready", flush=True)
    # EOF (the test went away) unblocks the read as well, so this never hangs on its own.
    line = await asyncio.to_thread(sys.stdin.readline)
    if line.strip() != "go":
        raise SystemExit(f"expected 'go' on stdin, got {line!r}")


async def backlog(database: Database) -> tuple[int, int]:
    """Pending reminders and pending outbox rows, whoever holds them."""
    async with database.sessions() as session:
        reminders = (
            await session.execute(
                select(func.count()).select_from(Reminder).where(Reminder.status == PENDING)
            )
        ).scalar_one()
        outbox = (
            await session.execute(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == PENDING)
            )
        ).scalar_one()
    return int(reminders), int(outbox)


def add(total: TickReport, report: TickReport) -> None:
    total.sent += report.sent
    total.skipped += report.skipped
    total.undeliverable += report.undeliverable
    total.messages += report.messages
    total.lost += report.lost


def reminder_tick(runtime: Runtime, owner: str, batch: int) -> ReminderTick:
    # As Runtime.reminder_tick builds it, but with a name and batch size the test chooses.
    settings = runtime.settings
    quiet = QuietHours(
        runtime.env.calendar,
        runtime.env.tz,
        start=clock_time(settings.quiet_start),
        end=clock_time(settings.quiet_end),
    )
    return ReminderTick(
        runtime.database,
        lambda: runtime.directory,
        runtime.clock,
        runtime.env,
        owner=owner,
        quiet=quiet,
        batch=batch,
    )


@dataclass
class Drained:
    report: TickReport = field(default_factory=TickReport)
    ticks: int = 0
    last_finished: float = 0.0  # monotonic time this process last finished a reminder


async def drain(runtime: Runtime, tick: ReminderTick, deadline: float) -> Drained:
    """Tick until nothing is pending anywhere; returns what this process did."""
    drained = Drained()
    while True:
        report = await tick.run()
        drained.ticks += 1
        add(drained.report, report)
        if report.finished or report.lost:
            drained.last_finished = time.monotonic()
            continue
        reminders, outbox = await backlog(runtime.database)
        if not reminders and not outbox:
            return drained
        if time.monotonic() > deadline:
            raise TimeoutError(
                f"{tick.owner}: still pending after the deadline: {reminders} reminders, {outbox} outbox rows"
            )
        # The rest is leased by the other process, or waiting for a dispatcher.
        await asyncio.sleep(POLL)


async def work(args: argparse.Namespace) -> dict[str, Any]:
    started = time.monotonic()
    clock = ManualClock(datetime.fromisoformat(args.now))
    settings = load_settings(
        database_url=args.database_url,
        data_dir=args.data_dir,
        telegram_token=args.token,
        telegram_api_url=args.api_url,
    )
    runtime = await build_runtime(settings, clock)
    try:
        tick = reminder_tick(runtime, args.owner, args.batch)
        events = DeliveryEvents(runtime.database, runtime.directory, clock)
        async with CountingBot(args.token, args.api_url) as bot:
            dispatcher = OutboxDispatcher(
                runtime.database,
                bot,
                clock,
                owner=args.owner,
                # Outcome test, not a pacing test: one message per chat, and the emulator's
                # flood limits are off.
                limiter=RateLimiter(per_chat_interval=0.05, global_rate=args.send_rate),
                max_attempts=settings.outbox_max_attempts,
                on_unreachable=events.unreachable,
                on_dead=events.dead,
                concurrency=args.concurrency,
            )
            if not args.no_barrier:
                await wait_for_go()
            go = time.monotonic()
            stop = asyncio.Event()
            delivering = asyncio.create_task(dispatcher.run(stop, idle=POLL), name="outbox-dispatcher")
            try:
                drained = await drain(runtime, tick, go + args.deadline)
            finally:
                stop.set()
                await delivering
            delivered = bot.delivered
    finally:
        await runtime.database.dispose()
    report = drained.report
    return {
        "owner": args.owner,
        "pid": os.getpid(),
        "reminders": {**asdict(report), "finished": report.finished},
        "ticks": drained.ticks,
        "delivered": delivered,
        "startup_seconds": round(go - started, 3),
        "ticking_seconds": round(max(drained.last_finished - go, 0.0), 3),
        "work_seconds": round(time.monotonic() - go, 3),
        "cpu_seconds": round(time.process_time(), 3),
    }


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging("WARNING")
    summary = asyncio.run(work(args))
    print(json.dumps(summary, ensure_ascii=False), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
