"""/export and the /stats chart on Telegram, through python-telegram-bot and the Bot API emulator:
progress shown by editing one message, then a real document (multipart upload) that opens as a
workbook, and a real PNG photo."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.channels.telegram import TelegramChannel
from bot.clock import ManualClock
from tests.e2e.telegram_harness import bot_in_process, emulator_running
from tests.e2e.test_telegram_prefiling import say
from tests.e2e.test_telegram_review import register, submit_filing
from tests.emulator import message_text


async def test_admin_export_shows_progress_in_one_message_then_sends_the_workbook(
    database_url: str, tmp_path: Path, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every progress step edited (in production at most one edit a second).
    monkeypatch.setattr(TelegramChannel, "PROGRESS_INTERVAL", 0.0)
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        await runtime.admin.grant(3001, "admin", None, by="test")
        admin, cadre = emulator.user(3001), emulator.user(1001)
        await register(admin, "赵管")
        await register(cadre, "张三")
        assert "嵩明-2026-0001" in await submit_filing(cadre)

        admin.send_text("/export")
        status = await admin.wait_for_message(timeout=10)
        assert message_text(status) == "正在生成导出文件…0%"
        document = await admin.wait_for_message(timeout=30)
        assert "导出完成，共 1 条记录" in document["caption"]
        assert document["document"]["file_name"].endswith(".xlsx")
        assert document["document"]["mime_type"] == (
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        )

        # The first message was edited step by step and now reads as done; nothing else was sent.
        edits = [
            call["text"].splitlines()[0]
            for call in emulator.calls_to("editMessageText")
            if str(call["chat_id"]) == "3001" and int(call["message_id"]) == status["message_id"]
        ]
        assert edits == [
            "正在生成导出文件…20%",
            "正在生成导出文件…40%",
            "正在生成导出文件…60%",
            "正在生成导出文件…80%",
            "导出文件已生成 100%",
        ]
        final = next(m for m in emulator.sent(3001) if m["message_id"] == status["message_id"])
        assert message_text(final).splitlines()[0] == "导出文件已生成 100%"
        assert "✓ 报备事项：1 行" in message_text(final)
        await admin.assert_no_new_messages()

        book = load_workbook(io.BytesIO(emulator.file_content(document["document"]["file_id"])))
        assert book.sheetnames == ["统计汇总", "报备事项", "容错认定", "整改事项", "回访"]
        header, row = list(book["报备事项"].iter_rows(values_only=True))
        assert header[:2] == ("报备编号", "状态") and row[:2] == ("嵩明-2026-0001", "已提交，待初审")


async def test_stats_comes_with_a_chart_photo(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        await runtime.admin.grant(3001, "admin", None, by="test")
        admin = emulator.user(3001)
        await register(admin, "赵管")
        admin.send_text("/stats")
        text, photo = await admin.wait_for_messages(2, timeout=30)
        assert "photo" not in text and "photo" in photo
        assert photo["caption"].startswith("统计图")
        (size,) = photo["photo"]
        assert (size["width"], size["height"]) == (880, 990)
        assert emulator.file_content(size["file_id"]).startswith(b"\x89PNG\r\n\x1a\n")


async def test_a_cadre_is_refused_export_politely(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock),
    ):
        cadre = emulator.user(1001)
        await register(cadre, "张三")
        for text in ("/export", "/export full"):
            assert await say(cadre, text) == "抱歉，您没有使用 /export 的权限。如有需要请联系管理员。"
        await cadre.assert_no_new_messages()
        assert not [c for c in emulator.calls_to("sendDocument") if str(c["chat_id"]) == "1001"]
