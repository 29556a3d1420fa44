"""What stands in front of the web handlers: CSRF tokens, bearer tokens for bridges, rate limits,
and clear JSON answers for bodies that are too large.

CSRF: the token is the session signer's signature over the session id, so it is bound to the
session, needs no storage and cannot be computed by another site. The page carries it in a meta
tag and a readable cookie; every POST must echo it in `X-CSRF-Token`. SameSite=Strict alone would
leave browsers that ignore SameSite open.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from ipaddress import ip_address

from aiohttp import web
from itsdangerous import Signer

from bot.config import Settings
from dialogs.texts import Texts

CSRF_COOKIE = "rongcuo_csrf"
CSRF_HEADER = "X-CSRF-Token"
# Telegram's webhook proves itself with its own secret header; it has no browser session.
CSRF_EXEMPT = ("/telegram/",)
MAX_BUCKETS = 20_000

_texts = Texts()

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _rate(spec: str) -> tuple[int, float]:
    count, _, seconds = spec.partition("/")
    parsed = int(count), float(seconds or 1)
    if parsed[0] < 1 or parsed[1] <= 0:
        raise ValueError(f"bad rate {spec!r}: expected REQUESTS/SECONDS such as 30/10")
    return parsed


def _tokens(spec: str) -> dict[str, str]:
    """token → name, from `name:token,name:token`."""
    found = {}
    for pair in spec.split(","):
        name, sep, token = pair.strip().partition(":")
        if not pair.strip():
            continue
        if not sep or not name or len(token) < 16:
            raise ValueError("RONGCUO_API_TOKENS: expected name:token pairs, tokens of 16 characters or more")
        found[token] = name
    return found


@dataclass(frozen=True, slots=True)
class WebSecurity:
    open_registration: bool = True
    api_tokens: dict[str, str] = field(default_factory=dict)  # token → bridge name
    rate_session: tuple[int, float] = (30, 10)
    rate_ip: tuple[int, float] = (120, 60)
    trusted_proxies: frozenset[str] = frozenset()
    upload_max_bytes: int = 20 * 1024 * 1024
    # Rate limits count real seconds, not the program's clock (which tests set by hand).
    seconds: Callable[[], float] = field(default=time.monotonic, compare=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> WebSecurity:
        return cls(
            open_registration=settings.web_open_registration,
            api_tokens=_tokens(settings.api_tokens),
            rate_session=_rate(settings.rate_session),
            rate_ip=_rate(settings.rate_ip),
            trusted_proxies=frozenset(p.strip() for p in settings.trusted_proxies.split(",") if p.strip()),
            upload_max_bytes=settings.upload_max_mb * 1024 * 1024,
        )


SECURITY_KEY = web.AppKey("security", WebSecurity)


class TokenBuckets:
    """In-process token buckets: `capacity` requests at once, refilled over `seconds`.

    Per process: with several processes behind nginx each allows the full rate, which nginx's own
    limit_req should cap if that matters.
    """

    def __init__(self, capacity: int, seconds: float) -> None:
        self.capacity = capacity
        self.per_second = capacity / seconds
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, key: str, now: float) -> float:
        """0 when the request may go ahead, else the seconds until it would."""
        tokens, last = self._buckets.get(key, (float(self.capacity), now))
        tokens = min(float(self.capacity), tokens + (now - last) * self.per_second)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            return (1 - tokens) / self.per_second
        if len(self._buckets) >= MAX_BUCKETS and key not in self._buckets:
            # Under a flood of new keys forget everyone: a reset only ever lets a little more through.
            self._buckets.clear()
        self._buckets[key] = (tokens - 1, now)
        return 0.0


def csrf_token(signer: Signer, session_id: str) -> str:
    return signer.get_signature(f"csrf:{session_id}".encode()).decode()


def csrf_ok(signer: Signer, session_id: str | None, sent: str | None) -> bool:
    if not session_id or not sent:
        return False
    return hmac.compare_digest(csrf_token(signer, session_id), sent)


def client_ip(request: web.Request, trusted: frozenset[str]) -> str:
    """The peer's address; behind a trusted proxy, the nearest untrusted address it reports."""
    peer = request.remote or "?"
    if peer not in trusted:
        return peer
    hops = [h.strip() for h in request.headers.get("X-Forwarded-For", "").split(",") if h.strip()]
    for hop in reversed(hops):
        try:
            ip_address(hop)
        except ValueError:
            return peer  # a forged or broken header: the proxy's own address is all we know
        if hop not in trusted:
            return hop
    return peer


def bearer_name(request: web.Request) -> str | None:
    """The bridge a valid bearer token belongs to; None without one or with a wrong one."""
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return None
    tokens = request.app[SECURITY_KEY].api_tokens
    for known, name in tokens.items():
        if hmac.compare_digest(known.encode(), token.strip().encode()):
            return name
    return None


def error(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    import json

    return web.json_response(
        {"error": message}, status=status, headers=headers, dumps=lambda o: json.dumps(o, ensure_ascii=False)
    )


def guard(
    signer: Signer, session_of: Callable[[web.Request], str | None]
) -> Callable[[web.Request, Handler], Awaitable[web.StreamResponse]]:
    """The middleware: rate limits on /api/*, CSRF on every browser POST, JSON 413s."""
    per_session: TokenBuckets | None = None
    per_ip: TokenBuckets | None = None

    @web.middleware
    async def middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
        nonlocal per_session, per_ip
        security = request.app[SECURITY_KEY]
        if per_session is None or per_ip is None:
            per_session, per_ip = TokenBuckets(*security.rate_session), TokenBuckets(*security.rate_ip)
        path = request.path
        bridge = bearer_name(request) if path.startswith("/api/bridge/") else None
        session_id = session_of(request)
        if path.startswith("/api/"):
            now = security.seconds()
            wait = per_ip.take("ip:" + client_ip(request, security.trusted_proxies), now)
            if not wait:
                key = f"bridge:{bridge}" if bridge else f"session:{session_id}" if session_id else None
                wait = per_session.take(key, now) if key else 0.0
            if wait:
                retry = max(1, int(wait + 0.999))
                return error(
                    429, _texts("api.rate_limited", seconds=retry), headers={"Retry-After": str(retry)}
                )
        if request.method == "POST" and not path.startswith(CSRF_EXEMPT):
            if path.startswith("/api/bridge/"):
                if bridge is None:
                    return error(401, _texts("api.unauthorized"))
            elif not csrf_ok(signer, session_id, request.headers.get(CSRF_HEADER)):
                return error(403, _texts("api.csrf"))
        try:
            return await handler(request)
        except web.HTTPRequestEntityTooLarge:
            return error(413, _texts("web.too_large"))

    return middleware


def set_csrf_cookie(
    request: web.Request, response: web.StreamResponse, signer: Signer, session_id: str
) -> None:
    secure = request.secure or request.headers.get("X-Forwarded-Proto") == "https"
    # Readable by the page's script (not HttpOnly): that is what double submit needs; it is worthless
    # without the HttpOnly session cookie it was derived from.
    response.set_cookie(
        CSRF_COOKIE, csrf_token(signer, session_id), samesite="Strict", secure=secure, path="/"
    )
