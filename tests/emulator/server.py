"""A local Telegram Bot API server for end-to-end tests.

The emulator speaks the HTTP protocol documented at https://core.telegram.org/bots/api closely
enough that an unmodified python-telegram-bot ``Application`` can run against it: long polling with
offsets, webhooks with the secret header, multipart uploads, and Telegram's own error texts and
status codes (PTB maps those to ``BadRequest``/``Forbidden``/``RetryAfter``...). Users are played by
``UserDriver`` objects (see ``driver.py``), which create updates the way real clients would.

Only private chats are modelled; the chat id of a user's chat is the user id.
"""

# The waiting helpers take a `timeout` argument on purpose: it goes into the assertion message.

from __future__ import annotations

import asyncio
import copy
import functools
import itertools
import logging
import math
import mimetypes
import re
import secrets
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from . import formatting
from .driver import UserDriver
from .media import image_size
from .records import (
    BLOCKED,
    JSON,
    Answer,
    ApiError,
    ApiErrorRecord,
    CallbackQueryRecord,
    ChatState,
    Fault,
    Params,
    Poll,
    Signal,
    StoredFile,
    StoredMessage,
    UploadedFile,
    UserInfo,
    Webhook,
    json_response,
)

log = logging.getLogger(__name__)

ALL_UPDATE_TYPES = (
    "message",
    "edited_message",
    "channel_post",
    "edited_channel_post",
    "business_connection",
    "business_message",
    "edited_business_message",
    "deleted_business_messages",
    "message_reaction",
    "message_reaction_count",
    "inline_query",
    "chosen_inline_result",
    "callback_query",
    "shipping_query",
    "pre_checkout_query",
    "purchased_paid_media",
    "poll",
    "poll_answer",
    "my_chat_member",
    "chat_member",
    "chat_join_request",
    "chat_boost",
    "removed_chat_boost",
)
# What an empty or absent allowed_updates means, per the getUpdates documentation.
DEFAULT_UPDATE_TYPES = frozenset(ALL_UPDATE_TYPES) - {
    "chat_member",
    "message_reaction",
    "message_reaction_count",
}

SECRET_TOKEN_HEADER = "X-Telegram-Bot-Api-Secret-Token"

WEBHOOK_ACTIVE = (
    "Conflict: can't use getUpdates method while webhook is active; "
    "use deleteWebhook to delete the webhook first"
)
TERMINATED_BY_OTHER_POLL = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
)
TERMINATED_BY_WEBHOOK = "Conflict: terminated by setWebhook request"
QUERY_INVALID = "query is too old and response timeout expired or query ID is invalid"
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the same as a "
    "current content and reply markup of the message"
)

MAX_TEXT = 4096
MAX_CAPTION = 1024
MAX_CALLBACK_DATA = 64
MAX_DOWNLOAD = 20 * 1024 * 1024
MAX_UPLOAD = 50 * 1024 * 1024
MAX_LONG_POLL = 50.0

_TOKEN_FORMAT = re.compile(r"\d+:[\w-]+")
_COMMAND_FORMAT = re.compile(r"[a-z0-9_]+")
_SECRET_FORMAT = re.compile(r"[A-Za-z0-9_-]*")
_INLINE_BUTTON_ACTIONS = (
    "url",
    "callback_data",
    "web_app",
    "login_url",
    "switch_inline_query",
    "switch_inline_query_current_chat",
    "switch_inline_query_chosen_chat",
    "copy_text",
    "callback_game",
    "pay",
)
_CHAT_ACTIONS = {
    "typing": "typing",
    "upload_photo": "upload_photo",
    "record_video": "record_video",
    "upload_video": "upload_video",
    "record_voice": "record_voice",
    "record_audio": "record_voice",
    "upload_voice": "upload_voice",
    "upload_audio": "upload_voice",
    "upload_document": "upload_document",
    "choose_sticker": "choose_sticker",
    "find_location": "find_location",
    "record_video_note": "record_video_note",
    "upload_video_note": "upload_video_note",
    "cancel": "cancel",
}


def _language(code: str | None) -> str:
    """The two-letter code Telegram matches command lists by ("zh-hans" -> "zh")."""
    return (code or "").split("-")[0].split("_")[0].lower()


Handler = Callable[[Params], Awaitable[Any]]


class BotApiEmulator:
    """An in-process Bot API server. Start it, point PTB's ``base_url``/``base_file_url`` at it.

    ``per_chat_limit``/``global_limit`` are messages per second for sendMessage, sendPhoto and
    sendDocument; beyond them the call answers 429 with ``retry_after``, like Telegram's flood
    control. ``strict_webhook_urls`` enforces Telegram's HTTPS-and-port rules (off by default so
    a plain local test server can receive webhooks). ``callback_query_ttl`` makes old callback
    queries unanswerable. ``clock`` supplies the Unix time used for message dates.
    """

    def __init__(
        self,
        token: str = "123456:TEST-TOKEN",
        *,
        bot_id: int = 123456,
        bot_username: str = "rongcuo_test_bot",
        per_chat_limit: float | None = None,
        global_limit: float | None = None,
        bot_first_name: str = "容错纠错助手",
        webhook_retry_delay: float = 0.05,
        webhook_max_retry_delay: float = 1.0,
        webhook_timeout: float = 10.0,
        strict_webhook_urls: bool = False,
        callback_query_ttl: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot_username = bot_username
        self.bot_first_name = bot_first_name
        self.per_chat_limit = per_chat_limit
        self.global_limit = global_limit
        self.webhook_retry_delay = webhook_retry_delay
        self.webhook_max_retry_delay = webhook_max_retry_delay
        self.webhook_timeout = webhook_timeout
        self.strict_webhook_urls = strict_webhook_urls
        self.callback_query_ttl = callback_query_ttl
        self._clock = clock

        self.calls: list[tuple[str, JSON]] = []
        self.errors: list[ApiErrorRecord] = []
        self.updates: list[JSON] = []  # every update ever queued, for assertions
        self.dropped_updates: list[JSON] = []  # filtered out by allowed_updates
        self.internal_errors: list[Exception] = []  # emulator bugs; the fixture should assert none

        self._signal = Signal()
        self._pending: list[JSON] = []
        self._update_ids = itertools.count(1)
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._polls: set[Poll] = set()
        self._chats: dict[int, ChatState] = {}
        self._drivers: dict[int, UserDriver] = {}
        self._files: dict[str, StoredFile] = {}
        self._files_by_path: dict[str, StoredFile] = {}
        self._file_counter = itertools.count(1)
        self._callback_queries: dict[str, CallbackQueryRecord] = {}
        self._commands: dict[tuple[tuple[Any, ...], str], list[JSON]] = {}
        self._descriptions: dict[tuple[str, str], str] = {}
        self._webhook: Webhook | None = None
        self._webhook_task: asyncio.Task[None] | None = None
        self._faults: dict[str, list[Fault]] = {}
        self._delays: dict[str, float] = {}
        self._global_sends: deque[float] = deque()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None
        self._host = "127.0.0.1"
        self._port: int | None = None
        self._closing = False

        handlers: dict[str, Handler] = {
            "getMe": self._get_me,
            "getUpdates": self._get_updates,
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendDocument": self._send_document,
            "sendPhoto": self._send_photo,
            "sendChatAction": self._send_chat_action,
            "editMessageText": self._edit_message_text,
            "editMessageCaption": self._edit_message_caption,
            "editMessageReplyMarkup": self._edit_message_reply_markup,
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": self._get_my_commands,
            "deleteMyCommands": self._delete_my_commands,
            "setMyDescription": functools.partial(self._set_description, "description"),
            "getMyDescription": functools.partial(self._get_description, "description"),
            "setMyShortDescription": functools.partial(self._set_description, "short_description"),
            "getMyShortDescription": functools.partial(self._get_description, "short_description"),
            "getFile": self._get_file,
            "getChat": self._get_chat,
            "close": self._ok,
            "logOut": self._ok,
        }
        self._handlers = {name.lower(): (name, handler) for name, handler in handlers.items()}

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> None:
        app = web.Application(client_max_size=MAX_UPLOAD + 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_route("GET", "/file/bot{token}/{path:.+}", self._handle_file)
        # handler_cancellation lets a long poll die with its client instead of lingering to
        # consume the next update; shutdown_timeout keeps stop() fast.
        self._runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port)
        await site.start()
        self._host = host
        self._port = self._runner.addresses[0][1]
        self._session = aiohttp.ClientSession()
        self._closing = False

    async def stop(self) -> None:
        self._closing = True
        self._signal.notify()
        if self._webhook_task is not None:
            self._webhook_task.cancel()
            await asyncio.gather(self._webhook_task, return_exceptions=True)
            self._webhook_task = None
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> BotApiEmulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the emulator is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self._host}:{self.port}/bot"

    @property
    def base_file_url(self) -> str:
        return f"http://{self._host}:{self.port}/file/bot"

    # --- users ---------------------------------------------------------------------------------

    def user(
        self,
        user_id: int,
        first_name: str = "测试",
        last_name: str | None = None,
        username: str | None = None,
        language_code: str | None = "zh-hans",
    ) -> UserDriver:
        """The driver for a user; the same user id always gives the same driver."""
        if user_id in self._drivers:
            return self._drivers[user_id]
        info = UserInfo(user_id, first_name, last_name, username, language_code)
        self._chats[user_id] = ChatState(user=info, chat_instance=str(secrets.randbits(62)))
        driver = UserDriver(self, info)
        self._drivers[user_id] = driver
        return driver

    def block(self, user_id: int) -> None:
        """The user blocks the bot: sends then fail with 403 and the bot gets my_chat_member."""
        chat = self._chat_state(user_id)
        if chat.blocked:
            return
        chat.blocked = True
        if chat.started:
            self._push_member_change(chat, "member", "kicked")
        self._signal.notify()

    def unblock(self, user_id: int) -> None:
        chat = self._chat_state(user_id)
        if not chat.blocked:
            return
        chat.blocked = False
        if chat.started:
            self._push_member_change(chat, "kicked", "member")
        self._signal.notify()

    # --- fault injection -------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        *,
        status: int = 502,
        count: int = 1,
        description: str | None = None,
        retry_after: int = 1,
        after_effect: bool = False,
    ) -> None:
        """Answer the next ``count`` calls of ``method`` with an error instead of a result.

        With ``after_effect=True`` the call still takes effect (the message is sent) and only
        the answer is lost, which is what a timeout between Telegram and the bot looks like.
        """
        fault = Fault(status, count, description, retry_after, after_effect)
        self._faults.setdefault(self._canonical(method), []).append(fault)

    def set_delay(self, method: str, seconds: float | None) -> None:
        """Hold every answer of ``method`` back this long (after acting on it); None or 0 clears."""
        name = self._canonical(method)
        if seconds:
            self._delays[name] = seconds
        else:
            self._delays.pop(name, None)

    def _canonical(self, method: str) -> str:
        entry = self._handlers.get(method.lower())
        return entry[0] if entry else method

    # --- observability ---------------------------------------------------------------------------

    def sent(self, chat_id: int) -> list[JSON]:
        """The bot's messages in a chat as they read now (edits applied, deleted ones left out)."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return []
        return [
            copy.deepcopy(chat.messages[mid].data)
            for mid in chat.outgoing_ids
            if not chat.messages[mid].deleted
        ]

    def history(self, chat_id: int) -> list[StoredMessage]:
        """Every message in a chat, both directions, deleted ones included (live objects)."""
        chat = self._chats.get(chat_id)
        return list(chat.messages.values()) if chat else []

    def calls_to(self, method: str) -> list[JSON]:
        name = self._canonical(method)
        return [params for called, params in self.calls if called == name]

    def commands(self, scope_chat_id: int | None = None, language_code: str = "") -> list[JSON]:
        """The command menu a user would see, following the Bot API's lookup order.

        With a chat id: that chat's list, then all private (or group) chats, then the default;
        at each step the list for the language first, then the one for all languages.
        """
        if scope_chat_id is None:
            chain: list[tuple[Any, ...]] = [("default",)]
        elif scope_chat_id > 0:
            chain = [("chat", scope_chat_id), ("all_private_chats",), ("default",)]
        else:
            chain = [("chat", scope_chat_id), ("all_group_chats",), ("default",)]
        language = _language(language_code)
        for scope in chain:
            for lang in dict.fromkeys((language, "")):
                if (scope, lang) in self._commands:
                    return copy.deepcopy(self._commands[(scope, lang)])
        return []

    @property
    def webhook(self) -> JSON:
        return self._webhook_info()

    @property
    def pending_updates(self) -> list[JSON]:
        return copy.deepcopy(self._pending)

    @property
    def callback_queries(self) -> list[CallbackQueryRecord]:
        return list(self._callback_queries.values())

    @property
    def is_polling(self) -> bool:
        return bool(self._polls)

    async def wait_until_polling(self, timeout: float = 5.0) -> None:
        if not await self._signal.wait_for(lambda: bool(self._polls), timeout):
            raise AssertionError(f"the bot did not call getUpdates within {timeout}s")

    def file_content(self, file_id: str) -> bytes:
        return self._files[file_id].content

    # --- HTTP layer ------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        if token != self.token:
            # Telegram answers 401 to well-formed but unknown tokens and 404 to anything else.
            if _TOKEN_FORMAT.fullmatch(token):
                return json_response(ApiError(401, "Unauthorized").body(), 401)
            return json_response(ApiError(404, "Not Found").body(), 404)
        entry = self._handlers.get(request.match_info["method"].lower())
        name, handler = entry if entry is not None else (request.match_info["method"], None)
        try:
            params = await self._read_params(request)
        except ApiError as exc:
            return json_response(exc.body(), exc.status)
        self.calls.append((name, params.public()))
        if handler is None:
            # PTB turns this 404 into InvalidToken, which misleads; the log and `errors` say why.
            log.warning("the emulator does not implement %s; answering 404 as Telegram does", name)
            unknown = ApiError(404, "Not Found")
            self._record_error(name, params, unknown)
            return json_response(unknown.body(), 404)
        log.debug("-> %s %s", name, params.public())
        self._signal.notify()

        fault = self._take_fault(name)
        if fault is not None and not fault.after_effect:
            await self._delay(name)
            return fault.response()
        try:
            result = await handler(params)
        except ApiError as exc:
            self._record_error(name, params, exc)
            response = json_response(exc.body(), exc.status)
        except Exception as exc:
            # To the bot this is just a 500; internal_errors is what lets a test fail loudly on it.
            log.exception("emulator failed on %s", name)
            self.internal_errors.append(exc)
            failure = ApiError(500, f"Internal Server Error: emulator bug in {name}: {exc!r}")
            self._record_error(name, params, failure)
            response = json_response(failure.body(), 500)
        else:
            body: JSON = {"ok": True}
            if isinstance(result, Answer):
                body.update(result=result.result, description=result.description)
            else:
                body["result"] = result
            response = json_response(body)
        await self._delay(name)
        return fault.response() if fault is not None else response

    async def _handle_file(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != self.token:
            return json_response(ApiError(404, "Not Found").body(), 404)
        stored = self._files_by_path.get(request.match_info["path"])
        if stored is None:
            return json_response(ApiError(404, "Not Found").body(), 404)
        return web.Response(body=stored.content, content_type="application/octet-stream")

    async def _read_params(self, request: web.Request) -> Params:
        raw: JSON = dict(request.query)
        files: dict[str, UploadedFile] = {}
        if request.can_read_body:
            if request.content_type == "application/json":
                try:
                    body = await request.json()
                except ValueError as exc:
                    raise ApiError.bad(f"can't parse JSON encoded request: {exc}") from None
                if not isinstance(body, dict):
                    raise ApiError.bad("can't parse JSON encoded request: expected an object")
                raw.update(body)
            elif request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
                form = await request.post()
                for key, value in form.items():
                    if isinstance(value, web.FileField):
                        files[key] = UploadedFile(value.filename, value.file.read(), value.content_type)
                    else:
                        raw[key] = value if isinstance(value, str) else bytes(value).decode()
        return Params(raw, files)

    def _take_fault(self, name: str) -> Fault | None:
        queue = self._faults.get(name)
        if not queue:
            return None
        fault = queue[0]
        fault.remaining -= 1
        if fault.remaining <= 0:
            queue.pop(0)
        return fault

    async def _delay(self, name: str) -> None:
        seconds = self._delays.get(name)
        if seconds:
            await asyncio.sleep(seconds)

    def _record_error(self, name: str, params: Params, exc: ApiError) -> None:
        chat_id = params.raw.get("chat_id")
        self.errors.append(
            ApiErrorRecord(
                name,
                params.public(),
                exc.status,
                exc.description,
                chat_id if isinstance(chat_id, int) else None,
            )
        )
        log.debug("<- %s %s %s", name, exc.status, exc.description)
        self._signal.notify()

    def _now(self) -> int:
        return int(self._clock())

    # --- updates -----------------------------------------------------------------------------------

    def _push_update(self, kind: str, payload: JSON) -> JSON | None:
        if kind not in self._allowed_updates:
            self.dropped_updates.append({kind: payload})
            self._signal.notify()
            return None
        update = {"update_id": next(self._update_ids), kind: payload}
        self.updates.append(update)
        self._pending.append(update)
        self._signal.notify()
        return update

    def _set_allowed_updates(self, value: Any) -> None:
        if value is None:
            return  # absent: keep what the previous call set
        if not isinstance(value, list):
            return  # Telegram silently ignores a malformed list
        known = {str(kind) for kind in value} & set(ALL_UPDATE_TYPES)
        self._allowed_updates = frozenset(known) if known else DEFAULT_UPDATE_TYPES

    def _confirm(self, offset: int | None) -> None:
        if offset is None or offset == 0:
            return
        if offset > 0:
            self._pending = [u for u in self._pending if u["update_id"] >= offset]
        else:
            self._pending = self._pending[offset:]

    async def _get_updates(self, p: Params) -> list[JSON]:
        if self._webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = p.get_int("offset")
        limit = min(max(p.get_int("limit") or 100, 1), 100)
        timeout = min(max(p.get_float("timeout") or 0.0, 0.0), MAX_LONG_POLL)
        self._set_allowed_updates(p.raw.get("allowed_updates"))
        self._confirm(offset)
        for other in self._polls:
            other.terminated = TERMINATED_BY_OTHER_POLL
        poll = Poll()
        self._polls.add(poll)
        self._signal.notify()
        try:
            await self._signal.wait_for(
                lambda: bool(self._pending) or poll.terminated is not None or self._closing, timeout
            )
        finally:
            self._polls.discard(poll)
        if poll.terminated is not None:
            raise ApiError(409, poll.terminated)
        return copy.deepcopy(self._pending[:limit])

    # --- webhook ---------------------------------------------------------------------------------

    def _webhook_info(self) -> JSON:
        info: JSON = {"url": "", "has_custom_certificate": False, "pending_update_count": len(self._pending)}
        hook = self._webhook
        if hook is not None:
            info["url"] = hook.url
            info["max_connections"] = hook.max_connections
            info["ip_address"] = "127.0.0.1"
            if hook.allowed_updates is not None:
                info["allowed_updates"] = hook.allowed_updates
            if hook.last_error_date is not None:
                info["last_error_date"] = hook.last_error_date
                info["last_error_message"] = hook.last_error_message
        return info

    async def _get_webhook_info(self, p: Params) -> JSON:
        return self._webhook_info()

    async def _set_webhook(self, p: Params) -> Answer:
        url = (p.get_str("url") or "").strip()
        if not url:
            if p.get_bool("drop_pending_updates"):
                self._pending.clear()
            return self._remove_webhook()
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ApiError.bad("invalid webhook URL specified")
        if self.strict_webhook_urls:
            if parts.scheme != "https":
                raise ApiError.bad("bad webhook: An HTTPS URL must be provided for webhook")
            if (parts.port or 443) not in (80, 88, 443, 8443):
                raise ApiError.bad("bad webhook: Webhook can be set up only on ports 80, 88, 443 or 8443")
        secret = p.get_str("secret_token") or ""
        if len(secret) > 256:
            raise ApiError.bad("secret token is too long")
        if not _SECRET_FORMAT.fullmatch(secret):
            raise ApiError.bad("secret token contains illegal characters")
        allowed = p.raw.get("allowed_updates")
        self._set_allowed_updates(allowed)
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        max_connections = min(max(p.get_int("max_connections") or 40, 1), 100)
        previous = self._webhook
        self._webhook = Webhook(url, secret, max_connections, allowed if isinstance(allowed, list) else None)
        for poll in self._polls:
            poll.terminated = TERMINATED_BY_WEBHOOK
        if self._webhook_task is None or self._webhook_task.done():
            self._webhook_task = asyncio.create_task(self._deliver_webhook(), name="emulator-webhook")
        self._signal.notify()
        same = previous is not None and (previous.url, previous.secret_token) == (url, secret)
        return Answer(True, "Webhook is already set" if same else "Webhook was set")

    async def _delete_webhook(self, p: Params) -> Answer:
        if p.get_bool("drop_pending_updates"):
            self._pending.clear()
        return self._remove_webhook()

    def _remove_webhook(self) -> Answer:
        had_webhook = self._webhook is not None
        self._webhook = None
        self._signal.notify()
        return Answer(True, "Webhook was deleted" if had_webhook else "Webhook is already deleted")

    async def _deliver_webhook(self) -> None:
        delay = self.webhook_retry_delay
        while not self._closing:
            hook = self._webhook
            if hook is None or self._session is None:
                return
            await self._signal.wait_for(
                lambda hook=hook: bool(self._pending) or self._webhook is not hook or self._closing, None
            )
            if self._webhook is not hook or self._closing:
                continue
            update = self._pending[0]
            headers = {SECRET_TOKEN_HEADER: hook.secret_token} if hook.secret_token else {}
            error: str | None = None
            try:
                async with self._session.post(
                    hook.url,
                    json=update,
                    headers=headers,
                    timeout=aiohttp.ClientTimeout(total=self.webhook_timeout),
                ) as response:
                    await response.read()
                    if not 200 <= response.status < 300:
                        error = f"Wrong response from the webhook: {response.status} {response.reason}"
            except TimeoutError:
                error = "Read timeout expired"
            except aiohttp.ClientError as exc:
                error = f"Connection failed: {exc}"
            if error is None:
                if self._pending and self._pending[0] is update:
                    self._pending.pop(0)
                hook.delivered += 1
                delay = self.webhook_retry_delay
                self._signal.notify()
                continue
            hook.last_error_date = self._now()
            hook.last_error_message = error
            self._signal.notify()
            # Telegram backs off between attempts too; the delays are scaled down for tests.
            await asyncio.sleep(delay)
            delay = min(delay * 2, self.webhook_max_retry_delay)

    # --- chats and checks ------------------------------------------------------------------------

    def _chat_state(self, user_id: int) -> ChatState:
        chat = self._chats.get(user_id)
        if chat is None:
            raise KeyError(f"no user {user_id}; create one with emulator.user({user_id})")
        return chat

    def _chat(self, p: Params, *, check_blocked: bool = True) -> ChatState:
        value = p.raw.get("chat_id")
        if value in (None, ""):
            raise ApiError.bad("chat_id is empty")
        try:
            chat_id = int(value)
        except (TypeError, ValueError):
            raise ApiError.bad("chat not found") from None  # @usernames resolve only for public chats
        chat = self._chats.get(chat_id)
        if chat is None or not chat.started:
            raise ApiError.bad("chat not found")
        if check_blocked and chat.blocked:
            raise ApiError(403, BLOCKED)
        return chat

    def _check_rate(self, chat: ChatState) -> None:
        now = time.monotonic()
        for window, limit in (
            (chat.send_times, self.per_chat_limit),
            (self._global_sends, self.global_limit),
        ):
            if not limit:
                continue
            span = max(1.0, 1.0 / limit)
            capacity = max(1, int(limit * span))
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= capacity:
                retry_after = max(1, math.ceil(window[0] + span - now))
                raise ApiError(
                    429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after}
                )

    def _note_send(self, chat: ChatState) -> None:
        now = time.monotonic()
        chat.send_times.append(now)
        self._global_sends.append(now)

    def _formatted(
        self, p: Params, text_key: str, entities_key: str, *, limit: int, required: bool
    ) -> tuple[str, list[JSON]]:
        raw = p.get_str(text_key) or ""
        if not raw:
            if required:
                raise ApiError.bad("message text is empty")
            return "", []
        explicit = p.get_json(entities_key)
        if explicit:
            text, entities = raw, _validate_entities(explicit)
        else:
            try:
                text, entities = formatting.parse(raw, p.get_str("parse_mode"))
            except formatting.EntityParseError as exc:
                raise ApiError.bad(f"can't parse entities: {exc}") from None
            except ValueError:
                raise ApiError.bad("unsupported parse_mode") from None
        text, entities = formatting.trim(text, entities)
        if required and not text:
            raise ApiError.bad("message text is empty")
        if formatting.utf16_len(text) > limit:
            raise ApiError.bad("message is too long" if required else "message caption is too long")
        return text, formatting.detect_entities(text, entities)

    def _markup(self, p: Params, *, inline_only: bool = False) -> tuple[JSON | None, JSON | None]:
        """Split reply_markup into (inline markup for Message.reply_markup, client-side keyboard)."""
        value = p.get_json("reply_markup")
        if value is None:
            return None, None
        if not isinstance(value, dict):
            raise ApiError.bad("can't parse reply keyboard markup JSON object")
        if "inline_keyboard" in value:
            return {"inline_keyboard": _validate_inline_keyboard(value["inline_keyboard"])}, None
        if inline_only:
            raise ApiError.bad("inline keyboard expected")
        if "keyboard" in value:
            rows = value["keyboard"]
            if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
                raise ApiError.bad("can't parse reply keyboard markup JSON object")
            keyboard = [[{"text": b} if isinstance(b, str) else dict(b) for b in row] for row in rows]
            return None, {**value, "keyboard": keyboard}
        if value.get("remove_keyboard") or value.get("force_reply"):
            return None, dict(value)
        raise ApiError.bad("can't parse reply keyboard markup JSON object")

    def _reply_to(self, p: Params, chat: ChatState) -> JSON | None:
        message_id: int | None = None
        allow_missing = p.get_bool("allow_sending_without_reply")
        params = p.get_json("reply_parameters")
        if params is not None:
            if not isinstance(params, dict) or "message_id" not in params:
                raise ApiError.bad("can't parse reply parameters JSON object")
            message_id = int(params["message_id"])
            allow_missing = bool(params.get("allow_sending_without_reply", allow_missing))
            other_chat = params.get("chat_id")
            if other_chat not in (None, chat.user.id, str(chat.user.id)):
                raise ApiError.bad("message to be replied not found")
        else:
            message_id = p.get_int("reply_to_message_id")
        if message_id is None:
            return None
        target = chat.messages.get(message_id)
        if target is None or target.deleted:
            if allow_missing:
                return None
            raise ApiError.bad("message to be replied not found")
        replied = copy.deepcopy(target.data)
        replied.pop("reply_to_message", None)  # Telegram never nests replies further
        return replied

    def _store_bot_message(self, chat: ChatState, fields: JSON, keyboard: JSON | None) -> JSON:
        message_id = chat.new_message_id()
        data: JSON = {
            "message_id": message_id,
            "from": self._bot_user(),
            "chat": chat.user.as_chat(),
            "date": self._now(),
            **{key: value for key, value in fields.items() if value not in (None, [], "")},
        }
        chat.messages[message_id] = StoredMessage(data=data, outgoing=True, keyboard=keyboard)
        chat.outgoing_ids.append(message_id)
        if keyboard is not None:
            if "keyboard" in keyboard:
                chat.reply_keyboard = keyboard
            elif keyboard.get("remove_keyboard"):
                chat.reply_keyboard = None
        self._note_send(chat)
        self._signal.notify()
        return copy.deepcopy(data)

    def _bot_user(self) -> JSON:
        return {
            "id": self.bot_id,
            "is_bot": True,
            "first_name": self.bot_first_name,
            "username": self.bot_username,
        }

    # --- methods -----------------------------------------------------------------------------------

    async def _ok(self, p: Params) -> bool:
        return True

    async def _get_me(self, p: Params) -> JSON:
        return {
            **self._bot_user(),
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }

    async def _get_chat(self, p: Params) -> JSON:
        chat = self._chat(p, check_blocked=False)
        gifts = (
            "unlimited_gifts",
            "limited_gifts",
            "unique_gifts",
            "premium_subscription",
            "gifts_from_channels",
        )
        return {
            **chat.user.as_chat(),
            "accent_color_id": chat.user.id % 7,
            "max_reaction_count": 11,
            "accepted_gift_types": dict.fromkeys(gifts, True),
        }

    async def _send_message(self, p: Params) -> JSON:
        if not p.has("chat_id"):
            raise ApiError.bad("chat_id is empty")
        text, entities = self._formatted(p, "text", "entities", limit=MAX_TEXT, required=True)
        inline, keyboard = self._markup(p)
        chat = self._chat(p)
        reply_to = self._reply_to(p, chat)
        self._check_rate(chat)
        fields = {"text": text, "entities": entities, "reply_markup": inline, "reply_to_message": reply_to}
        return self._store_bot_message(chat, fields, keyboard)

    async def _send_document(self, p: Params) -> JSON:
        return await self._send_media(p, "document")

    async def _send_photo(self, p: Params) -> JSON:
        return await self._send_media(p, "photo")

    async def _send_media(self, p: Params, kind: str) -> JSON:
        if not p.has("chat_id"):
            raise ApiError.bad("chat_id is empty")
        source = p.get_file(kind)
        if source is None:
            raise ApiError.bad(f"there is no {kind} in the request")
        caption, caption_entities = self._formatted(
            p, "caption", "caption_entities", limit=MAX_CAPTION, required=False
        )
        inline, keyboard = self._markup(p)
        chat = self._chat(p)
        reply_to = self._reply_to(p, chat)
        stored = self._file_for_send(source, kind)
        self._check_rate(chat)
        media: Any = stored.as_photo() if kind == "photo" else stored.as_document()
        fields = {
            kind: media,
            "caption": caption,
            "caption_entities": caption_entities,
            "reply_markup": inline,
            "reply_to_message": reply_to,
        }
        return self._store_bot_message(chat, fields, keyboard)

    def _file_for_send(self, source: UploadedFile | str, kind: str) -> StoredFile:
        if isinstance(source, str):
            stored = self._files.get(source)
            if stored is None:
                raise ApiError.bad("wrong file identifier/HTTP URL specified")
            if stored.kind != kind:
                raise ApiError.bad(f"can't use file of type {stored.kind.title()} as {kind.title()}")
            return stored
        if not source.content:
            raise ApiError.bad("file must be non-empty")
        if kind == "photo":
            size = image_size(source.content)
            if size is None:
                raise ApiError.bad("IMAGE_PROCESS_FAILED")
            width, height = size
            if width + height > 10000 or max(width, height) > 20 * max(1, min(width, height)):
                raise ApiError.bad("PHOTO_INVALID_DIMENSIONS")
            return self.store_file(source.content, "photo", width=width, height=height)
        name = source.filename or "document"
        mime = source.content_type
        if not mime or mime == "application/octet-stream":
            mime = mimetypes.guess_type(name)[0] or mime or "application/octet-stream"
        return self.store_file(source.content, "document", file_name=name, mime_type=mime)

    def store_file(
        self,
        content: bytes,
        kind: str,
        *,
        file_name: str | None = None,
        mime_type: str | None = None,
        width: int = 0,
        height: int = 0,
    ) -> StoredFile:
        """Keep bytes on the 'Telegram servers' so getFile and the file URL can serve them."""
        number = next(self._file_counter)
        folder, default_ext = {
            "photo": ("photos", ".jpg"),
            "document": ("documents", ""),
            "sticker": ("stickers", ".webp"),
            "voice": ("voice", ".oga"),
        }[kind]
        ext = default_ext
        if kind == "document" and file_name and "." in file_name:
            ext = "." + file_name.rsplit(".", 1)[1]
        prefix = {"photo": "AgAC", "document": "BQAC", "sticker": "CAAC", "voice": "AwAC"}[kind]
        stored = StoredFile(
            file_id=prefix + secrets.token_urlsafe(24),
            file_unique_id="AQAD" + secrets.token_urlsafe(8),
            content=content,
            file_path=f"{folder}/file_{number}{ext}",
            kind=kind,
            file_name=file_name,
            mime_type=mime_type,
            width=width,
            height=height,
        )
        self._files[stored.file_id] = stored
        self._files_by_path[stored.file_path] = stored
        return stored

    async def _get_file(self, p: Params) -> JSON:
        file_id = p.get_str("file_id")
        if not file_id:
            raise ApiError.bad("file_id not specified")
        stored = self._files.get(file_id)
        if stored is None:
            raise ApiError.bad("invalid file_id")
        if len(stored.content) > MAX_DOWNLOAD:
            raise ApiError.bad("file is too big")
        return stored.as_file()

    async def _send_chat_action(self, p: Params) -> bool:
        chat = self._chat(p)
        action = _CHAT_ACTIONS.get((p.get_str("action") or "").lower())
        if action is None:
            raise ApiError.bad("wrong parameter action in request")
        chat.actions.append(action)
        self._signal.notify()
        return True

    def _message_to_edit(self, p: Params) -> StoredMessage:
        if p.has("inline_message_id"):
            raise ApiError.bad("MESSAGE_ID_INVALID")  # inline mode is not emulated
        if not p.has("chat_id"):
            raise ApiError.bad("chat_id is empty")
        message_id = p.get_int("message_id")
        if not message_id:
            raise ApiError.bad("message identifier is not specified")
        chat = self._chat(p)
        message = chat.messages.get(message_id)
        if message is None or message.deleted:
            raise ApiError.bad("message to edit not found")
        if not message.outgoing:
            raise ApiError.bad("message can't be edited")
        return message

    def _apply_edit(self, message: StoredMessage, changes: JSON) -> JSON:
        """Replace fields (None removes one); refuse a no-op the way Telegram does."""
        if all(message.data.get(key) == value for key, value in changes.items()):
            raise ApiError.bad(NOT_MODIFIED)
        for key, value in changes.items():
            if value is None:
                message.data.pop(key, None)
            else:
                message.data[key] = value
        message.data["edit_date"] = self._now()
        message.edits += 1
        self._signal.notify()
        return copy.deepcopy(message.data)

    async def _edit_message_text(self, p: Params) -> JSON:
        text, entities = self._formatted(p, "text", "entities", limit=MAX_TEXT, required=True)
        inline, _ = self._markup(p, inline_only=True)
        message = self._message_to_edit(p)
        if "text" not in message.data:
            raise ApiError.bad("there is no text in the message to edit")
        # Leaving reply_markup out removes the inline keyboard, as on real Telegram.
        return self._apply_edit(message, {"text": text, "entities": entities or None, "reply_markup": inline})

    async def _edit_message_caption(self, p: Params) -> JSON:
        caption, entities = self._formatted(
            p, "caption", "caption_entities", limit=MAX_CAPTION, required=False
        )
        inline, _ = self._markup(p, inline_only=True)
        message = self._message_to_edit(p)
        if "text" in message.data:
            raise ApiError.bad("there is no caption in the message to edit")
        changes = {"caption": caption or None, "caption_entities": entities or None, "reply_markup": inline}
        return self._apply_edit(message, changes)

    async def _edit_message_reply_markup(self, p: Params) -> JSON:
        inline, _ = self._markup(p, inline_only=True)
        message = self._message_to_edit(p)
        return self._apply_edit(message, {"reply_markup": inline})

    async def _delete_message(self, p: Params) -> bool:
        message_id = p.get_int("message_id")
        chat = self._chat(p, check_blocked=False)
        message = chat.messages.get(message_id or 0)
        if message is None or message.deleted:
            raise ApiError.bad("message to delete not found")
        message.deleted = True
        self._signal.notify()
        return True

    async def _answer_callback_query(self, p: Params) -> bool:
        record = self._callback_queries.get(p.get_str("callback_query_id") or "")
        if record is None or record.answered:
            raise ApiError.bad(QUERY_INVALID)
        if (
            self.callback_query_ttl is not None
            and self._clock() - record.created_at > self.callback_query_ttl
        ):
            raise ApiError.bad(QUERY_INVALID)
        record.answered = True
        record.answer_text = p.get_str("text")
        record.show_alert = p.get_bool("show_alert")
        record.url = p.get_str("url")
        record.cache_time = p.get_int("cache_time")
        self._signal.notify()
        return True

    # --- commands and descriptions -------------------------------------------------------------

    def _scope_and_language(self, p: Params) -> tuple[tuple[Any, ...], str]:
        language = p.get_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            # Telegram wants ISO 639-1: "zh", never "zh-hans" (which Telegram clients report).
            raise ApiError.bad("invalid language code specified")
        scope = p.get_json("scope") or {"type": "default"}
        if not isinstance(scope, dict):
            raise ApiError.bad("can't parse BotCommandScope JSON object")
        kind = scope.get("type")
        if kind in ("default", "all_private_chats", "all_group_chats", "all_chat_administrators"):
            return (kind,), language
        if kind in ("chat", "chat_administrators", "chat_member"):
            value = scope.get("chat_id")
            try:
                chat_id = int(value)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                raise ApiError.bad("chat not found") from None
            chat = self._chats.get(chat_id)
            if chat is None or not chat.started:
                raise ApiError.bad("chat not found")
            if kind != "chat":
                raise ApiError.bad("can't use specified scope in private chats")
            return ("chat", chat_id), language
        raise ApiError.bad("unsupported bot command scope type")

    async def _set_my_commands(self, p: Params) -> bool:
        commands = p.get_json("commands")
        if commands is None:
            commands = []
        if not isinstance(commands, list):
            raise ApiError.bad("can't parse commands JSON object")
        if len(commands) > 100:
            raise ApiError.bad("BOT_COMMANDS_TOO_MUCH")
        cleaned: list[JSON] = []
        for item in commands:
            if not isinstance(item, dict):
                raise ApiError.bad("can't parse BotCommand")
            command = str(item.get("command", ""))
            description = str(item.get("description", ""))
            if not command:
                raise ApiError.bad("command must be non-empty")
            if len(command) > 32:
                raise ApiError.bad("command length must not exceed 32")
            if not description:
                raise ApiError.bad("command description must be non-empty")
            if len(description) > 256:
                raise ApiError.bad("command description length must not exceed 256")
            if not _COMMAND_FORMAT.fullmatch(command):
                raise ApiError.bad("BOT_COMMAND_INVALID")
            cleaned.append({"command": command, "description": description})
        key = self._scope_and_language(p)
        if cleaned:
            self._commands[key] = cleaned
        else:
            self._commands.pop(key, None)
        self._signal.notify()
        return True

    async def _get_my_commands(self, p: Params) -> list[JSON]:
        return copy.deepcopy(self._commands.get(self._scope_and_language(p), []))

    async def _delete_my_commands(self, p: Params) -> bool:
        self._commands.pop(self._scope_and_language(p), None)
        self._signal.notify()
        return True

    async def _set_description(self, kind: str, p: Params) -> bool:
        language = p.get_str("language_code") or ""
        if language and not re.fullmatch(r"[a-z]{2}", language):
            raise ApiError.bad("invalid language code specified")
        limit = 512 if kind == "description" else 120
        text = p.get_str(kind) or ""
        if len(text) > limit:
            raise ApiError.bad(f"bot {kind.replace('_', ' ')} is too long")
        self._descriptions[(kind, language)] = text
        return True

    async def _get_description(self, kind: str, p: Params) -> JSON:
        language = p.get_str("language_code") or ""
        text = self._descriptions.get((kind, language), self._descriptions.get((kind, ""), ""))
        return {kind: text}

    # --- the user side (called by UserDriver) -------------------------------------------------------

    def _user_message(self, user_id: int, fields: JSON, reply_to: int | None = None) -> JSON:
        chat = self._chat_state(user_id)
        if chat.blocked:
            raise AssertionError(f"user {user_id} has blocked the bot; call unblock() before sending")
        chat.started = True
        data: JSON = {
            "message_id": chat.new_message_id(),
            "from": chat.user.as_user(),
            "chat": chat.user.as_chat(),
            "date": self._now(),
            **fields,
        }
        if reply_to is not None:
            target = chat.messages.get(reply_to)
            if target is None or target.deleted:
                raise AssertionError(f"message {reply_to} is not in chat {user_id}")
            replied = copy.deepcopy(target.data)
            replied.pop("reply_to_message", None)
            data["reply_to_message"] = replied
        chat.messages[data["message_id"]] = StoredMessage(data=data, outgoing=False)
        self._push_update("message", copy.deepcopy(data))
        return copy.deepcopy(data)

    def _user_edit(self, user_id: int, message_id: int, text: str) -> JSON:
        chat = self._chat_state(user_id)
        message = chat.messages.get(message_id)
        if message is None or message.outgoing or message.deleted or "text" not in message.data:
            raise AssertionError(f"user {user_id} has no text message {message_id} to edit")
        text = formatting.trim(text, [])[0]
        message.data["text"] = text
        message.data.pop("entities", None)
        found = formatting.detect_entities(text, [])
        if found:
            message.data["entities"] = found
        message.data["edit_date"] = self._now()
        message.edits += 1
        self._push_update("edited_message", copy.deepcopy(message.data))
        return copy.deepcopy(message.data)

    def _press(self, user_id: int, message_id: int, data: str) -> CallbackQueryRecord:
        chat = self._chat_state(user_id)
        if chat.blocked:
            raise AssertionError(f"user {user_id} has blocked the bot; call unblock() before pressing")
        message = chat.messages.get(message_id)
        if message is None:
            raise AssertionError(f"there is no message {message_id} in chat {user_id}")
        record = CallbackQueryRecord(
            id=str(secrets.randbits(63)),
            user_id=user_id,
            message_id=message_id,
            data=data,
            created_at=self._clock(),
            _signal=self._signal,
        )
        self._callback_queries[record.id] = record
        if message.deleted:
            # What Telegram sends for a message the bot can no longer see.
            shown: JSON = {"chat": chat.user.as_chat(), "message_id": message_id, "date": 0}
        else:
            shown = copy.deepcopy(message.data)
        payload = {
            "id": record.id,
            "from": chat.user.as_user(),
            "message": shown,
            "chat_instance": chat.chat_instance,
            "data": data,
        }
        self._push_update("callback_query", payload)
        return record

    def _push_member_change(self, chat: ChatState, old: str, new: str) -> None:
        def member(status: str) -> JSON:
            entry: JSON = {"status": status, "user": self._bot_user()}
            if status == "kicked":
                entry["until_date"] = 0
            return entry

        payload = {
            "chat": chat.user.as_chat(),
            "from": chat.user.as_user(),
            "date": self._now(),
            "old_chat_member": member(old),
            "new_chat_member": member(new),
        }
        self._push_update("my_chat_member", payload)


def _validate_entities(value: Any) -> list[JSON]:
    if not isinstance(value, list):
        raise ApiError.bad("can't parse entities JSON object")
    entities: list[JSON] = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("type"), str):
            raise ApiError.bad("can't parse MessageEntity")
        try:
            entity = {**item, "offset": int(item["offset"]), "length": int(item["length"])}
        except (KeyError, TypeError, ValueError):
            raise ApiError.bad("can't parse MessageEntity") from None
        entities.append(entity)
    return formatting.sort_entities(entities)


def _validate_inline_keyboard(rows: Any) -> list[list[JSON]]:
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise ApiError.bad(
            "can't parse inline keyboard button: InlineKeyboardMarkup must be an Array of Arrays"
        )
    keyboard: list[list[JSON]] = []
    for row in rows:
        buttons: list[JSON] = []
        for button in row:
            if not isinstance(button, dict) or not isinstance(button.get("text"), str):
                raise ApiError.bad('can\'t parse inline keyboard button: Field "text" must be of type String')
            actions = [key for key in _INLINE_BUTTON_ACTIONS if key in button]
            if not actions:
                raise ApiError.bad(
                    "can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"
                )
            if "callback_data" in button:
                data = button["callback_data"]
                if not isinstance(data, str) or not 1 <= len(data.encode()) <= MAX_CALLBACK_DATA:
                    raise ApiError.bad("BUTTON_DATA_INVALID")
            if "url" in button and formatting.normalize_url(str(button["url"])) is None:
                raise ApiError.bad("BUTTON_URL_INVALID")
            buttons.append({key: button[key] for key in ("text", *_INLINE_BUTTON_ACTIONS) if key in button})
        keyboard.append(buttons)
    return keyboard
