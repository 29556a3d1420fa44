"""aiosqlite with one trip to its worker thread per statement instead of four.

SQLAlchemy's aiosqlite adapter opens a cursor, executes, fetches and closes the cursor as four
separate calls, and aiosqlite runs each on its worker thread: a queue hand-off, a thread wake-up
and an event-loop wake-up every time. A dialog step is about ten statements, so forty trips,
and they were most of the CPU a chat answer cost on SQLite (bench/throughput.py, py-spy). This
connection answers SQLAlchemy's calls from a cursor that does all four on the worker thread in
one go and keeps the rows. Nothing here streams results (no server-side cursors are used), so
fetching every row at once changes no memory profile.
"""

from __future__ import annotations

import sqlite3
from collections import deque
from collections.abc import Iterable, Sequence
from typing import Any

import aiosqlite

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


class OneTripCursor:
    """The part of aiosqlite's Cursor that SQLAlchemy's adapter uses, one trip per statement."""

    def __init__(self, connection: OneTripConnection) -> None:
        self._connection = connection
        self.description: Description = None
        self.lastrowid: int | None = None
        self.rowcount = -1
        self.arraysize = 1
        self._rows: deque[Any] = deque()

    async def execute(self, sql: str, parameters: Any = None) -> OneTripCursor:
        result = await self._connection._execute(_execute, self._connection._conn, sql, parameters)
        self.description, self.lastrowid, self.rowcount, rows = result
        self._rows = deque(rows)
        return self

    async def executemany(self, sql: str, seq: Iterable[Any]) -> OneTripCursor:
        self.lastrowid, self.rowcount = await self._connection._execute(
            _executemany, self._connection._conn, sql, seq
        )
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
    async def cursor(self) -> OneTripCursor:  # type: ignore[override]
        return OneTripCursor(self)


def creator(path: str) -> Any:
    """An `async_creator` for create_async_engine: a started connection to the file at `path`."""

    async def connect() -> OneTripConnection:
        connection = OneTripConnection(
            lambda: sqlite3.connect(path, check_same_thread=False), iter_chunk_size=64
        )
        # Like SQLAlchemy's own: a daemon thread cannot keep a finished program from exiting.
        connection._thread.daemon = True
        return await connection

    return connect
