"""A minimal, fast Bot API stub for benchmarks: answers every method at once and notes what it got.

The Bot API emulator in tests/ is faithful (it parses entities, checks keyboards, keeps chats),
and that costs CPU in whichever process hosts it. A throughput benchmark should measure the bot,
so this stub does the least that keeps python-telegram-bot satisfied: a well-formed `Message` for
the sending and editing methods, `True` for the rest, and a per-chat record of the calls with
their arrival times, which the benchmark driver (same process, same clock) waits on.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]
TOKEN = "123456:BENCH-TOKEN"
BOT = {"id": 123456, "is_bot": True, "first_name": "容错纠错助手", "username": "rongcuo_bench_bot"}
MESSAGE_METHODS = {"sendmessage", "editmessagetext", "editmessagereplymarkup", "sendphoto", "senddocument"}


@dataclass
class ChatLog:
    """What the bot sent into one chat: (arrival time, method, params), and who waits for more."""

    calls: list[tuple[float, str, JSON]] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)


class StubBotApi:
    def __init__(self) -> None:
        self.chats: defaultdict[int, ChatLog] = defaultdict(ChatLog)
        self.other_calls: list[str] = []
        self._message_ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/bot"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params = await _params(request)
        chat_id = params.get("chat_id")
        if chat_id is None and method == "answercallbackquery":
            chat_id = _query_chat(params.get("callback_query_id"))
        if method == "getme":
            return _ok(BOT)
        if chat_id is None:
            self.other_calls.append(method)
            return _ok(True)
        chat = int(chat_id)
        log = self.chats[chat]
        log.calls.append((time.perf_counter(), method, params))
        log.changed.set()
        if method in MESSAGE_METHODS:
            return _ok(self.message_from(chat, params))
        return _ok(True)

    def message_from(self, chat: int, params: JSON) -> JSON:
        message_id = int(params.get("message_id") or next(self._message_ids))
        message: JSON = {
            "message_id": message_id,
            "date": int(time.time()),
            "chat": {"id": chat, "type": "private"},
            "from": BOT,
            "text": str(params.get("text") or params.get("caption") or ""),
        }
        markup = params.get("reply_markup")
        if isinstance(markup, str):
            markup = json.loads(markup)
        if markup:
            message["reply_markup"] = markup
        return message

    async def wait_for_calls(self, chat: int, count: int, within: float) -> float | None:
        """The arrival time of the chat's `count`-th call, or None when it does not come in time."""
        log = self.chats[chat]
        deadline = time.perf_counter() + within
        while len(log.calls) < count:
            log.changed.clear()
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                return None
            try:
                await asyncio.wait_for(log.changed.wait(), remaining)
            except TimeoutError:
                return None
        return log.calls[count - 1][0]


def callback_query_id(chat: int, serial: int) -> str:
    # The stub learns the chat of answerCallbackQuery from the id, which carries no chat in the API.
    return f"{chat}-{serial}"


def _query_chat(query_id: object) -> int | None:
    if not isinstance(query_id, str) or "-" not in query_id:
        return None
    return int(query_id.split("-", 1)[0])


async def _params(request: web.Request) -> JSON:
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {}
    form = await request.post()
    return {key: value for key, value in form.items() if isinstance(value, str)}


def _ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})
