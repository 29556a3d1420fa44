"""`rongcuo reminders list` and `run-due` on the embedded database, as an operator runs them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import build_runtime
from storage.models import Filing, OutboxMessage
from storage.uow import UnitOfWork
from tests.db.talker import Talker
from tests.db.test_rectification import create_item
from tests.e2e.test_cli import rongcuo


async def test_list_and_dry_run_then_run(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 11, 23, 1, 30, tzinfo=UTC))  # Monday 09:30 in Kunming
    runtime = await build_runtime(load_settings(data_dir=tmp_path / "data"), clock)
    try:
        await runtime.admin.grant(2001, "officer", "530127", by="test")
        cadre, officer = Talker(runtime, clock, "1001"), Talker(runtime, clock, "2001")
        await cadre.register(name="张三")
        await officer.register(name="王纪")
        await cadre.fill_prefiling()
        await cadre.press("✅ 确认无误，提交报备")
        async with UnitOfWork(runtime.database) as uow:
            filing = (await uow.session.execute(select(Filing))).scalars().one()
        await officer.text(f"/accept {filing.id}")
        await officer.press("🟡 黄色：中风险，需事中指导")
        await officer.press("跳过")
        await officer.press("✅ 确认受理")
        await create_item(officer, filing.id, due="2026-12-18")
    finally:
        await runtime.database.dispose()

    listed = rongcuo("reminders", "list", "--due-before", "2026-12-16", cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.strip().splitlines()
    assert lines[-1] == "2 pending due before 2026-12-16 00:00"
    assert "2026-12-09 09:00\trect_due\trectification_item#1" in lines[0] and lines[0].endswith("T-7")
    assert "2026-12-15 09:00\trect_due" in lines[1]

    quiet = rongcuo("reminders", "run-due", "--dry-run", "--now", "2026-12-12T10:00", cwd=tmp_path)
    assert quiet.returncode == 0 and "quiet hours" in quiet.stdout and "2026-12-14 08:00" in quiet.stdout

    dry = rongcuo("reminders", "run-due", "--dry-run", "--now", "2026-12-15T09:30", cwd=tmp_path)
    assert dry.returncode == 0, dry.stderr
    assert "rect_due rectification_item#1: would skip (superseded)" in dry.stdout  # T-7
    assert "would send to 张三" in dry.stdout and "还有 3 个工作日到期" in dry.stdout  # T-3
    assert "(dry run: nothing changed)" in dry.stdout

    run = rongcuo("reminders", "run-due", "--now", "2026-12-15T09:30", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert "sent 1, skipped 1, undeliverable 0; 1 messages queued" in run.stdout
    assert (
        "sent 0, skipped 0"
        in rongcuo("reminders", "run-due", "--now", "2026-12-15T09:31", cwd=tmp_path).stdout
    )

    bad = rongcuo("reminders", "list", "--due-before", "next tuesday", cwd=tmp_path)
    assert bad.returncode == 2 and "not a time" in bad.stderr

    runtime = await build_runtime(load_settings(data_dir=tmp_path / "data"), clock)
    try:
        async with UnitOfWork(runtime.database) as uow:
            texts = [r.payload["text"] for r in (await uow.session.execute(select(OutboxMessage))).scalars()]
        assert sum("整改提醒" in t for t in texts) == 1
    finally:
        await runtime.database.dispose()
