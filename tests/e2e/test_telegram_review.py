"""Two people, two phones: a cadre files, the officer is notified and reviews, the cadre hears back.
Everything goes through python-telegram-bot, the outbox dispatcher and the Bot API emulator."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from storage.models import Filing, OutboxMessage
from storage.uow import UnitOfWork
from tests.db.talker import DESCRIPTIONS
from tests.e2e.telegram_harness import bot_in_process, emulator_running
from tests.e2e.test_telegram_prefiling import say, tap
from tests.emulator import UserDriver, button_labels, message_text


async def register(user: UserDriver, name: str) -> None:
    await say(user, "/start")
    await say(user, name)
    for label in ("昆明市", "嵩明县", "杨桥街道办事处"):
        await tap(user, label)
    assert "注册完成" in await say(user, "科员")


async def submit_filing(user: UserDriver) -> str:
    await say(user, "/new")
    await tap(user, "个人报备")
    await say(user, "杨桥片区批而未供土地盘活项目")
    await tap(user, "K1 推进项目建设")
    await tap(user, "✅ 选好了（已选 2 项）")
    for name in ("background", "planned_action", "rule_at_risk", "necessity"):
        await say(user, DESCRIPTIONS[name])
    await tap(user, "按规定无需集体研究")
    await say(user, DESCRIPTIONS["risks"])
    await say(user, DESCRIPTIONS["controls"])
    await tap(user, "不存在利益关联")
    await say(user, "12月1日")
    await say(user, "2027-03-31")
    await tap(user, "跳过")
    await say(user, "50万")
    await tap(user, "跳过")
    await tap(user, "✍ 我承诺")
    return await tap(user, "✅ 确认无误，提交报备")


async def test_submit_notify_accept_and_hear_back(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        await runtime.admin.grant(2001, "officer", "530127", by="test")
        officer, cadre = emulator.user(2001), emulator.user(1001)
        await register(officer, "王纪")
        await register(cadre, "张三")
        assert "queue" in [c["command"] for c in emulator.commands(scope_chat_id=2001)]
        assert "嵩明-2026-0001" in await submit_filing(cadre)

        notice = await officer.wait_for_message(timeout=10)
        assert "新的容错报备：嵩明-2026-0001" in message_text(notice)
        assert button_labels(notice) == ["查看详情", "受理", "不予受理", "退回补正"]
        details = await tap(officer, "查看详情")
        assert "报备人：张三" in details
        assert "风险等级" in await tap(officer, "受理")
        await tap(officer, "🟡 黄色：中风险，需事中指导")
        await say(officer, "请注意同步补办用地手续。")
        assert "嵩明容受〔2026〕1号" in await tap(officer, "✅ 确认受理")

        heard = message_text(await cadre.wait_for_message(timeout=10))
        assert "已正式受理" in heard and "嵩明容受〔2026〕1号" in heard and "请注意同步补办用地手续" in heard
        # The dispatcher records a send just after Telegram answered it: give it a moment.
        for _ in range(100):
            async with UnitOfWork(runtime.database) as uow:
                rows = (await uow.session.execute(select(OutboxMessage))).scalars().all()
                filing = (await uow.session.execute(select(Filing))).scalars().one()
            if {r.status for r in rows} == {"sent"}:
                break
            await asyncio.sleep(0.05)
        assert {r.status for r in rows} == {"sent"} and all(r.external_message_id for r in rows)
        assert len(rows) == 2  # one notice to the officer, one to the cadre
        assert filing.status == "accepted" and filing.risk_colour == "yellow"


async def test_return_for_completion_by_chat(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        await runtime.admin.grant(2001, "officer", "530127", by="test")
        officer, cadre = emulator.user(2001), emulator.user(1001)
        await register(officer, "王纪")
        await register(cadre, "张三")
        await submit_filing(cadre)
        await officer.wait_for_message(timeout=10)
        await tap(officer, "退回补正")
        await say(officer, "请补充项目用地的红线图。")
        await tap(officer, "确认退回补正")
        question = await cadre.wait_for_message(timeout=10)
        assert "请补充项目用地的红线图" in message_text(question)
        assert "补正要求：请补充项目用地的红线图" in await tap(cadre, "✍ 回复补正")
        await say(cadre, "已补充红线图，见附件。")
        cadre.send_document("红线图.pdf", b"%PDF red line", "application/pdf")
        await cadre.wait_for_message()
        assert "补正已提交" in await tap(cadre, "✅ 完成（1 个附件）")
        again = await officer.wait_for_message(timeout=10)
        assert "已补正，重新进入初审" in message_text(again)
