"""The web chat channel and the program's HTTP face, on plain aiohttp.

A browser is identified by a signed session cookie; its identity is channel `web` with the
session id as external id, so it goes through the same conversation service as Telegram.
"""

from __future__ import annotations

import json
import secrets
from importlib import resources
from pathlib import Path
from typing import Any

import structlog
from aiohttp import BodyPartReader, web
from itsdangerous import BadSignature, Signer

from bot.channels import uploads
from bot.clock import Clock
from bot.services.conversation import ConversationService, Handled, Incoming
from dialogs.events import Attachment, Event, Open, Press, parse_text
from dialogs.texts import Texts
from storage.database import Database

log = structlog.get_logger(__name__)

CHANNEL = "web"
COOKIE = "rongcuo_session"
MAX_BODY = 64 * 1024
MAX_TEXT = 4096
STATIC_FILES = {"chat.css": "text/css", "chat.js": "application/javascript"}

SERVICE_KEY = web.AppKey("service", ConversationService)
SIGNER_KEY = web.AppKey("signer", Signer)
CLOCK_KEY = web.AppKey("clock", Clock)  # type: ignore[type-abstract]
DATABASE_KEY = web.AppKey("database", Database)
UPLOAD_DIR_KEY = web.AppKey("upload_dir", Path)

_texts = Texts()


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _static(name: str) -> bytes:
    return (resources.files("bot.channels") / "web_static" / name).read_bytes()


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, dumps=_dumps)


def _session_id(request: web.Request) -> str | None:
    raw = request.cookies.get(COOKIE)
    if not raw:
        return None
    try:
        return request.app[SIGNER_KEY].unsign(raw).decode()
    except BadSignature:
        return None


def _set_session(request: web.Request, response: web.StreamResponse, session_id: str) -> None:
    secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    response.set_cookie(
        COOKIE,
        request.app[SIGNER_KEY].sign(session_id).decode(),
        httponly=True,
        samesite="Strict",
        secure=secure,
        max_age=180 * 24 * 3600,
        path="/",
    )


async def index(request: web.Request) -> web.Response:
    response = web.Response(body=_static("index.html"), content_type="text/html", charset="utf-8")
    if _session_id(request) is None:
        _set_session(request, response, secrets.token_urlsafe(18))
    response.headers["Cache-Control"] = "no-store"
    return response


async def static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in STATIC_FILES:
        raise web.HTTPNotFound()
    return web.Response(body=_static(name), content_type=STATIC_FILES[name], charset="utf-8")


def _event(body: dict[str, Any], clock: Clock) -> Event | str:
    """The event a chat request carries, or the Chinese error message for a malformed one."""
    now = clock.now()
    if body.get("open") is True:
        return Open(now)
    if "action" in body:
        action = body["action"]
        if not isinstance(action, str) or not action or len(action) > 64:
            return _texts("web.bad_action")
        return Press(now, action)
    if "text" in body:
        text = body["text"]
        if not isinstance(text, str) or not text.strip():
            return _texts("web.empty_text")
        if len(text) > MAX_TEXT:
            return _texts("error.too_long", count=len(text), max=MAX_TEXT)
        return parse_text(now, text)
    return _texts("web.bad_request")


async def chat(request: web.Request) -> web.Response:
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return _error(413, _texts("web.too_large"))
    try:
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return _error(400, _texts("web.bad_json"))
    if not isinstance(body, dict):
        return _error(400, _texts("web.bad_request"))
    event = _event(body, request.app[CLOCK_KEY])
    if isinstance(event, str):
        return _error(400, event)
    return await _converse(request, event)


async def _converse(request: web.Request, event: Event) -> web.Response:
    session_id = _session_id(request)
    fresh = session_id is None
    if session_id is None:
        session_id = secrets.token_urlsafe(18)
    # Accept-Language is heeded only for Chinese: browsers in government offices often report en-US
    # whatever their user reads, while a zh-TW or zh-HK browser is a real hint. /lang decides after.
    language = request.headers.get("Accept-Language", "").split(",")[0].strip()
    service = request.app[SERVICE_KEY]
    handled = await service.handle(
        Incoming(
            channel=CHANNEL,
            external_id=session_id,
            event=event,
            language_code=language if language.lower().startswith("zh") else None,
        )
    )
    # The web has no push: what others sent this person (officers' notices, decisions) comes with
    # their next exchange, after the answer to what they just did.
    handled.replies = [*handled.replies, *await service.inbox(CHANNEL, session_id)]
    response = web.json_response(_payload(handled), dumps=_dumps)
    if fresh:
        _set_session(request, response, session_id)
    return response


def _payload(handled: Handled) -> dict[str, Any]:
    texts = Texts(handled.locale)
    return {
        "replies": [r.to_json() for r in handled.replies],
        "commands": [{"command": c.name, "description": texts(c.description_key)} for c in handled.menu],
    }


async def upload(request: web.Request) -> web.Response:
    """A file for the current step: stored on disk, then handed to the dialog like a Telegram file."""
    if not request.content_type.startswith("multipart/"):
        return _error(400, _texts("web.upload_not_multipart"))
    reader = await request.multipart()
    part = await reader.next()
    while part is not None and getattr(part, "name", None) != "file":
        part = await reader.next()
    if part is None or not isinstance(part, BodyPartReader) or not part.filename:
        return _error(400, _texts("web.upload_no_file"))
    name = uploads.clean_name(part.filename)
    kind = uploads.kind_for(name, part.headers.get("Content-Type"))
    if kind is None:
        return _error(415, _texts("web.upload_type"))
    now = request.app[CLOCK_KEY].now()
    path, file_id = uploads.new_path(request.app[UPLOAD_DIR_KEY], kind, now)
    path.parent.mkdir(parents=True, exist_ok=True)
    size, head = 0, b""
    try:
        with path.open("wb") as handle:
            # Streamed with our own cap: the file never has to fit in memory, and a huge one stops early.
            while chunk := await part.read_chunk(uploads.CHUNK):
                size += len(chunk)
                if size > uploads.MAX_BYTES:
                    raise _TooLarge
                if len(head) < 16:
                    head += chunk[:16]
                handle.write(chunk)
    except _TooLarge:
        path.unlink(missing_ok=True)
        return _error(413, _texts("files.too_big", max_mb=uploads.MAX_BYTES // (1024 * 1024)))
    if size == 0 or not uploads.content_matches(kind, head):
        path.unlink(missing_ok=True)
        return _error(415, _texts("web.upload_type"))
    event = Attachment(now, kind.attachment_kind, file_id, name, kind.mime, size)
    return await _converse(request, event)


class _TooLarge(Exception):
    pass


async def healthz(request: web.Request) -> web.Response:
    ok = await request.app[DATABASE_KEY].ping()
    return web.json_response(
        {"status": "ok" if ok else "unavailable", "database": ok}, status=200 if ok else 503
    )


def create_web_app(
    service: ConversationService, database: Database, clock: Clock, secret_key: str, upload_dir: Path
) -> web.Application:
    app = web.Application(client_max_size=MAX_BODY)
    app[SERVICE_KEY] = service
    app[SIGNER_KEY] = Signer(secret_key, salt="rongcuo.web.session")
    app[CLOCK_KEY] = clock
    app[DATABASE_KEY] = database
    app[UPLOAD_DIR_KEY] = upload_dir
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/healthz", healthz)
    return app
