"""Two bot processes, one database, 5,000 due reminders: every reminder reaches its person once.

Each worker (tests/e2e/reminder_worker.py) is a separate OS process running the real reminder
tick and outbox dispatcher, as two `rongcuo run` instances behind one database would. They start
behind a barrier so their claims really race. The proof is counted from three independent
sides: the database (every reminder finished once, one outbox row each, all sent), the Bot API
emulator (one sendMessage per chat, with that person's item in the text) and the workers' own
reports (disjoint shares that add up to the whole).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import build_runtime
from bot.services.reminders import schedule
from bot.services.reminders.plans import RECT_SUBJECT
from dialogs.texts import Texts
from storage.database import Database
from storage.models import (
    Filing,
    OutboxMessage,
    RectificationItem,
    Reminder,
    User,
    UserIdentity,
    UserRole,
)
from tests.e2e.telegram_harness import emulator_running
from tests.emulator import BotApiEmulator, message_text

ROOT = Path(__file__).resolve().parents[2]
TZ = ZoneInfo("Asia/Shanghai")
# A Monday morning and an official working day: the quiet hours let reminders out.
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)
REMINDERS = 5000
JURISDICTION = "530127"  # 嵩明县
UNITS = [f"{JURISDICTION}{n:03d}" for n in range(1, 13)]  # its units in the shipped directory
FIRST_CHAT = 610_000_000
OFFICER_CHAT = 609_999_999
WORKERS = ("worker-a", "worker-b")
# Small claims, so neither process can take the whole backlog before the other is running.
BATCH = 25
STARTUP_TIMEOUT = 60.0
# Generous: this is an outcome test, and CI machines are shared (about 100 s when idle, 2 cores).
WORK_TIMEOUT = 600.0


@dataclass(frozen=True, slots=True)
class Seeded:
    """One person's due reminder, and what its message must say."""

    user_id: int
    chat_id: int
    reminder_id: int
    ref: str
    problem: str


async def _insert(session: AsyncSession, model: Any, rows: list[dict[str, Any]]) -> list[int]:
    """Bulk INSERT ... RETURNING id, ids in the order of `rows`."""
    statement = insert(model).returning(model.id, sort_by_parameter_order=True)
    return list((await session.execute(statement, rows)).scalars())


async def seed(database_url: str, data_dir: Path) -> list[Seeded]:
    """Registered cadres with accepted filings, one open item each, due today with its T-0 reminder.

    Rows are written in bulk (the dialogs would take minutes for 5,000 people) but hold what the
    services write: the reminder row is what plan_rectification plans for an item due today.
    """
    # Building the runtime once syncs the organisation directory the filings point into.
    runtime = await build_runtime(
        load_settings(database_url=database_url, data_dir=data_dir), ManualClock(NOW)
    )
    texts = Texts("zh_CN")
    today = NOW.date()
    due = today.isoformat()
    due_at = schedule.at_hour(today, TZ)
    registered = NOW - timedelta(days=60)
    submitted = NOW - timedelta(days=30)
    reviewed = NOW - timedelta(days=28)
    item_set = NOW - timedelta(days=21)
    try:
        async with runtime.database.sessions() as session:
            [officer] = await _insert(
                session,
                User,
                [
                    {
                        "name": "王纪",
                        "unit_code": JURISDICTION,
                        "position": "纪检监察干部",
                        "locale": "zh_CN",
                        "registered_at": registered,
                        "created_at": registered,
                        "updated_at": registered,
                    }
                ],
            )
            await _insert(
                session,
                UserRole,
                [
                    {
                        "user_id": officer,
                        "role": "officer",
                        "jurisdiction_code": JURISDICTION,
                        "granted_at": registered,
                    }
                ],
            )
            people = range(REMINDERS)
            users = await _insert(
                session,
                User,
                [
                    {
                        "name": f"干部{n:04d}",
                        "unit_code": UNITS[n % len(UNITS)],
                        "position": "科员",
                        "locale": "zh_CN",
                        "registered_at": registered,
                        "created_at": registered,
                        "updated_at": registered,
                    }
                    for n in people
                ],
            )
            chats = [FIRST_CHAT + n for n in people]
            await _insert(
                session,
                UserIdentity,
                [
                    {
                        "user_id": user,
                        "channel": "telegram",
                        "external_id": str(chat),
                        "display_name": f"干部{n:04d}",
                        "reachable": True,
                        "created_at": registered,
                    }
                    for n, (user, chat) in enumerate(zip(users, chats, strict=True))
                ]
                + [
                    {
                        "user_id": officer,
                        "channel": "telegram",
                        "external_id": str(OFFICER_CHAT),
                        "reachable": True,
                        "created_at": registered,
                    }
                ],
            )
            numbers = [f"嵩明-{today.year}-{n + 1:04d}" for n in people]
            filings = await _insert(
                session,
                Filing,
                [
                    {
                        "draft_key": f"seed-{n}",
                        "number": numbers[n],
                        "user_id": users[n],
                        "unit_code": UNITS[n % len(UNITS)],
                        "jurisdiction_code": JURISDICTION,
                        "status": "accepted",
                        "title": f"乡村道路改造项目第{n + 1}标段先行施工",
                        "answers": {},
                        "year": today.year,
                        "seq": n + 1,
                        "created_at": submitted,
                        "updated_at": reviewed,
                        "submitted_at": submitted,
                        "review_due_at": submitted + timedelta(days=3),
                        "reviewed_at": reviewed,
                        "reviewed_by": officer,
                        "risk_colour": "yellow",
                        "decision_number": f"嵩明容受〔{today.year}〕{n + 1}号",
                        "decision_seq": n + 1,
                    }
                    for n in people
                ],
            )
            problems = [f"第{n + 1}标段施工台账缺少监理签字" for n in people]
            items = await _insert(
                session,
                RectificationItem,
                [
                    {
                        "filing_id": filings[n],
                        "item_no": 1,
                        "problem": problems[n],
                        "measure": "补齐监理签字并建立台账归档制度",
                        "owner_user_id": users[n],
                        "due_date": today,
                        "original_due_date": today,
                        "status": "open",
                        "extended": False,
                        "evidence": [],
                        "created_by": officer,
                        "created_at": item_set,
                        "updated_at": item_set,
                    }
                    for n in people
                ],
            )
            # One point per item (T-0), so no row can be skipped as superseded by a later one.
            reminders = await _insert(
                session,
                Reminder,
                [
                    {
                        "kind": "rect_due",
                        "due_at": due_at,
                        "target_user_id": users[n],
                        "subject_type": RECT_SUBJECT,
                        "subject_id": str(items[n]),
                        "status": "pending",
                        "attempts": 0,
                        "payload": {"due": due, "label": "T-0", "filing_id": filings[n]},
                        "created_at": item_set,
                        "dedupe_key": f"rect:{items[n]}:{due}:T-0",
                    }
                    for n in people
                ],
            )
            await session.commit()
    finally:
        await runtime.database.dispose()
    return [
        Seeded(
            user_id=users[n],
            chat_id=chats[n],
            reminder_id=reminders[n],
            ref=texts("rect.ref", number=numbers[n], no=1),
            problem=problems[n],
        )
        for n in people
    ]


@dataclass
class Worker:
    owner: str
    process: asyncio.subprocess.Process
    log: Path
    output: asyncio.Task[tuple[bytes, bytes]] | None = None

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")[-4000:] if self.log.exists() else ""


async def start_worker(owner: str, database_url: str, emulator: BotApiEmulator, workdir: Path) -> Worker:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RONGCUO_")}
    log = workdir / f"{owner}.log"
    with log.open("wb") as handle:  # the child keeps its own descriptor
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.e2e.reminder_worker",
            "--database-url",
            database_url,
            "--api-url",
            emulator.base_url,
            "--token",
            emulator.token,
            "--now",
            NOW.isoformat(),
            "--owner",
            owner,
            "--data-dir",
            str(workdir / owner),
            "--batch",
            str(BATCH),
            "--deadline",
            str(WORK_TIMEOUT - 30),
            # Not the checkout: no stray .env is read from there.
            cwd=workdir,
            env={**clean, "PYTHONPATH": str(ROOT)},
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=handle,
        )
    return Worker(owner, process, log)


async def release_together(workers: list[Worker]) -> None:
    """Wait until every worker has built its runtime, then let them all go at once."""
    for worker in workers:
        assert worker.process.stdout is not None
        try:
            line = await asyncio.wait_for(worker.process.stdout.readline(), STARTUP_TIMEOUT)
        except TimeoutError:
            raise AssertionError(f"{worker.owner} not ready within {STARTUP_TIMEOUT}s") from None
        assert line.strip() == b"ready", f"{worker.owner} failed to start:\n{worker.stderr()}"
    for worker in workers:
        assert worker.process.stdin is not None
        worker.process.stdin.write(b"go\n")
    for worker in workers:
        assert worker.process.stdin is not None
        await worker.process.stdin.drain()
        # Read the rest of stdout from now on, so a full pipe can never stall the child.
        worker.output = asyncio.create_task(worker.process.communicate())


async def finish(worker: Worker) -> dict[str, Any]:
    assert worker.output is not None
    try:
        stdout, _ = await asyncio.wait_for(asyncio.shield(worker.output), WORK_TIMEOUT)
    except TimeoutError:
        raise AssertionError(
            f"{worker.owner} did not finish within {WORK_TIMEOUT}s:\n{worker.stderr()}"
        ) from None
    assert worker.process.returncode == 0, (
        f"{worker.owner} exited {worker.process.returncode}:\n{worker.stderr()}"
    )
    summary: dict[str, Any] = json.loads(stdout.decode().strip().splitlines()[-1])
    return summary


async def stop_all(workers: list[Worker]) -> None:
    """After a failure: no worker outlives the test (it would keep the database busy)."""
    for worker in workers:
        if worker.process.returncode is None:
            worker.process.kill()
    await asyncio.gather(*(w.process.wait() for w in workers), return_exceptions=True)
    await asyncio.gather(*(w.output for w in workers if w.output is not None), return_exceptions=True)


async def database_outcome(
    database_url: str,
) -> tuple[list[Reminder], list[tuple[str, int, str]], list[OutboxMessage]]:
    database = Database(database_url)
    try:
        async with database.sessions() as session:
            reminders = list(await session.scalars(select(Reminder)))
            per_key = [
                (str(key), int(count), str(status))
                for key, count, status in await session.execute(
                    select(OutboxMessage.dedupe_key, func.count(), func.max(OutboxMessage.status)).group_by(
                        OutboxMessage.dedupe_key
                    )
                )
            ]
            outbox = list(await session.scalars(select(OutboxMessage)))
    finally:
        await database.dispose()
    return reminders, per_key, outbox


@pytest.mark.timeout(780)
async def test_two_processes_send_5000_due_reminders_exactly_once(postgres_url: str, tmp_path: Path) -> None:
    database_url = postgres_url
    seeded = await seed(database_url, tmp_path / "seed")
    by_chat = {s.chat_id: s for s in seeded}

    # No flood limits in the emulator: this test is about outcomes, and a 429's retry time would
    # never come under the workers' fixed clock.
    async with emulator_running() as emulator:
        for chat in by_chat:
            emulator.user(chat).send_text("/start")
        emulator.user(OFFICER_CHAT).send_text("/start")

        started = time.monotonic()
        workers: list[Worker] = []
        try:
            for owner in WORKERS:
                workers.append(await start_worker(owner, database_url, emulator, tmp_path))
            await release_together(workers)
            released = time.monotonic()
            summaries = await asyncio.gather(*(finish(w) for w in workers))
        finally:
            await stop_all(workers)
        elapsed = time.monotonic() - started
        calls = emulator.calls_to("sendMessage")
        sent = {chat: emulator.sent(chat) for chat in [*by_chat, OFFICER_CHAT]}
        assert not emulator.internal_errors
        assert not emulator.errors, emulator.errors[:5]

    shares = {s["owner"]: s for s in summaries}
    report = ", ".join(
        f"{owner}: finished {s['reminders']['finished']}, delivered {len(s['delivered'])}, "
        f"{s['ticks']} ticks done at {s['ticking_seconds']}s, all done at {s['work_seconds']}s, cpu {s['cpu_seconds']}s"
        for owner, s in shares.items()
    )
    print(f"\n{report}; {elapsed:.1f}s from spawn, {time.monotonic() - released:.1f}s from release")

    # The workers: both did real work, neither lost a lease, and their shares add up exactly.
    for owner, summary in shares.items():
        counts = summary["reminders"]
        assert counts["finished"] > 0 and summary["delivered"], f"{owner} did nothing: {report}"
        assert counts["skipped"] == counts["undeliverable"] == counts["lost"] == 0, (owner, counts)
        assert counts["messages"] == counts["sent"] == counts["finished"], (owner, counts)
    assert sum(s["reminders"]["finished"] for s in summaries) == REMINDERS
    delivered = [chat for s in summaries for chat in s["delivered"]]
    assert len(delivered) == REMINDERS and set(delivered) == set(by_chat)

    # The database: each reminder finished once, after a single claim, with one sent outbox row.
    reminders, per_key, outbox = await database_outcome(database_url)
    assert len(reminders) == REMINDERS
    assert Counter(r.status for r in reminders) == {"sent": REMINDERS}
    assert Counter(r.attempts for r in reminders) == {1: REMINDERS}
    assert Counter(r.lease_owner for r in reminders) == {
        owner: s["reminders"]["finished"] for owner, s in shares.items()
    }
    expected_keys = {f"reminder:{s.reminder_id}:{s.user_id}" for s in seeded}
    assert len(per_key) == REMINDERS and {key for key, _, _ in per_key} == expected_keys
    assert all(count == 1 and status == "sent" for _, count, status in per_key)
    assert all(row.status == "sent" and row.attempts == 1 and row.lease_owner is None for row in outbox)
    assert {(row.user_id, int(row.chat_id)) for row in outbox} == {(s.user_id, s.chat_id) for s in seeded}

    # Telegram's side: one sendMessage per person, naming their own item; nothing to the officer.
    per_chat = Counter(int(call["chat_id"]) for call in calls)
    assert len(calls) == REMINDERS and set(per_chat) == set(by_chat)
    assert max(per_chat.values()) == 1
    assert sent[OFFICER_CHAT] == []
    for chat, expected in by_chat.items():
        [message] = sent[chat]
        text = message_text(message)
        assert "整改提醒" in text and expected.ref in text and expected.problem in text, (chat, text)
    external = {int(row.chat_id): int(row.external_message_id or 0) for row in outbox}
    assert all(external[chat] == sent[chat][0]["message_id"] for chat in by_chat)
