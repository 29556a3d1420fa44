"""SQLite access from one process: writers queue in order, and one worker trip per statement."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select, text

from storage.database import Database
from storage.models import AuditEntry
from storage.uow import UnitOfWork
from tests.databases import migrated_sqlite

AT = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


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
