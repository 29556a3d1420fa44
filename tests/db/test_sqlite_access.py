"""SQLite access: writers queue in order; statements run on the loop, lock waits and checkpoints do not."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.engine import make_url

from storage import sqlite_driver
from storage.database import Database
from storage.models import AuditEntry
from storage.uow import UnitOfWork
from tests.databases import migrated_sqlite

AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def file_size(path: Path) -> int:
    return path.stat().st_size


class Ticker:
    """Counts the turns of the event loop other tasks get."""

    def __init__(self) -> None:
        self.ticks = 0
        self._task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(0)
            self.ticks += 1

    def stop(self) -> None:
        self._task.cancel()


@pytest.fixture
async def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Database]:
    monkeypatch.setattr(sqlite_driver, "_slow", set())  # what earlier tests found slow
    database = Database(await migrated_sqlite(tmp_path))
    yield database
    await database.dispose()


@pytest.fixture
async def ticker() -> AsyncIterator[Ticker]:
    ticker = Ticker()
    yield ticker
    ticker.stop()


async def test_a_burst_of_writers_in_one_process_all_commit_in_arrival_order(tmp_path: Path) -> None:
    database = Database(await migrated_sqlite(tmp_path))
    try:

        async def write(n: int) -> None:
            async with UnitOfWork(database) as uow:
                uow.audit.record(at=AT, action="test.write", subject_type="n", subject_id=n)
                await asyncio.sleep(0)  # hold the transaction across a suspension, as real work does
                await uow.commit()

        await asyncio.gather(*(write(n) for n in range(200)))
        async with database.sessions() as session:
            rows = (await session.execute(select(AuditEntry.subject_id).order_by(AuditEntry.id))).scalars()
            assert [int(x) for x in rows] == list(range(200))
    finally:
        await database.dispose()


async def test_a_unit_of_work_opened_inside_another_by_the_same_task_does_not_wait_for_itself(
    tmp_path: Path,
) -> None:
    database = Database(await migrated_sqlite(tmp_path))
    try:
        async with asyncio.timeout(5), UnitOfWork(database) as outer:
            async with UnitOfWork(database) as inner:
                inner.audit.record(at=AT, action="test.inner", subject_type="n", subject_id=1)
                await inner.commit()
            outer.audit.record(at=AT, action="test.outer", subject_type="n", subject_id=2)
            await outer.commit()
        async with database.sessions() as session:
            assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 2
    finally:
        await database.dispose()


async def test_statements_report_rows_counts_and_ids_like_the_driver(tmp_path: Path) -> None:
    database = Database(await migrated_sqlite(tmp_path))
    try:
        async with database.engine.begin() as conn:
            await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
            inserted = await conn.execute(text("INSERT INTO t (v) VALUES ('甲')"))
            assert inserted.lastrowid == 1
            many = await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), [{"v": "乙"}, {"v": "丙"}])
            assert many.rowcount == 2
            updated = await conn.execute(text("UPDATE t SET v = v || '!' WHERE id > 1"))
            assert updated.rowcount == 2
            rows = (await conn.execute(text("SELECT id, v FROM t ORDER BY id"))).all()
            assert [tuple(r) for r in rows] == [(1, "甲"), (2, "乙!"), (3, "丙!")]
            assert (await conn.execute(text("SELECT v FROM t WHERE id = 9"))).first() is None
    finally:
        await database.dispose()


async def test_a_write_waits_for_another_process_holding_the_lock_without_stopping_the_loop(
    tmp_path: Path,
) -> None:
    """A CLI command writing at the same moment: the bot's transaction waits its turn off the loop."""
    url = await migrated_sqlite(tmp_path)
    database = Database(url)
    other = sqlite3.connect(make_url(url).database or "", isolation_level=None, check_same_thread=False)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO audit_log (at, action, subject_type, subject_id, data) "
                      "VALUES ('2026-11-23 01:30:00', 'cli.write', 'n', '0', '{}')")  # fmt: skip
        threading.Timer(0.5, other.commit).start()
        ticks = 0

        async def tick() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        ticking = asyncio.create_task(tick())
        async with asyncio.timeout(5), UnitOfWork(database) as uow:
            uow.audit.record(at=AT, action="test.write", subject_type="n", subject_id=1)
            await uow.commit()
        ticking.cancel()
        assert ticks >= 20  # the loop went on for the half second the lock was held
        async with database.sessions() as session:
            rows = (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars()
            assert list(rows) == ["cli.write", "test.write"]
    finally:
        other.close()
        await database.dispose()


async def test_the_wal_reaches_the_database_file_every_checkpoint_interval(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite's own checkpoints are off on the loop; the driver's run every CHECKPOINT_EVERY commits."""
    monkeypatch.setattr(sqlite_driver, "CHECKPOINT_EVERY", 3)
    url = await migrated_sqlite(tmp_path)
    path = Path(make_url(url).database or "")
    database = Database(url)
    try:

        async def write(n: int) -> None:
            async with UnitOfWork(database) as uow:
                uow.audit.record(
                    at=AT, action="test.write", subject_type="n", subject_id=n, comment="字" * 20_000
                )
                await uow.commit()

        await write(0)  # the first commit of the connection: the file size after it is the baseline
        before = file_size(path)
        await write(1)
        assert file_size(path) == before  # still only in the WAL
        await write(2)  # the third commit of this connection checkpoints
        assert file_size(path) > before + 100_000
    finally:
        await database.dispose()


async def test_a_task_running_transaction_after_transaction_lets_another_in_between(
    tmp_path: Path,
) -> None:
    """Statements do not suspend on SQLite: a batch job (the reminder tick) must still let others in."""
    database = Database(await migrated_sqlite(tmp_path))
    try:

        async def write(action: str, n: int) -> None:
            async with UnitOfWork(database) as uow:
                uow.audit.record(at=AT, action=action, subject_type="n", subject_id=n)
                await uow.commit()

        async def batch() -> None:
            for n in range(200):
                await write("test.batch", n)

        await write("test.first", 0)  # a pooled connection: from here on nothing waits for a thread
        batching = asyncio.create_task(batch())
        await asyncio.sleep(0)  # the batch is under way
        await write("test.other", 0)
        await batching
        async with database.sessions() as session:
            actions = list(
                (await session.execute(select(AuditEntry.action).order_by(AuditEntry.id))).scalars()
            )
        assert actions.index("test.other") < 5  # not after the batch's 200
    finally:
        await database.dispose()


async def test_a_long_transaction_lets_other_tasks_run_between_its_statements(
    database: Database, ticker: Ticker
) -> None:
    """Replies and sends go on while a batch (the reminder tick, an export page) holds a transaction."""
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)"))
    async with database.engine.begin() as conn:
        started, before = asyncio.get_running_loop().time(), ticker.ticks
        for n in range(3000):
            await conn.execute(text("INSERT INTO t (v) VALUES (:v)"), {"v": f"行{n}"})
        held = asyncio.get_running_loop().time() - started
        during = ticker.ticks - before
    # Others got turns all along (without sharing: none until the commit); about one per LOOP_SHARE
    # on a quiet machine, fewer when the process is descheduled, so the bound is loose.
    assert held > 10 * sqlite_driver.LOOP_SHARE
    assert during >= 5


# About 0.1 s of work for SQLite in one statement.
SLOW_SQL = text(
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 400000) SELECT count(*) FROM c"
)


async def test_a_statement_that_once_ran_long_on_the_loop_runs_on_the_thread_from_then_on(
    database: Database, ticker: Ticker
) -> None:
    async with database.engine.begin() as conn:
        before = ticker.ticks
        assert (await conn.execute(SLOW_SQL)).scalar_one() == 400000
        first = ticker.ticks - before
        before = ticker.ticks
        assert (await conn.execute(SLOW_SQL)).scalar_one() == 400000
        second = ticker.ticks - before
    assert first <= 1  # held the loop (one turn at most, between statements)
    assert second > 5  # the loop went on while the thread counted


async def test_long_running_work_runs_its_statements_off_the_loop(database: Database, ticker: Ticker) -> None:
    async with UnitOfWork(database) as uow:
        await uow.session.execute(text("SELECT 1"))  # connected, in a transaction
        with uow.long_running():
            before = ticker.ticks
            await uow.session.execute(SLOW_SQL)
            during = ticker.ticks - before
    assert during > 5


async def test_a_fast_statement_held_up_by_a_busy_machine_is_not_taken_for_a_slow_one(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only the statement's own work counts, not the wall time it took (descheduled, the GIL)."""
    execute = sqlite_driver._execute

    def held_up(conn: sqlite3.Connection, sql: str, parameters: Any) -> Any:
        time.sleep(0.03)  # the thread waits, as when the machine runs something else
        return execute(conn, sql, parameters)

    async with database.engine.begin() as conn:
        monkeypatch.setattr(sqlite_driver, "_execute", held_up)
        started = asyncio.get_running_loop().time()
        for _ in range(3):
            assert (await conn.execute(text("SELECT 1"))).scalar_one() == 1
        assert asyncio.get_running_loop().time() - started > 3 * sqlite_driver.SLOW
    assert sqlite_driver._slow == set()
