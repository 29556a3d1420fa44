"""A whole pre-filing by chat through python-telegram-bot and the Bot API emulator."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from storage.models import Filing
from storage.uow import UnitOfWork
from tests.db.talker import DESCRIPTIONS
from tests.e2e.telegram_harness import BotProcess, bot_in_process, emulator_running
from tests.emulator import UserDriver, button_labels, message_text, tiny_png


async def say(user: UserDriver, text: str, timeout: float = 10.0) -> str:
    user.send_text(text)
    return message_text(await user.wait_for_message(timeout))


async def tap(user: UserDriver, label: str, timeout: float = 10.0) -> str:
    user.press(label)
    return message_text(await user.wait_for_message(timeout))


async def register(user: UserDriver) -> None:
    await say(user, "/start")
    await say(user, "张三")
    for label in ("昆明市", "嵩明县", "杨桥街道办事处"):
        await tap(user, label)
    assert "注册完成" in await say(user, "副主任")


async def fill_until_decision(user: UserDriver) -> None:
    assert "开始新建容错报备" in await say(user, "/new")
    await tap(user, "个人报备")
    await say(user, "杨桥片区批而未供土地盘活项目")
    situations = await tap(user, "K1 推进项目建设")
    assert "S1 执行上级决策部署出现偏差" in situations
    # Ticking a box edits the same message instead of sending a new one.
    message = user.messages[-1]
    user.press("☐ S1 执行上级决策部署出现偏差")
    edited = await user.wait_for_edit(message["message_id"])
    assert "☑ S1 执行上级决策部署出现偏差" in button_labels(edited)
    await tap(user, "✅ 选好了（已选 3 项）")
    for name in ("background", "planned_action", "rule_at_risk", "necessity"):
        await say(user, DESCRIPTIONS[name])


async def test_a_complete_filing_with_attachments(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        user = emulator.user(1001)
        await register(user)
        await fill_until_decision(user)
        await tap(user, "已集体研究")
        await say(user, "街道党工委会议")
        await say(user, "11月20日")
        user.send_document("党工委会议纪要.pdf", b"%PDF-1.4 minutes", "application/pdf")
        assert "已收到：党工委会议纪要.pdf（共 1 个）" in message_text(await user.wait_for_message())
        await tap(user, "✅ 完成（1 个附件）")
        await say(user, DESCRIPTIONS["risks"])
        await say(user, DESCRIPTIONS["controls"])
        await tap(user, "不存在利益关联")
        echoed = await say(user, "12月1日")
        assert "完成日期" in echoed or "计划完成日期" in echoed
        await say(user, "2027-03-31")
        await say(user, "2026-12-15 完成场地平整")
        await tap(user, "✅ 完成（1 个节点）")
        await say(user, "50.5万元")
        user.send_photo(tiny_png(64, 48))
        assert "已收到：图片（共 1 个）" in message_text(await user.wait_for_message())
        await tap(user, "✅ 完成（1 个附件）")
        summary = await tap(user, "✍ 我承诺")
        assert "【会议纪要】党工委会议纪要.pdf" in summary and "【涉及资金】50.5万元" in summary
        assert "报备不是事前审批" in summary
        receipt = await tap(user, "✅ 确认无误，提交报备")
        assert "报备编号：嵩明-2026-0001" in receipt
        assert "预计初审完成：2026年11月24日（星期二）前" in receipt

        async with UnitOfWork(runtime.database) as uow:
            (filing,) = (await uow.session.execute(select(Filing))).scalars().all()
        assert filing.number == "嵩明-2026-0001" and filing.status == "submitted"
        minutes = filing.answers["minutes"][0]
        assert minutes["name"] == "党工委会议纪要.pdf" and minutes["mime_type"] == "application/pdf"
        assert emulator.file_content(minutes["file_id"]) == b"%PDF-1.4 minutes"
        photo = filing.answers["attachments"][0]
        assert photo["kind"] == "photo" and emulator.file_content(photo["file_id"])
        assert filing.answers["situations"] == ["S1", "S4", "S6"]


async def test_wrong_inputs_are_answered_and_nothing_is_lost(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with emulator_running() as emulator, bot_in_process(emulator, database_url, tmp_path, clock):
        user = emulator.user(1002)
        await register(user)
        await say(user, "/new")
        await tap(user, "个人报备")
        user.send_sticker()
        assert "收到了贴纸" in message_text(await user.wait_for_message())
        user.send_document("x.pdf", b"%PDF", "application/pdf")
        assert "收到了文件" in message_text(await user.wait_for_message())
        assert "需要 4–60 个字，您输入了 2 个字" in await say(user, "项目")
        await say(user, "杨桥片区批而未供土地盘活项目")
        assert "请选择报备事项的类别" in message_text(user.messages[-1])


async def test_a_filing_survives_a_killed_process(database_url: str, tmp_path: Path) -> None:
    async with emulator_running() as emulator:
        first = BotProcess(emulator, database_url, tmp_path / "run")
        first.start()
        user = emulator.user(3001)
        try:
            assert "请输入您的姓名" in await say(user, "/start", timeout=30), first.output()
            await say(user, "赵六")
            for label in ("昆明市", "嵩明县", "杨桥街道办事处"):
                await tap(user, label)
            await say(user, "科员")
            await fill_until_decision(user)
            last_update = max(u["update_id"] for u in emulator.updates)
            await user.wait_for(
                lambda: any(int(c.get("offset") or 0) > last_update for c in emulator.calls_to("getUpdates")),
                timeout=10,
                what="update confirmed",
            )
            first.kill()
        finally:
            first.stop()

        second = BotProcess(emulator, database_url, tmp_path / "run")
        second.start()
        try:
            # The decision question is still on screen; pressing it works on the new process.
            said = await tap(user, "按规定无需集体研究", timeout=30)
            assert "可能出现哪些失误" in said, second.output()
            assert "继续容错报备" in await say(user, "/start")
        finally:
            second.stop()
