"""The records the emulator keeps and the wire-level pieces its request handlers share."""

# The waiting helpers take a `timeout` argument on purpose: it goes into the assertion message.

from __future__ import annotations

import asyncio
import functools
import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON = dict[str, Any]

BLOCKED = "Forbidden: bot was blocked by the user"

# Form-encoded requests carry every value as a string; these keys are typed so that `calls`
# shows what the bot meant, not how PTB happened to encode it.
_INT_KEYS = frozenset(
    {
        "chat_id",
        "message_id",
        "offset",
        "limit",
        "max_connections",
        "cache_time",
        "reply_to_message_id",
        "message_thread_id",
        "user_id",
    }
)
_FLOAT_KEYS = frozenset({"timeout"})
_BOOL_KEYS = frozenset(
    {
        "show_alert",
        "drop_pending_updates",
        "disable_notification",
        "protect_content",
        "allow_sending_without_reply",
        "disable_web_page_preview",
        "disable_content_type_detection",
        "has_spoiler",
    }
)
_JSON_KEYS = {
    "reply_markup": "can't parse reply keyboard markup JSON object",
    "entities": "can't parse entities JSON object",
    "caption_entities": "can't parse entities JSON object",
    "reply_parameters": "can't parse reply parameters JSON object",
    "commands": "can't parse commands JSON object",
    "scope": "can't parse BotCommandScope JSON object",
    "allowed_updates": "can't parse allowed updates JSON object",
    "link_preview_options": "can't parse link preview options JSON object",
}


class ApiError(Exception):
    """An error answer, with Telegram's HTTP status and description."""

    def __init__(self, status: int, description: str, parameters: JSON | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    @classmethod
    def bad(cls, text: str) -> ApiError:
        return cls(400, f"Bad Request: {text}")

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


class Signal:
    """Wakes every waiter on any state change; each waiter re-checks its own condition.

    State changes come from synchronous code (driver calls, request handlers), so waiters cannot
    use asyncio.Condition, whose notify needs the lock held.
    """

    def __init__(self) -> None:
        self._event = asyncio.Event()

    def notify(self) -> None:
        self._event.set()
        self._event = asyncio.Event()

    async def wait_for(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not predicate():
            event = self._event
            if deadline is None:
                await event.wait()
                continue
            remaining = deadline - loop.time()
            if remaining <= 0:
                return False
            try:
                async with asyncio.timeout(remaining):
                    await event.wait()
            except TimeoutError:
                return predicate()
        return True


@dataclass
class UploadedFile:
    """A file part of a multipart request."""

    filename: str | None
    content: bytes = field(repr=False)
    content_type: str | None

    def __repr__(self) -> str:
        return f"UploadedFile({self.filename!r}, {len(self.content)} bytes, {self.content_type!r})"


class Params:
    """Request parameters from the query string, a JSON body, a form or a multipart body."""

    def __init__(self, raw: JSON, files: dict[str, UploadedFile]) -> None:
        self.raw = {key: _coerce(key, value) for key, value in raw.items()}
        self.files = files

    def public(self) -> JSON:
        return {**self.raw, **self.files}

    def has(self, name: str) -> bool:
        return self.raw.get(name) not in (None, "") or name in self.files

    def get_str(self, name: str) -> str | None:
        value = self.raw.get(name)
        if value is None or isinstance(value, str):
            return value
        if isinstance(value, dict | list):
            return json.dumps(value, ensure_ascii=False)
        return str(value)

    def get_int(self, name: str) -> int | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ApiError.bad(f'field "{name}" must be of type Integer') from None

    def get_float(self, name: str) -> float | None:
        value = self.raw.get(name)
        if value in (None, ""):
            return None
        try:
            return float(value)
        except (TypeError, ValueError):
            raise ApiError.bad(f'field "{name}" must be of type Number') from None

    def get_bool(self, name: str, default: bool = False) -> bool:
        value = self.raw.get(name)
        if value in (None, ""):
            return default
        if isinstance(value, str):
            return value.lower() in ("true", "1")
        return bool(value)

    def get_json(self, name: str) -> Any:
        value = self.raw.get(name)
        if isinstance(value, str) and value != "":
            raise ApiError.bad(_JSON_KEYS.get(name, f"can't parse {name} JSON object"))
        return None if value == "" else value

    def get_file(self, name: str) -> UploadedFile | str | None:
        if name in self.files:
            return self.files[name]
        value = self.get_str(name)
        if value and value.startswith("attach://"):
            return self.files.get(value.removeprefix("attach://"))
        return value or None


def _coerce(key: str, value: Any) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if key in _INT_KEYS:
            return int(value)
        if key in _FLOAT_KEYS:
            number = float(value)
            return int(number) if number.is_integer() else number
        if key in _BOOL_KEYS:
            return value.lower() in ("true", "1")
        if key in _JSON_KEYS:
            return json.loads(value)
    except ValueError:
        pass  # left as a string; the handler reports it in Telegram's words
    return value


@dataclass
class UserInfo:
    id: int
    first_name: str
    last_name: str | None = None
    username: str | None = None
    language_code: str | None = None

    def as_user(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        for key in ("last_name", "username", "language_code"):
            if getattr(self, key):
                user[key] = getattr(self, key)
        return user

    def as_chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        for key in ("last_name", "username"):
            if getattr(self, key):
                chat[key] = getattr(self, key)
        return chat


@dataclass
class StoredMessage:
    """A message in a chat; ``data`` is its Bot API ``Message`` as it currently reads."""

    data: JSON
    outgoing: bool
    deleted: bool = False
    edits: int = 0
    # Reply keyboards, ReplyKeyboardRemove and ForceReply never appear in Message.reply_markup,
    # but the user's client shows them, so the driver needs them.
    keyboard: JSON | None = None

    @property
    def message_id(self) -> int:
        return int(self.data["message_id"])


@dataclass
class CallbackQueryRecord:
    """What the emulator knows about one button press and the bot's answer to it."""

    id: str
    user_id: int
    message_id: int | None
    data: str | None
    created_at: float
    answered: bool = False
    answer_text: str | None = None
    show_alert: bool = False
    url: str | None = None
    cache_time: int | None = None
    _signal: Signal | None = field(default=None, repr=False, compare=False)

    async def wait_answered(self, timeout: float = 5.0) -> CallbackQueryRecord:
        assert self._signal is not None
        if not await self._signal.wait_for(lambda: self.answered, timeout):
            raise AssertionError(
                f"callback query {self.id} (data={self.data!r}) was not answered in {timeout}s"
            )
        return self


@dataclass
class StoredFile:
    file_id: str
    file_unique_id: str
    content: bytes = field(repr=False)
    file_path: str
    kind: str  # document, photo, sticker, voice
    file_name: str | None = None
    mime_type: str | None = None
    width: int = 0
    height: int = 0

    def as_document(self) -> JSON:
        doc: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
        }
        if self.file_name:
            doc["file_name"] = self.file_name
        if self.mime_type:
            doc["mime_type"] = self.mime_type
        return doc

    def as_photo(self) -> list[JSON]:
        # Telegram adds downscaled copies for big photos; one size is what it sends for small ones.
        return [
            {
                "file_id": self.file_id,
                "file_unique_id": self.file_unique_id,
                "width": self.width,
                "height": self.height,
                "file_size": len(self.content),
            }
        ]

    def as_file(self) -> JSON:
        return {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.content),
            "file_path": self.file_path,
        }


@dataclass
class ApiErrorRecord:
    method: str
    params: JSON
    status: int
    description: str
    chat_id: int | None


@dataclass
class ChatState:
    user: UserInfo
    chat_instance: str
    messages: dict[int, StoredMessage] = field(default_factory=dict)
    outgoing_ids: list[int] = field(default_factory=list)
    next_id: int = 1
    started: bool = False
    blocked: bool = False
    reply_keyboard: JSON | None = None
    actions: list[str] = field(default_factory=list)
    send_times: deque[float] = field(default_factory=deque)

    def new_message_id(self) -> int:
        # Private chats share one message id sequence for both directions.
        self.next_id += 1
        return self.next_id - 1


@dataclass
class Fault:
    status: int
    remaining: int
    description: str | None
    retry_after: int
    after_effect: bool

    def response(self) -> web.Response:
        if self.status == 429:
            body = ApiError(
                429,
                self.description or f"Too Many Requests: retry after {self.retry_after}",
                {"retry_after": self.retry_after},
            ).body()
            return json_response(body, 429)
        if self.description is None and self.status >= 500:
            # What the nginx in front of api.telegram.org sends when the backend is down.
            reason = {500: "Internal Server Error", 502: "Bad Gateway", 503: "Service Unavailable"}.get(
                self.status, "Gateway Timeout"
            )
            page = f"<html>\r\n<head><title>{self.status} {reason}</title></head>\r\n<body>\r\n"
            page += f"<center><h1>{self.status} {reason}</h1></center>\r\n"
            page += "<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
            return web.Response(status=self.status, text=page, content_type="text/html")
        defaults = {400: "Bad Request: injected fault", 401: "Unauthorized", 403: BLOCKED, 404: "Not Found"}
        description = self.description or defaults.get(self.status, f"Error {self.status}")
        return json_response(ApiError(self.status, description).body(), self.status)


@dataclass
class Webhook:
    url: str
    secret_token: str
    max_connections: int
    allowed_updates: list[str] | None
    last_error_date: int | None = None
    last_error_message: str | None = None
    delivered: int = 0


@dataclass(eq=False)  # kept in a set, by identity
class Poll:
    terminated: str | None = None


@dataclass
class Answer:
    """A result that comes with a description, as setWebhook's does."""

    result: Any
    description: str


def json_response(body: JSON, status: int = 200) -> web.Response:
    return web.json_response(body, status=status, dumps=functools.partial(json.dumps, ensure_ascii=False))
