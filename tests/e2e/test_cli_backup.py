"""`rongcuo db backup --out FILE` as an operator runs it (real subprocesses)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.e2e.test_cli import rongcuo


def test_backup_of_the_embedded_database_names_the_file_its_size_and_revision(tmp_path: Path) -> None:
    assert rongcuo("db", "upgrade", cwd=tmp_path).returncode == 0
    made = rongcuo("db", "backup", "--out", "backups/today.sqlite3", cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    copy = tmp_path / "backups" / "today.sqlite3"
    revision = sqlite3.connect(copy).execute("SELECT version_num FROM alembic_version").fetchone()[0]
    assert made.stdout.strip() == (
        f"backup written: {copy} ({copy.stat().st_size} bytes, schema revision {revision})"
    )

    again = rongcuo("db", "backup", "--out", "backups/today.sqlite3", cwd=tmp_path)
    assert again.returncode == 2 and "pass --force" in again.stderr
    forced = rongcuo("db", "backup", "--out", "backups/today.sqlite3", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr


def test_backup_refuses_postgresql_and_prints_pg_dump_without_the_password(tmp_path: Path) -> None:
    result = rongcuo(
        "db",
        "backup",
        "--out",
        "rongcuo.dump",
        cwd=tmp_path,
        env={"RONGCUO_DATABASE_URL": "postgresql://bot:hunter2@db:5432/rongcuo"},
    )
    assert result.returncode != 0 and result.stdout == ""
    assert "pg_dump --format=custom --host=db --port=5432 --username=bot --dbname=rongcuo" in result.stderr
    assert "hunter2" not in result.stderr
    assert not (tmp_path / "data").exists()  # nothing was opened or created
