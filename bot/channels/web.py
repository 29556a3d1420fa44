"""The web chat channel and the program's HTTP face, on plain aiohttp.

A browser is identified by a signed session cookie; its identity is channel `web` with the
session id as external id, so it goes through the same conversation service as Telegram.
"""

from __future__ import annotations

import asyncio
import json
import secrets
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import quote

import structlog
from aiohttp import BodyPartReader, web
from itsdangerous import BadSignature, Signer

from bot.channels import ops, uploads, web_files, web_security
from bot.clock import Clock
from bot.services import invitations
from bot.services.conversation import ConversationService, Handled, Incoming
from bot.services.invitations import InvitationService
from bot.services.jobs import Job, no_progress
from dialogs.events import Attachment, Event, Open, Press, parse_text
from dialogs.replies import Reply
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
FILES_DIR_KEY = web.AppKey("files_dir", Path)
# chat.js gives up on a request after 45 s and sends it again: a job must answer before that.
JOB_SECONDS = 40

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
    session_id = _session_id(request)
    fresh = session_id is None
    session_id = session_id or secrets.token_urlsafe(18)
    signer = request.app[SIGNER_KEY]
    token = web_security.csrf_token(signer, session_id)
    page = _static("index.html").replace(b'name="csrf-token" content=""', f'name="csrf-token" content="{token}"'.encode())
    response = web.Response(body=page, content_type="text/html", charset="utf-8")
    if fresh:
        _set_session(request, response, session_id)
    web_security.set_csrf_cookie(request, response, signer, session_id)
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
    if not request.app[web_security.SECURITY_KEY].open_registration and not await invitations.admitted(
        request.app[DATABASE_KEY], CHANNEL, session_id, event
    ):
        closed = {"replies": [Reply(_texts("inv.closed")).to_json()], "commands": []}
        return web.json_response(closed, dumps=_dumps)
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
    if handled.job is not None:
        # No push and no second message to edit: the request waits for the result (see chat.js).
        handled.replies = [*handled.replies, *await _run_job(handled.job)]
    # The web has no push: what others sent this person (officers' notices, decisions) comes with
    # their next exchange, after the answer to what they just did.
    handled.replies = [*handled.replies, *await service.inbox(CHANNEL, session_id)]
    now = request.app[CLOCK_KEY].now()
    payload = await _payload(handled, request.app[FILES_DIR_KEY], session_id, now)
    response = web.json_response(payload, dumps=_dumps)
    if fresh:
        _set_session(request, response, session_id)
    return response


async def _run_job(job: Job) -> list[Reply]:
    try:
        return await asyncio.wait_for(job.run(no_progress), JOB_SECONDS)
    except TimeoutError:
        log.warning("web.job_too_slow", seconds=JOB_SECONDS)
        return [Reply(job.too_slow or job.failed)]
    except Exception:
        log.exception("web.job_failed")
        return [Reply(job.failed)]


async def _payload(handled: Handled, files_dir: Path, session_id: str, now: datetime) -> dict[str, Any]:
    texts = Texts(handled.locale)
    replies = []
    for reply in handled.replies:
        body: dict[str, Any] = reply.to_json()
        file = reply.attachment
        if file is not None:
            token = await asyncio.to_thread(web_files.store, files_dir, session_id, file, now)
            body["attachment"] = {
                "kind": file.kind,
                "filename": file.filename,
                "size": len(file.content),
                "url": f"/api/files/{token}",
                "note": texts("export.link_note", minutes=int(web_files.TTL.total_seconds() // 60)),
            }
        replies.append(body)
    return {
        "replies": replies,
        "commands": [{"command": c.name, "description": texts(c.description_key)} for c in handled.menu],
    }


async def download(request: web.Request) -> web.Response:
    """A file the bot sent this browser session: served once, then gone."""
    now = request.app[CLOCK_KEY].now()
    found = web_files.claim(
        request.app[FILES_DIR_KEY], request.match_info["token"], _session_id(request), now
    )
    if found is None:
        return web.Response(status=404, text=_texts("export.file_gone"), content_type="text/plain")
    try:
        body = await asyncio.to_thread(found.path.read_bytes)
    finally:
        found.path.unlink(missing_ok=True)
    disposition = "inline" if found.kind == "photo" else "attachment"
    response = web.Response(body=body, content_type=found.mime)
    response.headers["Content-Disposition"] = (
        f"{disposition}; filename*=UTF-8''{quote(found.filename, safe='')}"
    )
    # A photo shown in the page must not be fetched again (the link works once); files are private.
    response.headers["Cache-Control"] = "private, max-age=3600" if found.kind == "photo" else "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


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
                if size > request.app[web_security.SECURITY_KEY].upload_max_bytes:
                    raise _TooLarge
                if len(head) < 16:
                    head += chunk[:16]
                handle.write(chunk)
    except _TooLarge:
        path.unlink(missing_ok=True)
        max_bytes = request.app[web_security.SECURITY_KEY].upload_max_bytes
        return _error(413, _texts("files.too_big", max_mb=max_bytes // (1024 * 1024)))
    if size == 0 or not uploads.content_matches(kind, head):
        path.unlink(missing_ok=True)
        return _error(415, _texts("web.upload_type"))
    event = Attachment(now, kind.attachment_kind, file_id, name, kind.mime, size)
    return await _converse(request, event)


class _TooLarge(Exception):
    pass


def create_web_app(
    service: ConversationService,
    database: Database,
    clock: Clock,
    secret_key: str,
    upload_dir: Path,
    files_dir: Path | None = None,
    *,
    security: web_security.WebSecurity | None = None,
    invitations: InvitationService | None = None,
) -> web.Application:
    signer = Signer(secret_key, salt="rongcuo.web.session")
    guard = web_security.guard(signer, _session_id)
    app = web.Application(client_max_size=MAX_BODY, middlewares=[guard])
    app[web_security.SECURITY_KEY] = security or web_security.WebSecurity()
    app[SERVICE_KEY] = service
    app[SIGNER_KEY] = signer
    app[CLOCK_KEY] = clock
    app[DATABASE_KEY] = database
    app[UPLOAD_DIR_KEY] = upload_dir
    app[FILES_DIR_KEY] = files_dir or upload_dir.parent / "exports"
    app.router.add_get("/", index)
    app.router.add_get("/static/{name}", static)
    app.router.add_post("/api/chat", chat)
    app.router.add_post("/api/upload", upload)
    app.router.add_get("/api/files/{token}", download)
    ops.install(app, service.metrics, database, clock)  # /healthz and /metrics
    # Imported here: web_api builds on this module's handlers.
    from bot.channels import web_api

    if invitations is not None:
        app[web_api.INVITATIONS_KEY] = invitations
    web_api.install(app)
    return app
