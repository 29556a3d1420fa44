"""`rongcuo export` as an operator runs it (a real subprocess) against a database with one filing."""

from __future__ import annotations

import csv
from pathlib import Path

from openpyxl import load_workbook
from sqlalchemy import select

from bot.runtime import Runtime
from storage.models import AuditEntry
from storage.uow import UnitOfWork
from tests.db import conftest as db
from tests.db.talker import Talker
from tests.e2e.test_cli import rongcuo

# The database tests' fixtures: a runtime, and a filing accepted by an officer of 嵩明.
runtime = db.runtime
accepted = db.accepted


def env_of(runtime: Runtime) -> dict[str, str]:
    return {
        "RONGCUO_DATABASE_URL": runtime.settings.effective_database_url,
        "RONGCUO_DATA_DIR": str(runtime.settings.data_dir),
    }


def leftovers(folder: Path) -> list[Path]:
    return list(folder.glob(".export-*"))


async def test_export_writes_the_workbook_and_csv_files(
    runtime: Runtime, accepted: dict[str, Talker], tmp_path: Path
) -> None:
    out, folder = tmp_path / "导出.xlsx", tmp_path / "csv"
    result = rongcuo(
        "export", "--out", str(out), "--csv-dir", str(folder), "--full", cwd=tmp_path, env=env_of(runtime)
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"exported 5 sheets to {out} and {folder} (full)"
    assert "[2/5] filings: 1 rows" in result.stderr

    book = load_workbook(out)
    assert book.sheetnames == ["统计汇总", "报备事项", "容错认定", "整改事项", "回访"]
    header, row = book["报备事项"].iter_rows(values_only=True)
    record = dict(zip(header, row, strict=True))
    assert record["报备编号"] == "嵩明-2026-0001" and record["状态"] == "已正式受理"
    assert record["事项名称"] == "杨桥片区批而未供土地盘活项目"  # --full

    assert sorted(p.name for p in folder.iterdir()) == [
        "filings.csv",
        "rectification.csv",
        "reviews.csv",
        "summary.csv",
        "visits.csv",
    ]
    with (folder / "filings.csv").open(encoding="utf-8-sig", newline="") as handle:
        table = list(csv.reader(handle))
    assert table[0] == list(header) and table[1][0] == "嵩明-2026-0001"
    assert leftovers(tmp_path) == []  # no temporary workbook left behind

    async with UnitOfWork(runtime.database) as uow:
        (entry,) = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "export.full")))
            .scalars()
            .all()
        )
    assert entry.actor_label == "cli" and entry.subject_id == "all"


async def test_export_refuses_bad_requests_with_one_line(
    runtime: Runtime, accepted: dict[str, Talker], tmp_path: Path
) -> None:
    env = env_of(runtime)
    result = rongcuo("export", cwd=tmp_path, env=env)
    assert result.returncode == 2
    assert result.stderr.strip() == "rongcuo: say where to write: --out FILE.xlsx and/or --csv-dir DIR"

    (tmp_path / "old.xlsx").write_bytes(b"keep me")
    result = rongcuo("export", "--out", str(tmp_path / "old.xlsx"), cwd=tmp_path, env=env)
    assert result.returncode == 2 and "exists; add --force" in result.stderr
    assert (tmp_path / "old.xlsx").read_bytes() == b"keep me"

    result = rongcuo(
        "export", "--out", str(tmp_path / "x.xlsx"), "--jurisdiction", "999999", cwd=tmp_path, env=env
    )
    assert result.returncode == 2 and "'999999' is not a county" in result.stderr
    assert not (tmp_path / "x.xlsx").exists()

    # Another county: the sheets are there, with headers only; no free text without --full.
    result = rongcuo(
        "export", "--out", str(tmp_path / "x.xlsx"), "--jurisdiction", "530181", cwd=tmp_path, env=env
    )
    assert result.returncode == 0, result.stderr
    book = load_workbook(tmp_path / "x.xlsx")
    (header,) = book["报备事项"].iter_rows(values_only=True)
    assert "事项名称" not in header
