"""Two phones, one rectification item: the officer sets it on an accepted filing, the cadre is told and
reports it done with a document, the officer accepts it and the cadre hears back. Everything goes
through python-telegram-bot, the outbox dispatcher and the Bot API emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from storage.models import OutboxMessage, RectificationItem
from storage.uow import UnitOfWork
from tests.e2e.telegram_harness import bot_in_process, emulator_running
from tests.e2e.test_telegram_prefiling import say, tap
from tests.e2e.test_telegram_review import register, submit_filing
from tests.emulator import button_labels, message_text

PROBLEM = "场地平整前未取得用地批复，程序存在瑕疵。"
MEASURE = "一个月内补办用地手续，并建立手续办理台账。"
REPORT = "已补办用地手续并建立台账，批复见附件。"


async def test_set_report_accept_and_hear_back(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        await runtime.admin.grant(2001, "officer", "530127", by="test")
        officer, cadre = emulator.user(2001), emulator.user(1001)
        await register(officer, "王纪")
        await register(cadre, "张三")
        assert "tasks" in [c["command"] for c in emulator.commands(scope_chat_id=1001)]
        await submit_filing(cadre)
        await officer.wait_for_message(timeout=10)
        await tap(officer, "受理")
        await tap(officer, "🟢 绿色：低风险，备案即可")
        await tap(officer, "跳过")
        await tap(officer, "✅ 确认受理")
        assert "已正式受理" in message_text(await cadre.wait_for_message(timeout=10))

        # The officer opens the filing from the queue (the notice's buttons went with the press).
        assert "嵩明-2026-0001" in await say(officer, "/queue")
        view = await tap(officer, "嵩明-2026-0001 杨桥片区批而未供土地盘活项目")
        assert "已正式受理" in view and "➕ 新增整改事项" in button_labels(officer.last)
        assert "需要整改的问题" in await tap(officer, "➕ 新增整改事项")
        await say(officer, PROBLEM)
        await say(officer, MEASURE)
        assert "请核对整改事项" in await say(officer, "2026-12-31")
        assert "已新增整改事项 报备 嵩明-2026-0001 第1项" in await tap(officer, "✅ 确认新增")

        # The cadre's phone rings with the item and reports it done with a document.
        notice = await cadre.wait_for_message(timeout=10)
        assert "新的整改事项：报备 嵩明-2026-0001 第1项" in message_text(notice)
        assert PROBLEM in message_text(notice) and "2026年12月31日" in message_text(notice)
        assert button_labels(notice) == ["提交整改材料", "查看报备"]
        assert "整改完成情况" in await tap(cadre, "提交整改材料")
        await say(cadre, REPORT)
        cadre.send_document("用地批复.pdf", b"%PDF land approval", "application/pdf")
        assert "用地批复.pdf" in message_text(await cadre.wait_for_message())
        assert "整改材料已提交" in await tap(cadre, "✅ 完成（1 个附件）")

        # The officer is told, with the evidence, and accepts.
        submitted = await officer.wait_for_message(timeout=10)
        assert "整改材料已提交：报备 嵩明-2026-0001 第1项" in message_text(submitted)
        assert REPORT in message_text(submitted) and "用地批复.pdf" in message_text(submitted)
        assert button_labels(submitted) == ["验收通过", "退回重改", "查看报备"]
        assert "确认该事项整改到位" in await tap(officer, "验收通过")
        assert "已验收通过" in await tap(officer, "✅ 确认验收通过")

        heard = message_text(await cadre.wait_for_message(timeout=10))
        assert "整改事项 报备 嵩明-2026-0001 第1项 已验收通过" in heard
        assert "已验收通过" in await say(cadre, "/tasks")

        for _ in range(100):
            async with UnitOfWork(runtime.database) as uow:
                rows = (await uow.session.execute(select(OutboxMessage))).scalars().all()
                item = (await uow.session.execute(select(RectificationItem))).scalars().one()
            if {r.status for r in rows} == {"sent"}:
                break
            await asyncio.sleep(0.05)
        assert {r.status for r in rows} == {"sent"}
        # filing notice and acceptance, then item set, reported and accepted
        assert len(rows) == 5
        assert item.status == "accepted" and item.accepted_at is not None
        assert [f["name"] for f in item.evidence] == ["用地批复.pdf"] and item.evidence[0]["file_id"]
