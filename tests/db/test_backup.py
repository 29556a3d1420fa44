"""`rongcuo db backup`: an online copy of the SQLite database while the program writes to it."""

from __future__ import annotations

import asyncio
import sqlite3
import stat
from pathlib import Path

import pytest
from sqlalchemy import text

from storage import migrate
from storage.backup import BackupError, backup_database, pg_dump_command, sqlite_file
from storage.database import Database
from tests.databases import migrated_sqlite


def _rows(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        return [n for (n,) in conn.execute("SELECT n FROM tick ORDER BY n")]


async def test_a_live_database_is_copied_while_a_writer_keeps_committing(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    database = Database(url)  # the program's own engine: WAL, BEGIN IMMEDIATE
    async with database.engine.begin() as conn:
        await conn.execute(text("CREATE TABLE tick (n INTEGER PRIMARY KEY)"))
    committed, target = 0, 200
    reached, stop = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        nonlocal committed
        while not stop.is_set():
            async with database.engine.begin() as conn:
                await conn.execute(text("INSERT INTO tick (n) VALUES (:n)"), {"n": committed + 1})
            committed += 1
            if committed >= target:
                reached.set()
            await asyncio.sleep(0)

    writing = asyncio.create_task(writer())
    try:
        await asyncio.wait_for(reached.wait(), 60)
        before = committed
        result = await asyncio.to_thread(backup_database, url, tmp_path / "out" / "copy.sqlite3")
        # The writer goes on committing afterwards: the backup left no lock behind.
        target = committed + 50
        reached.clear()
        await asyncio.wait_for(reached.wait(), 60)
        head = (await migrate.status(database)).head
    finally:
        stop.set()
        await writing
        await database.dispose()

    assert result.revision == head
    assert result.path == (tmp_path / "out" / "copy.sqlite3").resolve() and result.size > 0
    copied = _rows(result.path)
    # One consistent snapshot: every row committed before the backup began, no gaps after it.
    assert len(copied) >= before and copied == list(range(1, len(copied) + 1))
    assert stat.S_IMODE(result.path.stat().st_mode) == 0o600
    assert (
        not list(result.path.parent.glob(".*partial"))
        and not (tmp_path / "out" / "copy.sqlite3-wal").exists()
    )
    with sqlite3.connect(result.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone() == ("delete",)
    assert "copy.sqlite3" in result.describe() and f"schema revision {result.revision}" in result.describe()


async def test_an_existing_file_is_kept_unless_forced(tmp_path: Path) -> None:
    url = await migrated_sqlite(tmp_path)
    out = tmp_path / "backup.sqlite3"
    out.write_bytes(b"precious")
    with pytest.raises(BackupError, match="exists; choose another file or pass --force"):
        backup_database(url, out)
    assert out.read_bytes() == b"precious"
    result = backup_database(url, out, force=True)
    assert result.revision is not None and _rows_of(out, "alembic_version") == 1


def _rows_of(path: Path, table: str) -> int:
    with sqlite3.connect(path) as conn:
        return conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]


def test_a_missing_database_is_not_created(tmp_path: Path) -> None:
    with pytest.raises(BackupError, match="no database at"):
        backup_database(f"sqlite:///{tmp_path / 'nothing.sqlite3'}", tmp_path / "out.sqlite3")
    assert not (tmp_path / "nothing.sqlite3").exists() and not (tmp_path / "out.sqlite3").exists()


def test_an_unmigrated_database_is_copied_with_an_empty_revision(tmp_path: Path) -> None:
    with sqlite3.connect(tmp_path / "plain.sqlite3") as conn:
        conn.execute("CREATE TABLE t (x)")
    result = backup_database(f"sqlite:///{tmp_path / 'plain.sqlite3'}", tmp_path / "out.sqlite3")
    assert result.revision is None and "schema revision empty" in result.describe()


def test_postgresql_is_refused_with_the_pg_dump_command_and_no_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://rongcuo:s3cr%40t@db.internal:5433/rongcuo"
    with pytest.raises(BackupError) as raised:
        backup_database(url, tmp_path / "rongcuo.dump")
    message = str(raised.value)
    assert "pg_dump" in message and "s3cr" not in message
    assert (
        f"pg_dump --format=custom --host=db.internal --port=5433 --username=rongcuo --dbname=rongcuo "
        f"--file={tmp_path / 'rongcuo.dump'}"
    ) in message
    assert not (tmp_path / "rongcuo.dump").exists()


def test_pg_dump_command_quotes_what_the_shell_would_split() -> None:
    assert pg_dump_command("postgres://me@/my db", Path("a b.dump")) == (
        "pg_dump --format=custom --username=me '--dbname=my db' '--file=a b.dump'"
    )


def test_only_file_databases_can_be_copied() -> None:
    assert sqlite_file("postgresql://u@h/d") is None
    assert sqlite_file("sqlite+aiosqlite:///rel/x.sqlite3") == Path("rel/x.sqlite3").resolve()
    with pytest.raises(BackupError):
        sqlite_file("sqlite+aiosqlite:///:memory:")
