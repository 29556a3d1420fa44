"""The program refuses to run on a database whose schema does not match, and says how to fix it."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from bot.config import load_settings
from bot.runtime import open_database
from storage import migrate
from storage.database import Database
from storage.migrate import SchemaError


async def test_unmigrated_database_is_refused_with_the_command_to_run(empty_database_url: str) -> None:
    settings = load_settings(database_url=empty_database_url)
    with pytest.raises(SchemaError, match="Run: rongcuo db upgrade"):
        await open_database(settings)


async def test_upgrade_then_start_works(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    await migrate.upgrade(database)
    found = await migrate.status(database)
    assert found.up_to_date and found.current == found.head
    await database.dispose()
    opened = await open_database(load_settings(database_url=empty_database_url))
    await opened.dispose()


async def test_a_newer_database_is_refused(database_url: str) -> None:
    database = Database(database_url)
    async with database.engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '9999_from_the_future'"))
    await database.dispose()
    with pytest.raises(SchemaError, match="newer release"):
        await open_database(load_settings(database_url=database_url))


async def test_the_embedded_default_is_created_and_migrated_automatically(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RONGCUO_DATABASE_URL", raising=False)
    settings = load_settings(data_dir=tmp_path / "data")
    assert settings.uses_embedded_database
    database = await open_database(settings)
    assert (await migrate.status(database)).up_to_date
    await database.dispose()
    assert (tmp_path / "data" / "rongcuo.sqlite3").exists()
