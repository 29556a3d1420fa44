"""PTB's Bot over the aiohttp transport: what reaches the Bot API, and how failures come back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.error import BadRequest, NetworkError, TimedOut

from bot.channels.telegram_transport import AiohttpRequest
from tests.e2e.telegram_harness import free_port

TOKEN = "123456:TRANSPORT-TEST"


@dataclass
class FakeApi:
    """Answers sendMessage / sendDocument like the Bot API and keeps what it was sent."""

    received: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    delay: float = 0.0

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        form = await request.post()
        fields: dict[str, Any] = {}
        for name, value in form.items():
            fields[name] = value.file.read() if isinstance(value, web.FileField) else value
            if isinstance(value, web.FileField):
                fields[f"{name}.filename"] = value.filename
        if method == "getMe":
            me = {"id": 123456, "is_bot": True, "first_name": "容错纠错", "username": "rongcuo_bot"}
            return web.json_response({"ok": True, "result": me})
        self.received.append((method, fields))
        await asyncio.sleep(self.delay)
        if method == "sendMessage" and fields.get("text") == "":
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: message text is empty"},
                status=400,
            )
        message: dict[str, Any] = {
            "message_id": len(self.received),
            "date": 1_790_000_000,
            "chat": {"id": int(fields["chat_id"]), "type": "private"},
        }
        if method == "sendMessage":
            message["text"] = fields["text"]
        else:
            message["document"] = {"file_id": "f1", "file_unique_id": "u1", "file_name": "a.xlsx"}
        return web.json_response({"ok": True, "result": message})


@pytest.fixture
async def api() -> AsyncIterator[tuple[FakeApi, str]]:
    fake = FakeApi()
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    yield fake, f"http://127.0.0.1:{port}/bot"
    await runner.cleanup()


async def test_a_message_with_buttons_arrives_as_the_bot_api_expects(api: tuple[FakeApi, str]) -> None:
    fake, url = api
    markup = InlineKeyboardMarkup([[InlineKeyboardButton("个人报备", callback_data="kind:personal")]])
    async with Bot(TOKEN, base_url=url, request=AiohttpRequest()) as bot:
        sent = await bot.send_message(42, "这是个人报备还是单位报备？", reply_markup=markup)
    assert sent.text == "这是个人报备还是单位报备？" and sent.chat_id == 42
    method, fields = fake.received[-1]
    assert method == "sendMessage"
    assert fields["chat_id"] == "42" and fields["text"] == "这是个人报备还是单位报备？"
    assert json.loads(fields["reply_markup"]) == {
        "inline_keyboard": [[{"text": "个人报备", "callback_data": "kind:personal"}]]
    }


async def test_a_file_goes_as_a_multipart_part_with_its_caption(api: tuple[FakeApi, str]) -> None:
    fake, url = api
    content = b"PK\x03\x04" + bytes(range(256)) * 40
    async with Bot(TOKEN, base_url=url, request=AiohttpRequest()) as bot:
        sent = await bot.send_document(42, InputFile(content, filename="报备台账.xlsx"), caption="导出完成")
    assert sent.document is not None
    method, fields = fake.received[-1]
    assert method == "sendDocument"
    assert fields["document"] == content and fields["document.filename"] == "报备台账.xlsx"
    assert fields["caption"] == "导出完成" and fields["chat_id"] == "42"


async def test_an_answer_slower_than_the_read_timeout_is_a_timeout(api: tuple[FakeApi, str]) -> None:
    fake, url = api
    fake.delay = 1.0
    async with Bot(TOKEN, base_url=url, request=AiohttpRequest()) as bot:
        with pytest.raises(TimedOut):
            await bot.send_message(42, "你好", read_timeout=0.2)


async def test_the_transport_s_own_read_timeout_applies_when_the_call_names_none(
    api: tuple[FakeApi, str],
) -> None:
    fake, url = api
    fake.delay = 1.0
    async with Bot(TOKEN, base_url=url, request=AiohttpRequest(read=0.2)) as bot:
        started = asyncio.get_running_loop().time()
        with pytest.raises(TimedOut):
            await bot.send_message(42, "你好")
        assert asyncio.get_running_loop().time() - started < 0.9


async def test_a_refused_connection_is_a_network_error() -> None:
    url = f"http://127.0.0.1:{free_port()}/bot"  # nothing listens there
    request = AiohttpRequest()
    await request.initialize()
    try:
        with pytest.raises(NetworkError) as raised:
            await Bot(TOKEN, base_url=url, request=request).send_message(42, "你好")
    finally:
        await request.shutdown()
    assert not isinstance(raised.value, TimedOut)


async def test_the_bot_api_refusing_a_message_is_a_bad_request(api: tuple[FakeApi, str]) -> None:
    _, url = api
    async with Bot(TOKEN, base_url=url, request=AiohttpRequest()) as bot:
        with pytest.raises(BadRequest, match=r"(?i)message text is empty"):
            await bot.send_message(42, "")
