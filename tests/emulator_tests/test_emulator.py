"""The emulator against the real python-telegram-bot: if these pass, PTB cannot tell it from Telegram
for everything the bot uses, and the driver sees what a user would."""

from __future__ import annotations

import asyncio
import datetime as dtm
import json
import time
import warnings
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from telegram import (
    Bot,
    BotCommand,
    BotCommandScopeChat,
    BotCommandScopeDefault,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    KeyboardButton,
    ReplyKeyboardMarkup,
    ReplyKeyboardRemove,
    ReplyParameters,
    Update,
)
from telegram.constants import ParseMode
from telegram.error import (
    BadRequest,
    Conflict,
    EndPointNotFound,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TimedOut,
)
from telegram.ext import (
    Application,
    ApplicationBuilder,
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)
from telegram.request import HTTPXRequest

from tests.emulator import BotApiEmulator, UserDriver, formatting, tiny_png
from tests.emulator.server import SECRET_TOKEN_HEADER

USER_ID = 1001


@asynccontextmanager
async def running_app(
    emulator: BotApiEmulator, *handlers: BaseHandler[Any, Any, Any]
) -> AsyncIterator[Application]:
    """A polling Application started by hand, the way a long-running bot process does it."""
    app = (
        ApplicationBuilder()
        .token(emulator.token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .build()
    )
    for handler in handlers:
        app.add_handler(handler)
    await app.initialize()
    await app.start()
    assert app.updater is not None
    await app.updater.start_polling()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


async def started_user(emulator: BotApiEmulator, bot: Bot, user_id: int = USER_ID) -> UserDriver:
    """A user who has opened the chat, with that first update already consumed."""
    user = emulator.user(user_id)
    user.send_text("/start")
    updates = await bot.get_updates()
    await bot.get_updates(offset=updates[-1].update_id + 1)
    return user


# --- identity and polling -----------------------------------------------------------------------


async def test_get_me_parses_as_a_bot(bot: Bot, emulator: BotApiEmulator) -> None:
    me = await bot.get_me()
    assert me.is_bot is True
    assert me.id == emulator.bot_id
    assert me.username == "rongcuo_test_bot"
    assert bot.username == "rongcuo_test_bot"


async def test_get_chat_parses_as_chat_full_info(bot: Bot, emulator: BotApiEmulator) -> None:
    await started_user(emulator, bot)
    chat = await bot.get_chat(USER_ID)
    assert (chat.id, chat.type, chat.first_name) == (USER_ID, "private", "测试")


async def test_user_text_reaches_a_polling_application_and_the_reply_reaches_the_user(
    emulator: BotApiEmulator,
) -> None:
    seen: list[Update] = []

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("欢迎使用")

    async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        seen.append(update)
        assert update.effective_message is not None and update.effective_message.text is not None
        await update.effective_message.reply_html(f"<b>收到</b>：{update.effective_message.text}")

    async with running_app(
        emulator,
        CommandHandler("start", start),
        MessageHandler(filters.TEXT & ~filters.COMMAND, echo),
    ):
        user = emulator.user(USER_ID, first_name="张", last_name="三", username="zhangsan")
        user.send_text("/start")
        [welcome] = await user.wait_for_messages(1)
        assert user.text(welcome) == "欢迎使用"

        sent = user.send_text("我要报备")
        [reply] = await user.wait_for_messages(1)

    assert user.text(reply) == "收到：我要报备"
    assert reply["entities"] == [{"type": "bold", "offset": 0, "length": 2}]
    assert reply["chat"]["id"] == USER_ID
    incoming = seen[0].effective_message
    assert incoming is not None and incoming.message_id == sent["message_id"]
    assert seen[0].effective_user is not None and seen[0].effective_user.username == "zhangsan"
    assert seen[0].effective_user.language_code == "zh-hans"
    assert user.last == reply


async def test_commands_get_bot_command_entities_like_real_clients(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(USER_ID)
    user.send_text("/report@rongcuo_test_bot 2024")
    [update] = await bot.get_updates()
    assert update.message is not None
    assert update.message.entities[0].type == "bot_command"
    assert update.message.entities[0].length == len("/report@rongcuo_test_bot")
    assert update.message.parse_entities() == {update.message.entities[0]: "/report@rongcuo_test_bot"}


async def test_confirmed_updates_are_never_delivered_again(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER_ID)
    user.send_text("一")
    user.send_text("二")
    first = await bot.get_updates()
    assert [u.message.text for u in first if u.message] == ["一", "二"]
    # Not confirmed yet: the same updates come back.
    assert [u.update_id for u in await bot.get_updates()] == [u.update_id for u in first]

    assert await bot.get_updates(offset=first[-1].update_id + 1) == ()
    user.send_text("三")
    again = await bot.get_updates(offset=first[-1].update_id + 1)
    assert [u.message.text for u in again if u.message] == ["三"]
    assert again[0].update_id > first[-1].update_id

    # A negative offset keeps only the newest updates and forgets the rest.
    user.send_text("四")
    user.send_text("五")
    newest = await bot.get_updates(offset=-1)
    assert [u.message.text for u in newest if u.message] == ["五"]
    assert [u.message.text for u in await bot.get_updates() if u.message] == ["五"]

    limited = await bot.get_updates(limit=1)
    assert len(limited) == 1


async def test_long_polling_returns_on_arrival_or_after_the_timeout(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = emulator.user(USER_ID)
    started = time.monotonic()
    assert await bot.get_updates(timeout=1) == ()
    assert time.monotonic() - started >= 0.9

    async def later() -> None:
        await asyncio.sleep(0.2)
        user.send_text("来了")

    task = asyncio.create_task(later())
    started = time.monotonic()
    updates = await bot.get_updates(timeout=10)
    await task
    assert time.monotonic() - started < 2
    assert updates[0].message is not None and updates[0].message.text == "来了"


async def test_a_restarted_application_does_not_see_old_updates(emulator: BotApiEmulator) -> None:
    texts: list[str] = []

    async def record(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None and update.effective_message.text is not None
        texts.append(update.effective_message.text)
        await update.effective_message.reply_text("ok")

    user = emulator.user(USER_ID)
    handler = MessageHandler(filters.TEXT, record)
    async with running_app(emulator, handler):
        user.send_text("第一次")
        await user.wait_for_messages(1)
    async with running_app(emulator, handler):
        user.send_text("第二次")
        await user.wait_for_messages(1)
    assert texts == ["第一次", "第二次"]


async def test_allowed_updates_filters_what_is_queued(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)
    await bot.send_message(
        USER_ID, "选", reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("A", callback_data="a")]])
    )
    await bot.get_updates(allowed_updates=["message"])
    user.press("A")
    user.send_text("文本")
    updates = await bot.get_updates()
    assert [u.message.text for u in updates if u.message] == ["文本"]
    assert any("callback_query" in dropped for dropped in emulator.dropped_updates)
    await bot.get_updates(offset=updates[-1].update_id + 1, allowed_updates=[])  # back to the default
    user.press("A")
    assert (await bot.get_updates())[0].callback_query is not None


async def test_a_second_poller_terminates_the_first(emulator: BotApiEmulator, bot: Bot) -> None:
    first = asyncio.create_task(bot.get_updates(timeout=5))
    await emulator.wait_until_polling()
    # A second bot process with the same token, as after a botched deploy.
    async with Bot(emulator.token, base_url=emulator.base_url) as other:
        second = asyncio.create_task(other.get_updates(timeout=0))
        with pytest.raises(Conflict, match="terminated by other getUpdates request"):
            await first
        assert await second == ()


# --- buttons --------------------------------------------------------------------------------------


async def test_callback_button_round_trip(emulator: BotApiEmulator) -> None:
    chat_instances: list[str] = []

    async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        keyboard = InlineKeyboardMarkup(
            [
                [InlineKeyboardButton("事前报备", callback_data="file:pre")],
                [InlineKeyboardButton("帮助", url="https://example.com")],
            ]
        )
        await update.effective_message.reply_text("请选择：", reply_markup=keyboard)

    async def chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        query = update.callback_query
        assert query is not None and query.message is not None
        chat_instances.append(query.chat_instance)
        await query.answer("已选择")
        await query.edit_message_text(f"你选择了：{query.data}")

    async with running_app(emulator, CommandHandler("menu", menu), CallbackQueryHandler(chosen)):
        user = emulator.user(USER_ID)
        user.send_text("/menu")
        [message] = await user.wait_for_messages(1)
        assert user.buttons(message) == [["事前报备"], ["帮助"]]

        with pytest.raises(AssertionError, match="url button"):
            user.press("帮助")
        query = user.press("事前报备")
        await query.wait_answered()
        edited = await user.wait_for_edit(message["message_id"])

    assert query.answer_text == "已选择"
    assert query.show_alert is False
    assert chat_instances and chat_instances[0]
    assert user.text(edited) == "你选择了：file:pre"
    assert "edit_date" in edited
    # editMessageText without reply_markup drops the keyboard, as on Telegram.
    assert user.buttons(edited) == []
    assert user.messages == [edited]


async def test_press_on_a_deleted_message_sends_an_inaccessible_message(
    emulator: BotApiEmulator, bot: Bot
) -> None:
    user = await started_user(emulator, bot)
    sent = await bot.send_message(USER_ID, "旧")
    await bot.delete_message(USER_ID, sent.message_id)
    user.press_data("stale", sent.message_id)
    [update] = await bot.get_updates()
    assert update.callback_query is not None
    assert update.callback_query.data == "stale"
    assert update.callback_query.message is not None
    assert update.callback_query.message.is_accessible is False


async def test_reply_keyboard_is_shown_tapped_and_removed(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)
    await bot.send_message(
        USER_ID,
        "您的身份？",
        reply_markup=ReplyKeyboardMarkup([[KeyboardButton("干部"), "纪检"]], one_time_keyboard=True),
    )
    assert user.reply_keyboard == [["干部", "纪检"]]
    assert "reply_markup" not in user.last  # Message.reply_markup only ever holds inline keyboards
    user.tap_keyboard("纪检")
    assert user.reply_keyboard is None  # one_time_keyboard hides itself after a tap
    [update] = await bot.get_updates()
    assert update.message is not None and update.message.text == "纪检"

    await bot.send_message(USER_ID, "再选", reply_markup=ReplyKeyboardMarkup([["是", "否"]]))
    await bot.send_message(USER_ID, "好的", reply_markup=ReplyKeyboardRemove())
    assert user.reply_keyboard is None


async def test_reply_parameters(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)
    question = user.send_text("问题")
    answer = await bot.send_message(USER_ID, "回答", reply_parameters=ReplyParameters(question["message_id"]))
    assert answer.reply_to_message is not None
    assert answer.reply_to_message.text == "问题"
    with pytest.raises(BadRequest, match=r"(?i)message to be replied not found"):
        await bot.send_message(USER_ID, "x", reply_parameters=ReplyParameters(9999))
    kept = await bot.send_message(
        USER_ID, "x", reply_parameters=ReplyParameters(9999, allow_sending_without_reply=True)
    )
    assert kept.reply_to_message is None


async def test_user_side_media_and_other_message_kinds(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER_ID)
    user.send_sticker()
    user.send_voice(duration=4)
    user.send_location(39.9, 116.4)
    user.send_contact("+8613800000000")
    user.send_photo(tiny_png(40, 30), caption="现场照片")
    user.send_document("说明.pdf", b"%PDF-1.4 test", "application/pdf")
    messages = [u.message for u in await bot.get_updates()]
    assert all(m is not None for m in messages)
    sticker, voice, location, contact, photo, document = messages
    assert sticker is not None and sticker.sticker is not None and sticker.sticker.emoji == "👍"
    assert voice is not None and voice.voice is not None
    assert location is not None and location.location is not None and location.location.latitude == 39.9
    assert contact is not None and contact.contact is not None and contact.contact.user_id == USER_ID
    assert photo is not None and photo.caption == "现场照片"
    assert (photo.photo[-1].width, photo.photo[-1].height) == (40, 30)
    assert document is not None and document.document is not None
    assert document.document.file_name == "说明.pdf"

    photo_file = await bot.get_file(photo.photo[-1].file_id)
    assert bytes(await photo_file.download_as_bytearray()) == tiny_png(40, 30)
    doc_file = await document.document.get_file()
    assert bytes(await doc_file.download_as_bytearray()) == b"%PDF-1.4 test"


async def test_user_edits_arrive_as_edited_message(emulator: BotApiEmulator, bot: Bot) -> None:
    user = emulator.user(USER_ID)
    sent = user.send_text("错字")
    user.edit(sent["message_id"], "正字")
    updates = await bot.get_updates()
    assert updates[1].edited_message is not None
    assert updates[1].edited_message.text == "正字"
    assert updates[1].edited_message.edit_date is not None


# --- files ------------------------------------------------------------------------------------------


async def test_send_document_multipart_then_get_file_and_download(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)
    content = "报备材料\n".encode() * 100
    message = await bot.send_document(
        USER_ID, content, filename="报备.txt", caption="<b>材料</b>", parse_mode=ParseMode.HTML
    )
    assert message.document is not None
    assert message.document.file_name == "报备.txt"
    assert message.document.file_size == len(content)
    assert message.document.mime_type == "text/plain"
    assert message.caption == "材料"
    assert message.caption_entities[0].type == "bold"

    file = await bot.get_file(message.document.file_id)
    assert file.file_path is not None and file.file_path.startswith(emulator.base_file_url)
    assert bytes(await file.download_as_bytearray()) == content
    assert user.last["document"]["file_id"] == message.document.file_id

    # A file_id can be sent again without uploading.
    again = await bot.send_document(USER_ID, message.document.file_id)
    assert again.document is not None and again.document.file_unique_id == message.document.file_unique_id


async def test_send_photo_upload_and_rejections(emulator: BotApiEmulator, bot: Bot) -> None:
    await started_user(emulator, bot)
    message = await bot.send_photo(USER_ID, tiny_png(64, 48), caption="图")
    assert (message.photo[-1].width, message.photo[-1].height) == (64, 48)
    assert message.photo[-1].file_size == len(tiny_png(64, 48))
    with pytest.raises(BadRequest, match=r"(?i)IMAGE_PROCESS_FAILED"):
        await bot.send_photo(USER_ID, b"not an image")
    with pytest.raises(BadRequest, match=r"(?i)wrong file identifier"):
        await bot.send_photo(USER_ID, "no-such-file-id")
    document = await bot.send_document(USER_ID, b"abc", filename="a.bin")
    assert document.document is not None
    with pytest.raises(BadRequest, match=r"(?i)can't use file of type Document as Photo"):
        await bot.send_photo(USER_ID, document.document.file_id)
    with pytest.raises(BadRequest, match=r"(?i)invalid file_id"):
        await bot.get_file("nope")


# --- commands ---------------------------------------------------------------------------------------


async def test_commands_by_scope_and_language(emulator: BotApiEmulator, bot: Bot) -> None:
    await started_user(emulator, bot)
    await bot.set_my_commands([BotCommand("start", "开始"), BotCommand("help", "帮助")])
    await bot.set_my_commands([BotCommand("review", "审核")], scope=BotCommandScopeChat(USER_ID))
    await bot.set_my_commands([BotCommand("baobei", "报备")], language_code="zh")

    scoped = await bot.get_my_commands(scope=BotCommandScopeChat(USER_ID))
    assert [(c.command, c.description) for c in scoped] == [("review", "审核")]
    assert [c.command for c in await bot.get_my_commands()] == ["start", "help"]
    assert [
        c.command for c in await bot.get_my_commands(scope=BotCommandScopeDefault(), language_code="zh")
    ] == ["baobei"]

    assert emulator.commands(USER_ID) == [{"command": "review", "description": "审核"}]
    assert [c["command"] for c in emulator.commands(2002)] == ["start", "help"]
    # A user whose client reports "zh-hans" gets the "zh" list.
    assert [c["command"] for c in emulator.commands(None, "zh-hans")] == ["baobei"]

    await bot.delete_my_commands(scope=BotCommandScopeChat(USER_ID))
    assert [c["command"] for c in emulator.commands(USER_ID, "zh-hans")] == ["baobei"]

    with pytest.raises(BadRequest, match=r"(?i)invalid language code specified"):
        await bot.set_my_commands([BotCommand("start", "开始")], language_code="zh-hans")
    with pytest.raises(BadRequest, match=r"(?i)BOT_COMMAND_INVALID"):
        await bot.set_my_commands([BotCommand("Start", "开始")])
    with pytest.raises(BadRequest, match=r"(?i)chat not found"):
        await bot.set_my_commands([BotCommand("start", "开始")], scope=BotCommandScopeChat(424242))


# --- errors -----------------------------------------------------------------------------------------


async def test_telegram_error_texts_map_to_ptb_exceptions(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)

    with pytest.raises(BadRequest, match=r"(?i)^chat not found$"):
        await bot.send_message(424242, "你好")
    with pytest.raises(BadRequest, match=r"(?i)^message text is empty$"):
        await bot.send_message(USER_ID, "   ")
    with pytest.raises(BadRequest, match=r"(?i)^message is too long$"):
        await bot.send_message(USER_ID, "字" * 4097)
    await bot.send_message(USER_ID, "字" * 4096)  # the limit itself is fine
    with pytest.raises(BadRequest, match=r"(?i)BUTTON_DATA_INVALID"):
        await bot.send_message(
            USER_ID,
            "x",
            reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("x", callback_data="x" * 65)]]),
        )
    with pytest.raises(
        BadRequest, match=r'(?i)^can\'t parse entities: unsupported start tag "x" at byte offset 3$'
    ):
        await bot.send_message(USER_ID, "<b><x>粗</x></b>", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r'(?i)can\'t find end tag corresponding to start tag "b"'):
        await bot.send_message(USER_ID, "<b>粗", parse_mode=ParseMode.HTML)
    with pytest.raises(BadRequest, match=r"(?i)character '\.' is reserved"):
        await bot.send_message(USER_ID, "完成.", parse_mode=ParseMode.MARKDOWN_V2)

    sent = await bot.send_message(
        USER_ID,
        "状态：待审",
        reply_markup=InlineKeyboardMarkup([[InlineKeyboardButton("通过", callback_data="ok")]]),
    )
    same_markup = InlineKeyboardMarkup([[InlineKeyboardButton("通过", callback_data="ok")]])
    with pytest.raises(BadRequest, match=r"(?i)^message is not modified: specified new message content"):
        await bot.edit_message_text("状态：待审", USER_ID, sent.message_id, reply_markup=same_markup)
    # Trailing whitespace is trimmed by Telegram, so this is no change either.
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_text("状态：待审\n", USER_ID, sent.message_id, reply_markup=same_markup)
    with pytest.raises(BadRequest, match=r"(?i)^message to edit not found$"):
        await bot.edit_message_text("新", USER_ID, 9999)
    with pytest.raises(BadRequest, match=r"(?i)message is not modified"):
        await bot.edit_message_reply_markup(USER_ID, sent.message_id, reply_markup=same_markup)
    await bot.edit_message_reply_markup(USER_ID, sent.message_id)
    assert user.buttons(user.last) == []

    with pytest.raises(
        BadRequest, match=r"(?i)^query is too old and response timeout expired or query ID is invalid$"
    ):
        await bot.answer_callback_query("123")
    query = user.press_data("ok", sent.message_id)
    await bot.answer_callback_query(query.id, "好")
    with pytest.raises(BadRequest, match=r"(?i)query is too old"):
        await bot.answer_callback_query(query.id, "又一次")

    with pytest.raises(BadRequest, match=r"(?i)^message to delete not found$"):
        await bot.delete_message(USER_ID, 9999)

    user.block()
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_message(USER_ID, "在吗")
    with pytest.raises(Forbidden, match="bot was blocked by the user"):
        await bot.send_chat_action(USER_ID, "typing")
    user.unblock()
    await bot.send_message(USER_ID, "在的")

    reasons = {error.description for error in emulator.errors}
    assert "Bad Request: chat not found" in reasons
    assert "Forbidden: bot was blocked by the user" in reasons


async def test_wrong_token_and_unknown_method(emulator: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(InvalidToken):
        async with Bot("654321:WRONG-TOKEN", base_url=emulator.base_url):
            pass
    with pytest.raises(EndPointNotFound):
        await bot.do_api_request("noSuchMethod")


async def test_flood_limit_answers_429_with_retry_after() -> None:
    async with BotApiEmulator(per_chat_limit=2) as emulator:
        async with Bot(emulator.token, base_url=emulator.base_url) as bot:
            await started_user(emulator, bot)
            await bot.send_message(USER_ID, "1")
            await bot.send_message(USER_ID, "2")
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(USER_ID, "3")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # PTB 22 warns that retry_after becomes a timedelta
                retry_after = caught.value.retry_after
            seconds = retry_after.total_seconds() if isinstance(retry_after, dtm.timedelta) else retry_after
            assert seconds == 1
            assert emulator.errors[-1].description == "Too Many Requests: retry after 1"
            assert len(emulator.sent(USER_ID)) == 2


async def test_injected_faults_and_delays(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)

    emulator.fail_next("sendMessage", status=502)
    with pytest.raises(NetworkError, match="Bad Gateway"):
        await bot.send_message(USER_ID, "丢了")
    assert user.messages == []
    await bot.send_message(USER_ID, "到了")
    assert [user.text(m) for m in user.messages] == ["到了"]

    # The message goes out but the answer is lost: the classic duplicate-on-retry trap.
    emulator.fail_next("sendmessage", status=500, after_effect=True)
    with pytest.raises(NetworkError):
        await bot.send_message(USER_ID, "到了但没回执")
    assert [user.text(m) for m in user.messages] == ["到了", "到了但没回执"]

    emulator.fail_next("sendMessage", status=429, retry_after=3)
    with pytest.raises(RetryAfter):
        await bot.send_message(USER_ID, "限流")

    emulator.set_delay("sendMessage", 1.0)
    impatient = Bot(emulator.token, base_url=emulator.base_url, request=HTTPXRequest(read_timeout=0.2))
    async with impatient:
        with pytest.raises(TimedOut):
            await impatient.send_message(USER_ID, "慢")
    emulator.set_delay("sendMessage", None)
    await user.wait_for(lambda: len(user.messages) == 3, what="the delayed message to land")


async def test_conflict_while_a_webhook_is_set(emulator: BotApiEmulator, bot: Bot) -> None:
    await bot.set_webhook("http://127.0.0.1:9/hook")
    with pytest.raises(Conflict, match="can't use getUpdates method while webhook is active"):
        await bot.get_updates()
    await bot.delete_webhook()
    assert await bot.get_updates() == ()


# --- webhook ------------------------------------------------------------------------------------------


async def test_webhook_delivery_with_secret_header_and_retries(emulator: BotApiEmulator, bot: Bot) -> None:
    received: list[tuple[str | None, dict[str, Any]]] = []
    answers = [500, 200, 200]

    async def hook(request: web.Request) -> web.Response:
        received.append((request.headers.get(SECRET_TOKEN_HEADER), await request.json()))
        return web.Response(status=answers.pop(0) if answers else 200)

    app = web.Application()
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        user = emulator.user(USER_ID)
        user.send_text("排队中")  # queued before the webhook: delivered once it is set
        assert await bot.set_webhook(f"http://127.0.0.1:{port}/hook", secret_token="s3cr3t_TOKEN")
        info = await bot.get_webhook_info()
        assert info.url == f"http://127.0.0.1:{port}/hook"

        user.send_text("第二条")
        await user.wait_for(
            lambda: len(received) == 3 and not emulator.pending_updates, what="webhook delivery"
        )
        # The first attempt got a 500, so the same update came again.
        assert [body["update_id"] for _, body in received] == [1, 1, 2]
        assert all(secret == "s3cr3t_TOKEN" for secret, _ in received)
        parsed = Update.de_json(received[-1][1], bot)
        assert parsed is not None and parsed.message is not None and parsed.message.text == "第二条"

        info = await bot.get_webhook_info()
        assert info.pending_update_count == 0
        assert info.last_error_message == "Wrong response from the webhook: 500 Internal Server Error"
        assert emulator.webhook["url"].endswith("/hook")

        assert await bot.delete_webhook()
        assert emulator.webhook["url"] == ""
        user.send_text("回到轮询")
        [update] = await bot.get_updates()
        assert update.message is not None and update.message.text == "回到轮询"
    finally:
        await runner.cleanup()


async def test_set_webhook_validates_its_arguments(emulator: BotApiEmulator, bot: Bot) -> None:
    with pytest.raises(BadRequest, match=r"(?i)invalid webhook url"):
        await bot.set_webhook("not a url")
    with pytest.raises(BadRequest, match=r"(?i)secret token contains illegal characters"):
        await bot.set_webhook("https://example.com/hook", secret_token="有空格 的")


# --- a bot that is told about being blocked --------------------------------------------------------


async def test_blocking_sends_my_chat_member(emulator: BotApiEmulator) -> None:
    statuses: list[str] = []

    async def member(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.my_chat_member is not None
        statuses.append(update.my_chat_member.new_chat_member.status)

    async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("hi")

    async with running_app(
        emulator, ChatMemberHandler(member, ChatMemberHandler.MY_CHAT_MEMBER), CommandHandler("start", start)
    ):
        user = emulator.user(USER_ID)
        user.send_text("/start")
        await user.wait_for_messages(1)
        user.block()
        with pytest.raises(AssertionError, match="blocked the bot"):
            user.send_text("hello")
        user.unblock()
        await user.wait_for(lambda: statuses == ["kicked", "member"], what="two my_chat_member updates")


# --- raw HTTP, the way other clients talk to the Bot API ------------------------------------------


async def test_json_form_and_get_requests(emulator: BotApiEmulator) -> None:
    emulator.user(USER_ID).send_text("hi")
    url = f"{emulator.base_url}{emulator.token}"
    async with aiohttp.ClientSession() as session:
        async with session.post(f"{url}/SENDMESSAGE", json={"chat_id": USER_ID, "text": "json"}) as response:
            body = await response.json()
            assert body["ok"] is True and body["result"]["text"] == "json"
        async with session.post(
            f"{url}/sendMessage", data={"chat_id": str(USER_ID), "text": "form"}
        ) as response:
            assert (await response.json())["result"]["text"] == "form"
        async with session.get(f"{url}/getMe") as response:
            assert (await response.json())["result"]["is_bot"] is True
        async with session.get(f"{url}/sendMessage", params={"chat_id": "1", "text": "x"}) as response:
            assert response.status == 400
            assert await response.json() == {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: chat not found",
            }
        async with session.get(f"{emulator.base_url}123:nope/getMe") as response:
            assert response.status == 401
            assert (await response.json())["description"] == "Unauthorized"
        async with session.get(f"{url}/getUnicorns") as response:
            assert response.status == 404
            assert (await response.json())["description"] == "Not Found"
    assert [method for method, _ in emulator.calls] == [
        "sendMessage",
        "sendMessage",
        "getMe",
        "sendMessage",
        "getUnicorns",
    ]
    assert emulator.errors[-1].method == "getUnicorns" and emulator.errors[-1].status == 404
    assert emulator.calls_to("sendMessage")[1] == {"chat_id": USER_ID, "text": "form"}


# --- the driver's own guarantees -------------------------------------------------------------------


async def test_waiting_reports_the_whole_chat_on_timeout(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)
    await bot.send_message(USER_ID, "只有一条")
    with pytest.raises(AssertionError) as caught:
        await user.wait_for_messages(2, timeout=0.2)
    report = str(caught.value)
    assert "expected 2 new bot message(s)" in report
    assert "只有一条" in report and "/start" in report
    [only] = await user.wait_for_messages(1)
    assert user.text(only) == "只有一条"
    await user.assert_no_new_messages(within=0.05)
    await bot.send_message(USER_ID, "多余")
    with pytest.raises(AssertionError, match="多余"):
        await user.assert_no_new_messages(within=0.05)


async def test_chat_actions_and_deletion_are_visible(emulator: BotApiEmulator, bot: Bot) -> None:
    user = await started_user(emulator, bot)
    await bot.send_chat_action(USER_ID, "typing")
    with pytest.raises(BadRequest, match=r"(?i)wrong parameter action"):
        await bot.send_chat_action(USER_ID, "dancing")
    assert user.chat_actions == ["typing"]
    placeholder = await bot.send_message(USER_ID, "处理中…")
    await bot.delete_message(USER_ID, placeholder.message_id)
    await user.wait_for_deletion(placeholder.message_id)
    assert user.messages == []


# --- formatting, checked against TDLib's own test vectors ---------------------------------------


@pytest.mark.parametrize(
    ("html", "error"),
    [
        ("🏟 🏟&lt;<abacaba", "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;<abac aba>", 'Unsupported start tag "abac" at byte offset 13'),
        ("🏟 🏟&lt;<i   =aba>", 'Empty attribute name in the tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba>", 'Can\'t find end tag corresponding to start tag "i"'),
        ("🏟 🏟&lt;<i    aba  =  ", 'Unclosed start tag "i" at byte offset 13'),
        ("🏟 🏟&lt;<i    aba  =  190azAz-.,", "Unexpected end of name token at byte offset 27"),
        ('🏟 🏟&lt;<i    aba  =  "&lt;&gt;&quot;>', "Unclosed start tag at byte offset 13"),
        ("🏟 🏟&lt;</", "Unexpected end tag at byte offset 13"),
        ("🏟 🏟&lt;<b></b></", "Unexpected end tag at byte offset 20"),
        ("🏟 🏟&lt;<i>a</i   ", "Unclosed end tag at byte offset 17"),
        ("🏟 🏟&lt;<i>a</em   >", 'Unmatched end tag at byte offset 17, expected "</i>", found "</em>"'),
    ],
)
def test_html_errors_match_tdlib(html: str, error: str) -> None:
    with pytest.raises(formatting.EntityParseError) as caught:
        formatting.parse_html(html)
    assert str(caught.value) == error


def test_html_entities_match_tdlib() -> None:
    assert formatting.parse_html("&ge;&lt;&gt;&amp;&quot;&laquo;&#12345678;") == (
        '&ge;<>&"&laquo;&#12345678;',
        [],
    )
    assert formatting.parse_html("🏟 🏟<i>🏟 &lt🏟</i>") == (
        "🏟 🏟🏟 <🏟",
        [{"type": "italic", "offset": 5, "length": 6}],
    )
    text, entities = formatting.parse_html(
        '<pre><code class="language-python">x = 1</code></pre><a href="example.com">链接</a>'
    )
    assert text == "x = 1链接"
    assert entities == [
        {"type": "pre", "offset": 0, "length": 5, "language": "python"},
        {"type": "text_link", "offset": 5, "length": 2, "url": "http://example.com/"},
    ]
    assert formatting.parse_html("<tg-spoiler>秘</tg-spoiler><blockquote expandable>引</blockquote>")[1] == [
        {"type": "spoiler", "offset": 0, "length": 1},
        {"type": "expandable_blockquote", "offset": 1, "length": 1},
    ]


@pytest.mark.parametrize(
    ("markdown", "error"),
    [
        ("🏟 🏟_abacaba", "Can't find end of Italic entity at byte offset 9"),
        ("🏟 🏟_abac * asd ", "Can't find end of Bold entity at byte offset 15"),
        ("🏟 🏟_abac * asd _", "Can't find end of Italic entity at byte offset 21"),
        ("🏟 🏟`", "Can't find end of Code entity at byte offset 9"),
        ("🏟 🏟```", "Can't find end of Pre entity at byte offset 9"),
        ("🏟 🏟```a", "Can't find end of Pre entity at byte offset 9"),
        ("🏟 🏟```a ", "Can't find end of PreCode entity at byte offset 9"),
        ("🏟 🏟__🏟 🏟_", "Can't find end of Italic entity at byte offset 20"),
        ("🏟 🏟_🏟 🏟__", "Can't find end of Underline entity at byte offset 19"),
        ("🏟 🏟```🏟 🏟`", "Can't find end of Code entity at byte offset 21"),
        ("[telegram\\.org](asd\\)", "Can't find end of a URL at byte offset 16"),
        ("🏟 🏟__🏟 _🏟___", "Can't find end of Italic entity at byte offset 23"),
        ("🏟 🏟||test\\|", "Can't find end of Spoiler entity at byte offset 9"),
        ("🏟 🏟!", "Character '!' is reserved and must be escaped with the preceding '\\'"),
        (">*b\n>ld \n>bo\nld*\nasd\ndef", "Can't find end of Bold entity at byte offset 1"),
        (">\n*a*>2", "Character '>' is reserved and must be escaped with the preceding '\\'"),
    ],
)
def test_markdown_v2_errors_match_tdlib(markdown: str, error: str) -> None:
    with pytest.raises(formatting.EntityParseError) as caught:
        formatting.parse_markdown_v2(markdown)
    assert str(caught.value) == error


def test_markdown_v2_entities() -> None:
    text, entities = formatting.parse_markdown_v2(
        "*粗* _斜_ __下划__ ~删~ ||隐|| `码` [链](https://t.me) \\."
    )
    assert text == "粗 斜 下划 删 隐 码 链 ."
    assert [e["type"] for e in entities] == [
        "bold",
        "italic",
        "underline",
        "strikethrough",
        "spoiler",
        "code",
        "text_link",
    ]
    assert formatting.parse_markdown_v2(">引用\n正文") == (
        "引用\n正文",
        [{"type": "blockquote", "offset": 0, "length": 2}],
    )


def test_utf16_offsets_and_trimming() -> None:
    text, entities = formatting.trim(*formatting.parse_html("\n 😀<b>好</b> \n"))
    assert text == "😀好"
    assert entities == [{"type": "bold", "offset": 2, "length": 1}]
    assert formatting.detect_entities("看 https://example.com/a?b=1 和 /help", []) == [
        {"type": "url", "offset": 2, "length": 25},
        {"type": "bot_command", "offset": 30, "length": 5},
    ]


def test_calls_record_typed_parameters() -> None:
    # Form-encoded values are all strings on the wire; calls shows them typed.
    from tests.emulator.records import Params

    params = Params({"chat_id": "5", "text": "[1]", "reply_markup": json.dumps({"inline_keyboard": []})}, {})
    assert params.raw == {"chat_id": 5, "text": "[1]", "reply_markup": {"inline_keyboard": []}}
