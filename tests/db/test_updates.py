"""Guidance from officers and progress reports from the cadre on an accepted filing."""

from __future__ import annotations

from sqlalchemy import select

from bot.runtime import Runtime
from storage.models import Filing, FilingMessage, OutboxMessage
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def the_filing(runtime: Runtime) -> Filing:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(Filing))).scalars().one()


async def outbox_to(runtime: Runtime, chat: str) -> list[str]:
    async with UnitOfWork(runtime.database) as uow:
        rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    return [r.payload["text"] for r in rows if r.chat_id == chat]


async def test_guidance_and_progress_reports(runtime: Runtime, accepted: dict[str, Talker]) -> None:
    officer, cadre = accepted["officer"], accepted["cadre"]
    filing = await the_filing(runtime)
    # Officers can open a filing by its number, too.
    shown = await officer.text("/filing 嵩明-2026-0001")
    assert "报备 嵩明-2026-0001" in shown and "💬 事中指导" in officer.labels()
    await officer.press("💬 事中指导")
    await officer.text("请在开工前完成用地预审。")
    assert "已发送" in await officer.press("跳过")
    assert "请在开工前完成用地预审" in (await outbox_to(runtime, "1001"))[-1]

    await cadre.text(f"/filing {filing.id}")
    await cadre.press("📍 报告进展")
    await cadre.text("场地平整已完成，用地预审已提交。")
    await cadre.file("预审回执.pdf")
    assert "进展报告已提交" in await cadre.press("✅ 完成（1 个附件）")
    to_officer = (await outbox_to(runtime, "2001"))[-1]
    assert "场地平整已完成" in to_officer and "附件 1 个" in to_officer
    assert not any("场地平整" in t for t in await outbox_to(runtime, "2003"))  # not the other county

    view = await cadre.text(f"/filing {filing.id}")
    assert "事中指导：请在开工前完成用地预审" in view and "进展报告：场地平整已完成" in view
    async with UnitOfWork(runtime.database) as uow:
        kinds = [m.kind for m in (await uow.session.execute(select(FilingMessage))).scalars()]
    assert kinds == ["guidance", "milestone_update"]


async def test_only_the_filer_reports_and_only_its_officers_guide(
    runtime: Runtime, accepted: dict[str, Talker]
) -> None:
    filing = await the_filing(runtime)
    assert "无权" in await accepted["foreign"].text(f"/guidance {filing.id}")
    assert "无权" in await accepted["officer"].text(f"/progress {filing.id}")
    assert "无权" in await accepted["foreign"].text("/filing 嵩明-2026-0001")
    assert "没有使用" in await accepted["cadre"].text(f"/guidance {filing.id}")
