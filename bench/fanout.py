"""Fan-out benchmark: due reminders to distinct chats through the outbox, at Telegram's flood limits.

    .venv/bin/python bench/fanout.py --chats 1000 --scale 1     # a quick run at real limits (~35 s)
    .venv/bin/python bench/fanout.py --scale 1                  # issue 10's floor: 10,000 chats (~6 min)
    .venv/bin/python bench/fanout.py --scale 1 --engine postgresql
    .venv/bin/python bench/fanout.py --chats 1000 --scale 1 --profile /tmp/fanout.txt  # pyinstrument

Seeds N due T-0 rectification reminders for N people with N distinct Telegram chats in a throwaway
SQLite (or, with --engine postgresql, PostgreSQL) database (the bulk seed of
tests/e2e/test_reminders_two_processes.py), then runs the real ReminderTick and OutboxDispatcher (with its RateLimiter) in one process, as `rongcuo run` does,
against the Bot API emulator (tests/emulator) with its flood limits on: 30 messages/s overall and
1/s per chat, answering 429 + retry_after beyond them. The emulator runs in a child process so that
it does not share this process's CPU (the machine has 2 cores).

--scale S multiplies every limit by S in both the emulator and the dispatcher (30*S/s overall,
S/s per chat), so the run takes 1/S of the time; the figure that matters is the ratio
achieved rate / limit. A scaled run measures the bot process's CPU more than its pacing: at x10
one process cannot send 300 messages a second. The clock is real time shifted to a working Monday morning, so quiet hours
let the reminders out and a 429's retry comes due as it would in production.

Prints: messages, wall time, achieved rate, limit, ratio, 429 answers, duplicates, missing.
Floor (issue 10): ratio >= 0.95, zero 429 answers, every message delivered exactly once.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TELEGRAM_GLOBAL = 30.0  # messages per second overall
TELEGRAM_PER_CHAT = 1.0  # messages per second into one chat


# --- the emulator, in its own process ------------------------------------------------------------


async def serve_emulator(args: argparse.Namespace) -> None:
    """Child: run the emulator with flood limits, start the chats, report the sends when asked."""
    from tests.emulator import BotApiEmulator

    emulator = BotApiEmulator(
        per_chat_limit=TELEGRAM_PER_CHAT * args.scale, global_limit=TELEGRAM_GLOBAL * args.scale
    )
    await emulator.start()
    chats = [args.first_chat + n for n in range(args.chats)]
    for chat in chats:
        emulator.user(chat).send_text("/start")
    print(json.dumps({"base_url": emulator.base_url, "token": emulator.token}), flush=True)
    # Sends are timed on the emulator's side, too: first to last accepted sendMessage.
    times: list[float] = []
    original = emulator._note_send

    def note(chat: object) -> None:
        times.append(time.monotonic())
        original(chat)  # type: ignore[arg-type]

    emulator._note_send = note  # type: ignore[method-assign]
    await asyncio.to_thread(sys.stdin.readline)
    per_chat = {chat: len(emulator.sent(chat)) for chat in chats}
    statuses = Counter(error.status for error in emulator.errors)
    # Peak sends in any 1-second window, as the emulator counts them.
    peak, lo = 0, 0
    for hi, t in enumerate(times):
        while times[lo] <= t - 1.0:
            lo += 1
        peak = max(peak, hi - lo + 1)
    print(
        json.dumps(
            {
                "calls": len(emulator.calls_to("sendMessage")),
                "accepted": len(times),
                "span": (times[-1] - times[0]) if len(times) > 1 else 0.0,
                "first": times[0] if times else None,
                "last": times[-1] if times else None,
                "peak_per_second": peak,
                "errors": {str(k): v for k, v in statuses.items()},
                "per_chat": Counter(per_chat.values()),
                "internal_errors": [repr(e) for e in emulator.internal_errors[:5]],
            }
        ),
        flush=True,
    )
    await emulator.stop()


# --- the bot side ----------------------------------------------------------------------------------


class ShiftedClock:
    """Real time, moved so that the run starts at a given moment (a working morning)."""

    def __init__(self, start: datetime) -> None:
        self._offset = start.astimezone(UTC) - datetime.now(UTC)

    def now(self) -> datetime:
        return datetime.now(UTC) + self._offset


async def run(args: argparse.Namespace) -> None:
    from sqlalchemy import func, select

    import tests.e2e.test_reminders_two_processes as two
    from bot.config import load_settings
    from bot.delivery import OutboxDispatcher, RateLimiter
    from bot.logs import configure_logging
    from bot.runtime import build_runtime
    from bot.services.delivery_events import DeliveryEvents
    from storage.models import OutboxMessage
    from tests.databases import PostgresServer, migrated_sqlite
    from tests.e2e.reminder_worker import CountingBot, drain, reminder_tick

    configure_logging("WARNING")
    workdir = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    server = None
    if args.engine == "postgresql":
        server = PostgresServer()
        await server.setup()
        if server.unavailable:
            raise SystemExit(server.unavailable)
        database_url = await server.clone()
    else:
        database_url = await migrated_sqlite(workdir)
    global_rate = TELEGRAM_GLOBAL * args.scale
    send_rate = (args.send_rate or TELEGRAM_GLOBAL) * args.scale
    child = None
    try:
        # The two-process test's bulk seed, for --chats people (it reads the module's REMINDERS).
        two.REMINDERS = args.chats
        started = time.monotonic()
        seeded = await two.seed(database_url, workdir / "seed")
        print(
            f"seeded {len(seeded)} due reminders, {len(seeded)} chats in {time.monotonic() - started:.1f} s"
        )
        chats = {s.chat_id for s in seeded}

        child = subprocess.Popen(  # noqa: ASYNC220 (started once, before the measured part)
            [
                sys.executable,
                __file__,
                "--emulator-child",
                "--chats",
                str(args.chats),
                "--scale",
                str(args.scale),
                "--first-chat",
                str(two.FIRST_CHAT),
            ],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdin is not None and child.stdout is not None
        api = json.loads(await asyncio.to_thread(child.stdout.readline))
        base_url, token = api["base_url"], api["token"]

        clock = ShiftedClock(two.NOW)
        settings = load_settings(
            database_url=database_url,
            data_dir=workdir / "bot",
            telegram_token=token,
            telegram_api_url=base_url,
        )
        runtime = await build_runtime(settings, clock)
        try:
            tick = reminder_tick(runtime, "bench", args.batch)
            events = DeliveryEvents(runtime.database, runtime.directory, clock)
            async with CountingBot(token, base_url) as bot:
                dispatcher = OutboxDispatcher(
                    runtime.database,
                    bot,
                    clock,
                    owner="bench",
                    limiter=RateLimiter(per_chat_interval=1.0 / args.scale, global_rate=send_rate),
                    max_attempts=settings.outbox_max_attempts,
                    on_unreachable=events.unreachable,
                    on_dead=events.dead,
                    concurrency=args.concurrency,
                )
                stop = asyncio.Event()
                profiler = None
                if args.profile:
                    from pyinstrument import Profiler  # a developer's tool, not a dependency

                    profiler = Profiler(interval=0.002, async_mode="disabled")
                    profiler.start()
                go = time.monotonic()
                cpu = time.process_time()
                delivering = asyncio.create_task(dispatcher.run(stop, idle=0.05))
                try:
                    drained = await drain(runtime, tick, go + args.deadline)
                finally:
                    stop.set()
                    await delivering
                finish = time.monotonic()
                wall = finish - go
                cpu = time.process_time() - cpu
                if profiler is not None:
                    profiler.stop()
                    report = profiler.output_text(unicode=True, show_all=False)
                    await asyncio.to_thread(Path(args.profile).write_text, report)
                delivered = bot.delivered
            async with runtime.database.sessions() as session:
                outbox = Counter(
                    dict(
                        (
                            await session.execute(
                                select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
                            )
                        ).all()
                    )
                )
                retried = (
                    await session.execute(
                        select(func.count())
                        .select_from(OutboxMessage)
                        .where(OutboxMessage.last_error.is_not(None))
                    )
                ).scalar_one()
        finally:
            await runtime.database.dispose()

        child.stdin.write("report\n")
        child.stdin.flush()
        seen = json.loads(await asyncio.to_thread(child.stdout.readline))
        child.wait(timeout=30)
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
        if server is not None:
            if not args.keep:
                await server.drop(database_url)
            await server.teardown()

    per_chat = Counter(int(c) for c in delivered)
    duplicates = sum(n - 1 for n in per_chat.values() if n > 1)
    missing = len(chats - set(per_chat))
    emulator_dupes = sum((int(k) - 1) * v for k, v in seen["per_chat"].items() if int(k) > 1)
    emulator_missing = seen["per_chat"].get("0", 0)
    messages = len(delivered)
    achieved = messages / wall
    span_rate = (seen["accepted"] - 1) / seen["span"] if seen["span"] else 0.0
    too_many = seen["errors"].get("429", 0)
    print(
        f"engine {args.engine}, {args.chats} chats, scale x{args.scale:g}: emulator limits {global_rate:g}/s overall, "
        f"{TELEGRAM_PER_CHAT * args.scale:g}/s per chat; dispatcher global_rate {send_rate:g}/s, "
        f"per_chat_interval {1.0 / args.scale:g} s, concurrency {args.concurrency}, tick batch {args.batch}"
    )
    print(
        f"messages        {messages}  (reminders finished {drained.report.finished}, ticks {drained.ticks})"
    )
    print(f"wall time       {wall:.2f} s  (first claim to last delivery; bot process CPU {cpu:.1f} s)")
    if seen["first"] is not None:
        # Both processes read the same system-wide monotonic clock.
        print(
            f"                first send {seen['first'] - go:.2f} s after the start, "
            f"last one {finish - seen['last']:.2f} s before the end"
        )
    print(f"achieved rate   {achieved:.2f} msg/s  (emulator side, first to last send: {span_rate:.2f} msg/s)")
    print(f"limit           {global_rate:g} msg/s  (= {TELEGRAM_GLOBAL:g}/s x {args.scale:g})")
    print(f"ratio           {achieved / global_rate:.3f}  (emulator side {span_rate / global_rate:.3f})")
    print(
        f"429 answers     {too_many}  (all API errors {seen['errors'] or 0}; peak {seen['peak_per_second']} sends in 1 s)"
    )
    print(f"duplicates      {duplicates}  (emulator: {emulator_dupes})")
    print(f"missing         {missing}  (emulator: {emulator_missing})")
    print(
        f"outbox          {dict(outbox)}, rows that ever failed {retried}; sendMessage calls {seen['calls']}"
    )
    if seen["internal_errors"]:
        print(f"emulator internal errors: {seen['internal_errors']}")
    floor = achieved / global_rate >= 0.95 and too_many == 0 and duplicates == 0 and missing == 0
    print(f"floor (ratio >= 0.95, no 429, exactly once): {'met' if floor else 'MISSED'}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--chats", type=int, default=10_000, help="due reminders, one per distinct chat")
    parser.add_argument("--scale", type=float, default=10.0, help="multiply every flood limit by this")
    parser.add_argument(
        "--send-rate", type=float, default=None, help="dispatcher's global rate before scaling (default 30)"
    )
    parser.add_argument("--concurrency", type=int, default=32, help="outbox rows in flight")
    parser.add_argument("--batch", type=int, default=200, help="reminders claimed per tick transaction")
    parser.add_argument("--deadline", type=float, default=1800.0, help="seconds before giving up")
    parser.add_argument("--keep", action="store_true", help="keep the temporary database")
    parser.add_argument(
        "--profile", metavar="PATH", help="write a pyinstrument profile of the bot side here (pip install it)"
    )
    parser.add_argument("--emulator-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--first-chat", type=int, default=0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    for name in [n for n in os.environ if n.startswith("RONGCUO_") and n != "RONGCUO_TEST_PG_URL"]:
        del os.environ[name]
    if args.emulator_child:
        asyncio.run(serve_emulator(args))
    else:
        asyncio.run(run(args))


if __name__ == "__main__":
    main()
