"""Registration by chat through the real python-telegram-bot code, against the local Bot API emulator."""

from __future__ import annotations

from pathlib import Path

from bot.clock import ManualClock
from storage.uow import UnitOfWork
from tests.e2e.telegram_harness import BotProcess, bot_in_process, emulator_running
from tests.emulator import UserDriver, button_labels, message_text


async def next_text(user: UserDriver, timeout: float = 10.0) -> str:
    return message_text(await user.wait_for_message(timeout))


async def test_a_cadre_registers_by_chat(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        default_menu = [c["command"] for c in emulator.commands()]
        assert default_menu == ["start", "help", "cancel", "link", "lang"]

        user = emulator.user(1001, first_name="三", last_name="张", language_code="zh-hans")
        user.send_text("/start")
        greeting = await next_text(user)
        assert "容错纠错助手" in greeting and "请输入您的姓名" in greeting

        user.send_text("张三")
        city_message = await user.wait_for_message()
        assert "请选择您所在的市" in message_text(city_message)
        assert "昆明市" in button_labels(city_message)

        user.press("昆明市")
        # The pressed question is edited to show the choice and loses its keyboard.
        edited = await user.wait_for_edit(city_message["message_id"])
        assert message_text(edited).endswith("→ 昆明市") and not button_labels(edited)
        assert "请选择您所在的县" in await next_text(user)
        user.press("嵩明县")
        assert "请选择您所在的单位" in await next_text(user)
        user.press("杨桥街道办事处")
        assert "请输入您的职务" in await next_text(user)
        user.send_text("副主任")
        done = await next_text(user)
        assert "注册完成" in done and "昆明市 / 嵩明县 / 杨桥街道办事处" in done

        async with UnitOfWork(runtime.database) as uow:
            found = await uow.users.by_identity("telegram", "1001")
            assert found is not None
            stored, identity = found
            assert (stored.name, stored.unit_code, stored.position) == ("张三", "530127002", "副主任")
            assert stored.registered_at is not None
            assert identity.display_name == "张 三" or identity.display_name == "三 张"
        assert "me" in [c["command"] for c in emulator.commands(scope_chat_id=1001)]


async def test_unsupported_messages_get_a_polite_answer_and_nothing_is_lost(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with emulator_running() as emulator, bot_in_process(emulator, database_url, tmp_path, clock):
        user = emulator.user(1002)
        user.send_text("/start")
        await user.wait_for_message()
        user.send_text("李四")
        await user.wait_for_message()
        user.send_sticker()
        answer = await next_text(user)
        assert "收到了贴纸" in answer and "点击下方按钮选择“市（州）”" in answer
        user.send_voice()
        assert "收到了语音" in await next_text(user)
        user.send_location(25.3, 103.0)
        assert "收到了位置" in await next_text(user)
        user.send_text("x" * 5000)
        assert "点击下方按钮选择" in await next_text(user)
        user.press("昆明市")
        assert "请选择您所在的县" in await next_text(user)
        user.send_text("/cancel")
        kept = await next_text(user)
        assert "姓名：李四" in kept and "市（州）：昆明市" in kept


async def test_an_old_button_is_answered_politely(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with emulator_running() as emulator, bot_in_process(emulator, database_url, tmp_path, clock):
        user = emulator.user(1003)
        user.send_text("/start")
        await user.wait_for_message()
        user.send_text("王五")
        city_message = await user.wait_for_message()
        old_data = next(
            b["callback_data"]
            for row in city_message["reply_markup"]["inline_keyboard"]
            for b in row
            if b["text"] == "曲靖市"
        )
        user.press("昆明市")
        await user.wait_for_message()
        query = user.press_data(old_data, city_message["message_id"])
        assert "已经失效" in await next_text(user)
        await query.wait_answered()


async def test_menus_differ_per_role(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        await runtime.admin.grant(2001, "admin", None, by="test")
        for user_id, name in ((2001, "管理员甲"), (2002, "干部乙")):
            user = emulator.user(user_id)
            user.send_text("/start")
            await user.wait_for_message()
            user.send_text(name)
            await user.wait_for_message()
            for label in ("昆明市", "嵩明县", "杨桥街道办事处"):
                user.press(label)
                await user.wait_for_message()
            user.send_text("科员")
            await user.wait_for_message()
        admin_menu = [c["command"] for c in emulator.commands(scope_chat_id=2001)]
        cadre_menu = [c["command"] for c in emulator.commands(scope_chat_id=2002)]
        assert "users" in admin_menu and "users" not in cadre_menu
        assert "me" in admin_menu and "me" in cadre_menu

        admin = emulator.user(2001)
        admin.send_text("/users")
        listing = await next_text(admin)
        assert "共 2 人" in listing and "干部乙" in listing
        cadre = emulator.user(2002)
        cadre.send_text("/users")
        assert "没有使用 /users 的权限" in await next_text(cadre)


async def test_the_dialog_survives_a_killed_process(database_url: str, tmp_path: Path) -> None:
    async with emulator_running() as emulator:
        first = BotProcess(emulator, database_url, tmp_path / "run")
        first.start()
        try:
            user = emulator.user(3001)
            user.send_text("/start")
            assert "请输入您的姓名" in await next_text(user, timeout=30), first.output()
            user.send_text("赵六")
            city_message = await user.wait_for_message(timeout=10)
            assert "请选择您所在的市" in message_text(city_message)
            # Let the bot confirm the update (its next getUpdates carries the new offset), then crash it.
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
            user.press("昆明市", message_id=city_message["message_id"])
            assert "请选择您所在的县" in await next_text(user, timeout=30), second.output()
            user.press("嵩明县")
            assert "请选择您所在的单位" in await next_text(user)
        finally:
            second.stop()


async def test_a_traditional_chinese_user_is_answered_in_it_and_lang_switches_the_menu_too(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    async with emulator_running() as emulator, bot_in_process(emulator, database_url, tmp_path, clock):
        user = emulator.user(1003, first_name="美", last_name="陳", language_code="zh-hant")
        user.send_text("/start")
        greeting = await next_text(user)
        assert "容錯糾錯助手" in greeting and "請輸入您的姓名" in greeting
        user.send_text("陳美")
        assert "請選擇您所在的市" in await next_text(user)
        menu = {c["command"]: c["description"] for c in emulator.commands(scope_chat_id=1003)}
        assert menu["lang"] == "切換語言"

        user.send_text("/lang")
        choose = await user.wait_for_message()
        assert "請選擇介面語言" in message_text(choose)
        assert button_labels(choose) == ["简体中文", "✓ 繁體中文", "English"]
        user.press("English")
        texts = [await next_text(user), await next_text(user)]
        assert "in English" in texts[0] and "city" in texts[1].lower()
        menu = {c["command"]: c["description"] for c in emulator.commands(scope_chat_id=1003)}
        assert menu["lang"] == "change language"
        # The name typed before the switch is still there: the next step is the county.
        user.press("昆明市")
        assert "county" in (await next_text(user)).lower()
