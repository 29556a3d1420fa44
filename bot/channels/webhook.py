"""Telegram webhook delivery on the program's own aiohttp server (RONGCUO_TELEGRAM_MODE=webhook).

Two secrets guard the endpoint: the last path segment, and the X-Telegram-Bot-Api-Secret-Token
header Telegram sends back. Both derive from one configured secret, so a path that leaks into a
proxy's log does not also give away the header.

An update that passes is handled by the PTB Application (started without an Updater) before
Telegram gets its answer. Telegram sends a chat's next update only once the previous one was
answered (updates of different chats come concurrently), so handling first keeps each person's
updates in order even when a load balancer spreads them over several processes -- answering at
once let a person's two quick answers land on two processes and be stored the wrong way round
(the two-process drill). It also makes a crash mid-way safe: Telegram sends the unanswered update
again, and the processed-update record makes a repeat of one already applied harmless.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets

import structlog
from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = structlog.get_logger(__name__)

PATH_PREFIX = "/telegram/webhook/"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
ALLOWED_UPDATES = ["message", "callback_query"]

APPLICATION_KEY = web.AppKey("telegram_application", Application)
SECRETS_KEY = web.AppKey("webhook_secrets", tuple)


def path_secret(secret: str) -> str:
    return _derive(secret, "path")


def header_token(secret: str) -> str:
    # Telegram accepts 1-256 characters of A-Z a-z 0-9 _ -: a hex digest fits.
    return _derive(secret, "header")


def _derive(secret: str, purpose: str) -> str:
    return hmac.new(secret.encode(), f"rongcuo.webhook.{purpose}".encode(), hashlib.sha256).hexdigest()


def webhook_url(base_url: str, secret: str) -> str:
    return f"{base_url.rstrip('/')}{PATH_PREFIX}{path_secret(secret)}"


async def receive(request: web.Request) -> web.Response:
    expected_path, expected_header = request.app[SECRETS_KEY]
    given_path = request.match_info["secret"]
    given_header = request.headers.get(HEADER, "")
    # Both compared in constant time and both always compared, so timing says nothing about which failed.
    path_ok = secrets.compare_digest(given_path.encode(), expected_path.encode())
    header_ok = secrets.compare_digest(given_header.encode(), expected_header.encode())
    if not (path_ok and header_ok):
        log.warning("webhook.refused", path_ok=path_ok, header_ok=header_ok, peer=request.remote)
        return web.json_response({"error": "forbidden"}, status=403)
    try:
        raw = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return web.json_response({"error": "request body too large"}, status=413)
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: a body nested thousands deep; not JSON any Telegram would send.
        return web.json_response({"error": "body is not valid JSON"}, status=400)
    if not well_formed(data):
        return web.json_response({"error": "body is not a Telegram update"}, status=400)
    application = request.app[APPLICATION_KEY]
    try:
        update = Update.de_json(data, application.bot)
    except Exception:
        log.warning("webhook.bad_update", update_id=data.get("update_id"))
        return web.json_response({"error": "body is not a Telegram update"}, status=400)
    # Through the update processor, like queued updates: the same per-person order and bound.
    await application.update_processor.process_update(update, application.process_update(update))
    return web.json_response({"ok": True})


def well_formed(data: object) -> bool:
    """The parts of an update the program relies on have the types the Bot API documents.

    PTB's de_json does not check types or required fields, so a forged body (a message without a
    chat, a text that is a number, a chat id that is a word) would otherwise reach the handlers
    and fail there. Telegram itself never sends such updates.
    """
    if not isinstance(data, dict) or not _is_id(data.get("update_id")):
        return False
    for kind in ("message", "edited_message"):
        if kind in data and not _message_ok(data[kind]):
            return False
    if "callback_query" in data:
        query = data["callback_query"]
        if (
            not isinstance(query, dict)
            or not isinstance(query.get("id"), str)
            or not _user_ok(query.get("from"))
        ):
            return False
        if "data" in query and not isinstance(query["data"], str):
            return False
        if "message" in query and not _message_ok(query["message"]):
            return False
    return True


def _is_id(value: object) -> bool:
    # Telegram ids fit in a signed 64-bit integer (chat ids may be negative), as does the column
    # that remembers update ids; bool is an int in Python, not an id.
    return isinstance(value, int) and not isinstance(value, bool) and -(2**63) <= value < 2**63


def _user_ok(user: object) -> bool:
    return isinstance(user, dict) and _is_id(user.get("id"))


def _message_ok(message: object) -> bool:
    if not isinstance(message, dict) or not isinstance(message.get("chat"), dict):
        return False
    if not _is_id(message["chat"].get("id")) or not _is_id(message.get("message_id")):
        return False
    if "from" in message and not _user_ok(message["from"]):
        return False
    return all(not (key in message and not isinstance(message[key], str)) for key in ("text", "caption"))


def install(app: web.Application, application: Application, secret: str) -> None:
    """Add the webhook route; call before the aiohttp app starts (its router is frozen then)."""
    app[APPLICATION_KEY] = application
    app[SECRETS_KEY] = (path_secret(secret), header_token(secret))
    app.router.add_post(PATH_PREFIX + "{secret}", receive)


async def register(application: Application, base_url: str, secret: str) -> None:
    """Tell Telegram where to deliver. Left in place at stop: other processes may serve the same hook."""
    await application.bot.set_webhook(
        url=webhook_url(base_url, secret),
        secret_token=header_token(secret),
        allowed_updates=ALLOWED_UPDATES,
    )
    log.info("webhook.registered", base_url=base_url)
