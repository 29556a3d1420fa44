"""The async engine for SQLite (aiosqlite) and PostgreSQL (asyncpg), and its session factory."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine

from storage import sqlite_driver


def async_url(url: str) -> str:
    """Accept the URLs operators write (postgresql://, sqlite:///) and pick the async drivers."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    if parsed.drivername in ("postgresql", "postgresql+psycopg2", "postgresql+psycopg"):
        parsed = parsed.set(drivername="postgresql+asyncpg")
    elif parsed.drivername in ("sqlite", "sqlite+pysqlite"):
        parsed = parsed.set(drivername="sqlite+aiosqlite")
    return parsed.render_as_string(hide_password=False)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers work while one writer commits; busy_timeout makes a second writer wait
    # instead of failing at once; foreign keys are off by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()
    # The driver's own deferred BEGIN is switched off so that _sqlite_begin can say IMMEDIATE.
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # A deferred transaction that reads first and writes later cannot wait for the write lock:
    # SQLite fails it at once with "database is locked" when another process (a second bot, the
    # CLI) committed in between, whatever busy_timeout says. Taking the write lock at BEGIN
    # makes a second writer wait its turn instead. WAL readers outside transactions are unaffected.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


class WriterGate:
    """One SQLite transaction at a time in this process, queued first come first served.

    Every SQLite transaction here takes the write lock at BEGIN. Several at once from one
    process would wait for it in SQLite's busy handler, which sleeps and polls (up to 100 ms a
    turn): under a burst, a person's answer waited most of a second with the database idle.
    Queuing them on an asyncio lock hands the write lock over the moment it is free. Re-entrant
    per task, so a unit of work opened inside another (same task) does not wait for itself;
    other processes still meet at SQLite's busy timeout.

    SQLite statements run on the event loop without suspending (storage/sqlite_driver.py), so a
    task running transaction after transaction (the reminder tick's batches) would never let
    another task get in line: the outbox dispatcher sent its first reminder 20 s late, after the
    tick's last batch. Each outermost entry therefore yields to the loop once before queuing.
    """

    WAIT = 10.0  # seconds, like busy_timeout: a stuck holder must not hang everyone for ever

    def __init__(self) -> None:
        self._lock = asyncio.Lock()
        self._owner: asyncio.Task[object] | None = None
        self._depth = 0

    async def enter(self) -> None:
        task = asyncio.current_task()
        if self._owner is not task or task is None:
            await asyncio.sleep(0)
            async with asyncio.timeout(self.WAIT):
                await self._lock.acquire()
            self._owner = task
        self._depth += 1

    def leave(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._owner = None
            self._lock.release()


class Database:
    def __init__(self, url: str, *, echo: bool = False) -> None:
        self.url = async_url(url)
        parsed = make_url(self.url)
        self.dialect = parsed.get_backend_name()
        kwargs: dict[str, Any] = {"echo": echo}
        if self.dialect == "sqlite":
            database = parsed.database
            if database and database != ":memory:":
                Path(database).parent.mkdir(parents=True, exist_ok=True)
                kwargs["async_creator"] = sqlite_driver.creator(database)
        else:
            kwargs.update(pool_pre_ping=True, pool_size=10, max_overflow=10)
        self.engine: AsyncEngine = create_async_engine(self.url, **kwargs)
        if self.dialect == "sqlite":
            event.listen(self.engine.sync_engine, "connect", _sqlite_pragmas)
            event.listen(self.engine.sync_engine, "begin", _sqlite_begin)
        self.sessions = async_sessionmaker(self.engine, expire_on_commit=False, class_=AsyncSession)
        self.writers = WriterGate() if self.dialect == "sqlite" else None

    @property
    def is_sqlite(self) -> bool:
        return self.dialect == "sqlite"

    async def ping(self) -> bool:
        try:
            async with self.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
            return True
        except Exception:
            return False

    async def dispose(self) -> None:
        await self.engine.dispose()
