from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.clock import ManualClock
from tests.databases import IN_CI, PostgresServer, migrated_sqlite

ENGINES = ["sqlite", "postgresql"]


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    server = PostgresServer()
    asyncio.run(server.setup())
    yield server
    asyncio.run(server.teardown())


def _require(server: PostgresServer) -> None:
    if server.unavailable:
        if IN_CI:
            pytest.fail(f"CI=true requires PostgreSQL: {server.unavailable}")
        pytest.skip(server.unavailable)


@pytest.fixture(params=ENGINES)
async def database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer
) -> AsyncIterator[str]:
    """A migrated, empty database of each engine; every database test runs on both."""
    if request.param == "sqlite":
        yield await migrated_sqlite(tmp_path)
        return
    _require(postgres_server)
    url = await postgres_server.clone()
    yield url
    await postgres_server.drop(url)


@pytest.fixture
async def postgres_url(postgres_server: PostgresServer) -> AsyncIterator[str]:
    """A migrated, empty PostgreSQL database, for what only a server database promises.

    Several bot processes on one database is a PostgreSQL deployment: SQLite serialises writers
    across processes, and under a sustained race between two of them a waiting writer can be
    starved past any busy timeout.
    """
    _require(postgres_server)
    url = await postgres_server.clone()
    yield url
    await postgres_server.drop(url)


@pytest.fixture(params=ENGINES)
async def empty_database_url(
    request: pytest.FixtureRequest, tmp_path: Path, postgres_server: PostgresServer
) -> AsyncIterator[str]:
    """A database of each engine with no tables at all."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.sqlite3'}"
        return
    _require(postgres_server)
    url = await postgres_server.empty()
    yield url
    await postgres_server.drop(url)


@pytest.fixture
def clock() -> ManualClock:
    # A Monday morning in Kunming (UTC+8): 2026-11-23 09:30 local.
    return ManualClock(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))
