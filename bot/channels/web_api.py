"""Routes beside the chat: invitation links, the bridge API for other messaging platforms, and the
OpenAPI document. Installed by bot.channels.web.create_web_app."""

from __future__ import annotations

import json
import re
from html import escape
from typing import Any

import structlog
from aiohttp import web

from bot.channels import openapi, web_security
from bot.channels.web import (
    CLOCK_KEY,
    SERVICE_KEY,
    SIGNER_KEY,
    _event,
    _run_job,
    _set_session,
)
from bot.services.conversation import Incoming
from bot.services.invitations import InvitationService, Refusal
from dialogs.texts import Texts

log = structlog.get_logger(__name__)

INVITATIONS_KEY = web.AppKey("invitations", InvitationService)
# A platform name becomes the channel name: it must never pass for a channel with its own proof of
# identity (Telegram's user ids, the web's signed sessions, the command line).
PLATFORM = re.compile(r"^[a-z][a-z0-9_-]{1,19}$")
RESERVED = {"telegram", "web", "cli"}

_texts = Texts()


def _dumps(obj: object) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _page(title: str, message: str, status: int) -> web.Response:
    body = f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{escape(title)}</title>
<style>body{{font:17px/1.6 system-ui,sans-serif;margin:0;padding:2rem 1.2rem;max-width:36rem}}
a{{display:inline-block;margin-top:1rem}}</style></head>
<body><h1 style="font-size:1.2rem">{escape(title)}</h1><p>{escape(message)}</p>
<a href="/">{escape(_texts("inv.page_open"))}</a></body></html>"""
    response = web.Response(status=status, text=body, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


REFUSALS = {
    Refusal.UNKNOWN: ("inv.page_unknown", 404),
    Refusal.USED: ("inv.page_used", 410),
    Refusal.EXPIRED: ("inv.page_expired", 410),
}


async def accept_invitation(request: web.Request) -> web.StreamResponse:
    token = request.match_info["token"]
    invitations = request.app.get(INVITATIONS_KEY)
    if invitations is None or not 16 <= len(token) <= 64:
        key, status = REFUSALS[Refusal.UNKNOWN]
        return _page(_texts("inv.page_title"), _texts(key), status)
    outcome = await invitations.redeem(token)
    if isinstance(outcome, Refusal):
        key, status = REFUSALS[outcome]
        return _page(_texts("inv.page_title"), _texts(key), status)
    response = web.HTTPSeeOther("/")
    response.headers["Cache-Control"] = "no-store"
    # A fresh session: whoever used this browser before (a shared office PC) is not carried over.
    _set_session(request, response, outcome)
    web_security.set_csrf_cookie(request, response, request.app[SIGNER_KEY], outcome)
    log.info("web.invitation_used")
    raise response


def _field(body: dict[str, Any], name: str, limit: int) -> str | None:
    value = body.get(name)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > limit:
        raise ValueError(name)
    return value.strip()


async def bridge_message(request: web.Request) -> web.Response:
    """Another platform's user spoke: the same dialogs answer, as for channel `platform`."""
    try:
        raw = await request.read()
        body = json.loads(raw or b"null")
    except (ValueError, UnicodeDecodeError):
        return web_security.error(400, _texts("web.bad_json"))
    if not isinstance(body, dict):
        return web_security.error(400, _texts("web.bad_request"))
    platform = body.get("platform")
    if not isinstance(platform, str) or not PLATFORM.match(platform) or platform in RESERVED:
        return web_security.error(400, _texts("api.bad_platform"))
    user_id = body.get("user_id")
    if not isinstance(user_id, str) or not 1 <= len(user_id) <= 100:
        return web_security.error(400, _texts("api.bad_user"))
    try:
        display_name = _field(body, "display_name", 120)
        language = _field(body, "language", 20)
    except ValueError as bad:
        return web_security.error(400, _texts("api.bad_field", field=str(bad)))
    event = _event(body, request.app[CLOCK_KEY])
    if isinstance(event, str):
        return web_security.error(400, event)
    service = request.app[SERVICE_KEY]
    handled = await service.handle(
        Incoming(
            channel=platform,
            external_id=user_id,
            event=event,
            display_name=display_name,
            language_code=language,
        )
    )
    replies = list(handled.replies)
    if handled.job is not None:
        replies += await _run_job(handled.job)
    # Like the web chat, a bridge pulls: queued notices come with the answer.
    replies += await service.inbox(platform, user_id)
    texts = Texts(handled.locale)
    return web.json_response(
        {
            # Attachments (exports, charts) are left out: a bridge has no browser session to fetch them.
            "replies": [r.to_json() for r in replies],
            "commands": [{"command": c.name, "description": texts(c.description_key)} for c in handled.menu],
        },
        dumps=_dumps,
    )


async def openapi_document(request: web.Request) -> web.Response:
    return web.json_response(openapi.DOCUMENT, dumps=_dumps)


def install(app: web.Application) -> None:
    app.router.add_get("/invite/{token}", accept_invitation)
    app.router.add_post("/api/bridge/message", bridge_message)
    app.router.add_get("/api/openapi.json", openapi_document)
