"""aiosqlite, with the statements of a transaction run on the event loop instead of its thread.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches and closes the cursor as four
separate calls, and aiosqlite runs each on its worker thread: a queue hand-off, a thread wake-up,
an event-loop wake-up and the GIL handed back and forth every time. A statement of a dialog step
takes SQLite 3 to 30 microseconds (timed one by one under bench/throughput.py's load); a trip to
the thread and back took over ten times that, and the trips were most of the CPU and a third of
the time a chat answer cost.

So statements run right here, in one call each, keeping the rows. Only what can wait long goes
to the worker thread: a BEGIN IMMEDIATE that finds another process holding the write lock (it
is tried here without waiting first, then waits there up to busy_timeout), WAL checkpoints
(they sync the files: the connection's automatic ones are off, and every CHECKPOINT_EVERY
commits one runs there), PRAGMAs (connect time), VACUUM, connect and close.

Inside a BEGIN IMMEDIATE transaction this connection holds the write lock and WAL readers never
wait, so a statement run here does not wait for a lock: it costs the loop what SQLite takes to
run it, and COMMIT in WAL mode with synchronous=NORMAL writes without syncing. Every transaction
here starts with BEGIN IMMEDIATE (storage/database.py) and in-process transactions queue on the
WriterGate anyway, so a long statement (a statistics query) held up the other transactions
already; now it holds up the loop for that time as well. A transaction of many statements lets
the loop run other tasks every LOOP_SHARE seconds (between two statements), as the thread trips
did before, so the reminder tick's batches do not stall the outbox dispatcher's sends. A single
long statement cannot be cut, so work known to run long (statistics and their rollup) sends its
statements to the thread (`long_running`), and any statement that once took more than SLOW of
CPU on the loop goes there from then on. Nothing here streams results (no server-side cursors
are used), so fetching every row at once changes no memory profile.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections import deque
from collections.abc import Iterable, Sequence
from contextvars import ContextVar
from typing import Any

import aiosqlite
import structlog

log = structlog.get_logger(__name__)

Description = tuple[tuple[Any, ...], ...] | None


def _execute(
    conn: sqlite3.Connection, sql: str, parameters: Any
) -> tuple[Description, int | None, int, list[Any]]:
    cursor = conn.cursor()
    try:
        if parameters is None:
            cursor.execute(sql)
        else:
            cursor.execute(sql, parameters)
        rows = cursor.fetchall() if cursor.description else []
        return cursor.description, cursor.lastrowid, cursor.rowcount, rows
    finally:
        cursor.close()


def _executemany(conn: sqlite3.Connection, sql: str, seq: Iterable[Any]) -> tuple[int | None, int]:
    cursor = conn.cursor()
    try:
        cursor.executemany(sql, seq)
        return cursor.lastrowid, cursor.rowcount
    finally:
        cursor.close()


BUSY_TIMEOUT_MS = 10_000
# Commits between two checkpoints of the WAL: SQLite's own default of 1000 pages is about 300
# dialog steps of a few pages each.
CHECKPOINT_EVERY = 300
# Seconds a transaction's statements may run on the loop back to back before others get a turn.
LOOP_SHARE = 0.002
# A statement that once took more CPU than this on the loop runs on the worker thread from then on.
SLOW = 0.02
SLOW_KEPT = 256

# True while work that may run long (statistics and their rollup) uses the database
# (UnitOfWork.long_running): its statements go to the worker thread, where a second's work does
# not stop everyone's replies.
long_running: ContextVar[bool] = ContextVar("sqlite_long_running", default=False)
_slow: set[str] = set()


def _head(sql: str) -> str:
    return sql.lstrip()[:8].upper()


def _to_thread(sql: str) -> bool:
    """Statements that may take long for reasons other than their own work: the worker thread's."""
    return _head(sql).startswith(("PRAGMA", "VACUUM"))


def _remember_slow(sql: str) -> None:
    log.info("sqlite.slow_statement_to_thread", sql=sql[:120])
    if len(_slow) >= SLOW_KEPT:
        _slow.clear()  # statements are few and fixed; many distinct ones mean literals in the SQL
    _slow.add(sql)


def _is_busy(exc: sqlite3.OperationalError) -> bool:
    message = str(exc).lower()
    return "locked" in message or "busy" in message


def _begin_now(conn: sqlite3.Connection, sql: str) -> bool:
    """BEGIN without waiting for the write lock; False when another process holds it."""
    # PRAGMA busy_timeout answers with a row: an unread cursor would keep a statement open.
    conn.execute("PRAGMA busy_timeout=0").close()
    try:
        conn.execute(sql).close()
    except sqlite3.OperationalError as exc:
        if conn.in_transaction or not _is_busy(exc):
            raise
        return False
    finally:
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}").close()
    return True


class OneTripCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses: each statement in one call,
    on the loop or (see the module's docstring) in one trip to the worker thread."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Description = None
        self.lastrowid: int | None = None
        self.rowcount = -1
        self.arraysize = 1
        self._rows: deque[Any] = deque()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        conn = self._connection._conn
        if _head(sql).startswith("BEGIN"):
            if not _begin_now(conn, sql):
                # Another process (a CLI command) is writing: wait for it off the loop.
                await self._connection._execute(_execute, conn, sql, None)
            result: tuple[Description, int | None, int, list[Any]] = (None, None, -1, [])
            self._connection.held_since = time.perf_counter()
        elif _to_thread(sql) or long_running.get() or sql in _slow:
            result = await self._connection._execute(_execute, conn, sql, parameters)
        else:
            await self._connection.share_loop()
            # CPU time of this thread, not wall time: a process descheduled for a moment (a busy
            # machine) must not send a fast statement to the thread for good.
            started = time.thread_time()
            result = _execute(conn, sql, parameters)
            if time.thread_time() - started > SLOW:
                _remember_slow(sql)
        self.description, self.lastrowid, self.rowcount, rows = result
        self._rows = deque(rows)
        return self

    async def executemany(self, sql: str, seq: Iterable[Any]) -> OneTripCursor:
        await self._connection.share_loop()
        self.lastrowid, self.rowcount = _executemany(self._connection._conn, sql, seq)
        self.description, self._rows = None, deque()
        return self

    async def fetchone(self) -> Any:
        return self._rows.popleft() if self._rows else None

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        count = min(size or self.arraysize, len(self._rows))
        return [self._rows.popleft() for _ in range(count)]

    async def fetchall(self) -> Sequence[Any]:
        rows = list(self._rows)
        self._rows.clear()
        return rows

    async def close(self) -> None:
        self._rows.clear()


class OneTripConnection(aiosqlite.Connection):
    _commits = 0
    # When this connection's work last started holding the loop (BEGIN, or the last yield).
    held_since = 0.0

    async def share_loop(self) -> None:
        """Let other tasks run before the next statement once a transaction held the loop a while.

        A dialog step takes well under a millisecond and never yields here; a long transaction
        (the reminder tick's batch, an export's page) does every LOOP_SHARE seconds, as it did
        on every statement when they ran on the thread, so replies and sends keep flowing.
        """
        if time.perf_counter() - self.held_since > LOOP_SHARE:
            await asyncio.sleep(0)
            self.held_since = time.perf_counter()

    async def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)

    async def commit(self) -> None:
        self._conn.commit()
        self._commits += 1
        if self._commits % CHECKPOINT_EVERY == 0:
            await self.checkpoint()

    async def rollback(self) -> None:
        self._conn.rollback()

    async def checkpoint(self) -> None:
        """Copy the WAL into the database file, off the loop: a checkpoint syncs both files."""
        await self._execute(_execute, self._conn, "PRAGMA wal_checkpoint(PASSIVE)", None)


def creator(path: str) -> Any:
    """An `async_creator` for create_async_engine: a started connection to the file at `path`."""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(
            lambda: sqlite3.connect(path, check_same_thread=False), iter_chunk_size=64
        )
        # Like SQLAlchemy's own: a daemon thread cannot keep a finished program from exiting.
        connection._thread.daemon = True
        await connection
        # Checkpoints sync the files; OneTripConnection.commit runs them on the worker thread.
        await connection._execute(_execute, connection._conn, "PRAGMA wal_autocheckpoint=0", None)
        return connection

    return connect
