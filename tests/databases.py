"""Throwaway test databases: a migrated SQLite file, or a PostgreSQL clone of a migrated template.

PostgreSQL comes from RONGCUO_TEST_PG_URL (default: the local server's `postgres` database, used
only to create and drop the throwaway ones). When it cannot be reached the PostgreSQL variants are
skipped with the reason, except under CI=true, where they must run.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import asyncpg
from sqlalchemy.engine import make_url

from storage import migrate
from storage.database import Database

ADMIN_URL = os.environ.get("RONGCUO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def _plain(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class PostgresServer:
    """Creates one migrated template per test session and clones it per test (fast and isolated)."""

    def __init__(self, admin_url: str = ADMIN_URL) -> None:
        self.admin_url = _plain(admin_url)
        self.template = f"rongcuo_tmpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        self.unavailable: str | None = None
        self._created: list[str] = []

    def url_for(self, name: str) -> str:
        return make_url(self.admin_url).set(database=name).render_as_string(hide_password=False)

    async def _admin(self) -> asyncpg.Connection:
        return await asyncpg.connect(self.admin_url, timeout=5)

    async def setup(self) -> None:
        try:
            conn = await self._admin()
        except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
            self.unavailable = f"PostgreSQL not reachable at {self.admin_url}: {exc}"
            return
        try:
            await conn.execute(f'CREATE DATABASE "{self.template}"')
        finally:
            await conn.close()
        database = Database(self.url_for(self.template))
        await migrate.upgrade(database)
        await database.dispose()

    async def _create(self, prefix: str, template: str | None = None) -> str:
        name = f"{prefix}_{uuid.uuid4().hex[:10]}"
        clause = f' TEMPLATE "{template}"' if template else ""
        conn = await self._admin()
        try:
            await conn.execute(f'CREATE DATABASE "{name}"{clause}')
        finally:
            await conn.close()
        self._created.append(name)
        return self.url_for(name)

    async def clone(self) -> str:
        """A migrated, empty database."""
        return await self._create("rongcuo_t", self.template)

    async def empty(self) -> str:
        """A database with no tables at all."""
        return await self._create("rongcuo_e")

    async def drop(self, url: str) -> None:
        name = make_url(url).database
        conn = await self._admin()
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    async def teardown(self) -> None:
        if self.unavailable:
            return
        conn = await self._admin()
        try:
            for name in [*self._created, self.template]:
                await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


async def migrated_sqlite(directory: Path) -> str:
    url = f"sqlite+aiosqlite:///{directory / 'test.sqlite3'}"
    database = Database(url)
    await migrate.upgrade(database)
    await database.dispose()
    return url
