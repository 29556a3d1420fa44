"""The web app on a real runtime and database (SQLite and PostgreSQL), for the web-channel tests."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.web import create_web_app
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Runtime]:
    rt = await build_runtime(load_settings(database_url=database_url, data_dir=tmp_path / "data"), clock)
    yield rt
    await rt.database.dispose()


@pytest.fixture
async def client(runtime: Runtime) -> AsyncIterator[TestClient]:
    app = create_web_app(
        runtime.conversations,
        runtime.database,
        runtime.clock,
        "test-secret",
        runtime.settings.data_dir / "uploads",
    )
    async with TestClient(TestServer(app)) as test_client:
        yield test_client
