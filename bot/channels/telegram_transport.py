"""python-telegram-bot's HTTP requests made with aiohttp instead of httpx.

PTB makes its Bot API requests through a replaceable `BaseRequest`; its default one uses httpx.
Under bench/throughput.py that default was about half of the program's CPU: httpx, httpcore and
anyio cost about a millisecond per request, and httpcore's pool checks every idle connection
(a socket poll each) on every request, so the cost grew with the connections that concurrent
answers leave open. aiohttp is already the program's web server; its client pool hands out
connections from a free list and took a third of the CPU per request. Everything above this
(Bot, ExtBot, the Application, error mapping, JSON parsing of answers) is PTB's own code path.

The default timeouts and the request encoding are those of PTB's HTTPXRequest: parameters as
form fields holding JSON values, files as multipart parts, errors as TimedOut / NetworkError.
"""

from __future__ import annotations

import aiohttp
from telegram._utils.defaultvalue import DefaultValue
from telegram._utils.types import ODVInput
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, RequestData

# PTB's HTTPXRequest defaults (seconds); the media write timeout covers slow uploads.
READ_TIMEOUT = 5.0
WRITE_TIMEOUT = 5.0
CONNECT_TIMEOUT = 5.0
POOL_TIMEOUT = 1.0
MEDIA_WRITE_TIMEOUT = 20.0


class AiohttpRequest(BaseRequest):
    __slots__ = ("_connections", "_session", "_timeouts")

    def __init__(
        self,
        connections: int = 64,
        *,
        read: float | None = READ_TIMEOUT,
        write: float | None = WRITE_TIMEOUT,
        connect: float | None = CONNECT_TIMEOUT,
        pool: float | None = POOL_TIMEOUT,
        media_write: float | None = MEDIA_WRITE_TIMEOUT,
    ) -> None:
        self._connections = connections
        self._session: aiohttp.ClientSession | None = None
        self._timeouts = {
            "read": read,
            "write": write,
            "connect": connect,
            "pool": pool,
            "media": media_write,
        }

    @property
    def read_timeout(self) -> float | None:
        return self._timeouts["read"]

    async def initialize(self) -> None:
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self._connections),
                headers={"User-Agent": self.USER_AGENT},
                # Bot API answers are JSON handled by PTB; no cookies, no redirects to follow.
                cookie_jar=aiohttp.DummyCookieJar(),
            )

    async def shutdown(self) -> None:
        if self._session is not None and not self._session.closed:
            await self._session.close()
        self._session = None

    async def do_request(
        self,
        url: str,
        method: str,
        request_data: RequestData | None = None,
        read_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        write_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        connect_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
        pool_timeout: ODVInput[float] = BaseRequest.DEFAULT_NONE,
    ) -> tuple[int, bytes]:
        if self._session is None or self._session.closed:
            raise RuntimeError("This AiohttpRequest is not initialized!")
        files = request_data.multipart_data if request_data and request_data.contains_files else None
        defaults = self._timeouts
        read = _given(read_timeout, defaults["read"])
        write = _given(write_timeout, defaults["media"] if files else defaults["write"])
        connect = _given(connect_timeout, defaults["connect"])
        pool = _given(pool_timeout, defaults["pool"])
        # aiohttp has no separate write timeout: a request may take connect + write + read in all.
        total = None if None in (read, write, connect, pool) else read + write + connect + pool  # type: ignore[operator]
        # aiohttp's `connect` covers waiting for a pooled connection and opening a new one.
        waiting = None if pool is None or connect is None else pool + connect
        timeout = aiohttp.ClientTimeout(total=total, connect=waiting, sock_connect=connect, sock_read=read)
        data: aiohttp.FormData | dict[str, str] | None = None
        if files:
            # Unquoted: the file name goes as UTF-8, as httpx sends it; aiohttp's default would
            # percent-encode it, and Telegram would show 报备台账.xlsx as %E6%8A%A5....xlsx.
            form = aiohttp.FormData(quote_fields=False)
            for name, value in (request_data.json_parameters if request_data else {}).items():
                form.add_field(name, value)
            for name, (filename, content, mimetype) in files.items():
                form.add_field(name, content, filename=filename, content_type=mimetype)
            data = form
        elif request_data is not None:
            data = request_data.json_parameters
        try:
            async with self._session.request(method, url, data=data, timeout=timeout) as response:
                return response.status, await response.read()
        except (TimeoutError, aiohttp.ServerTimeoutError) as exc:
            raise TimedOut from exc
        except aiohttp.ClientError as exc:
            raise NetworkError(f"aiohttp.{exc.__class__.__name__}: {exc}") from exc


def _given(value: ODVInput[float], default: float | None) -> float | None:
    return default if isinstance(value, DefaultValue) else value
