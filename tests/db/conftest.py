from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Runtime]:
    settings = load_settings(database_url=database_url, data_dir=tmp_path / "data")
    rt = await build_runtime(settings, clock)
    yield rt
    await rt.database.dispose()
