"""Pacing for Telegram's flood limits, within one process.

Telegram allows about 30 messages per second overall, one per second into a chat, and 20 per
minute into a group; beyond that it answers 429 with ``retry_after``. The global rate defaults to
25/s so that interactive replies, which do not pass through here, still have headroom.

A chat waiting for its turn never holds up another chat: each chat waits on its own, and only the
tiny global spacing is shared.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

GROUP_WINDOW = 60.0
_PRUNE_EVERY = 256


def is_group(chat_id: int | str) -> bool:
    # Groups, supergroups and channels have negative ids; users and private chats positive ones.
    return str(chat_id).startswith("-")


@dataclass
class _ChatPace:
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    free_at: float = 0.0  # monotonic time before which the next send must not start
    recent: deque[float] = field(default_factory=deque)  # starts within the last minute (groups)


class RateLimiter:
    def __init__(
        self,
        *,
        per_chat_interval: float = 1.0,
        global_rate: float = 25.0,
        group_per_minute: int = 20,
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[object]] = asyncio.sleep,
    ) -> None:
        if per_chat_interval < 0 or global_rate <= 0 or group_per_minute <= 0:
            raise ValueError("rate limits must be positive")
        self.per_chat_interval = per_chat_interval
        self.global_rate = global_rate
        self.group_per_minute = group_per_minute
        self._monotonic = monotonic
        self._sleep = sleep
        self._chats: dict[str, _ChatPace] = {}
        self._global_next = 0.0
        self._slots = 0

    def delay(self, chat_id: int | str) -> float:
        """Seconds before ``chat_id`` may be sent to again (0 when it may go now)."""
        pace = self._chats.get(str(chat_id))
        if pace is None:
            return 0.0
        return self._wait(pace, is_group(chat_id), self._monotonic())

    def defer(self, chat_id: int | str, seconds: float) -> None:
        """Telegram asked this chat to wait (``retry_after``); other chats are not affected."""
        pace = self._pace(str(chat_id))
        pace.free_at = max(pace.free_at, self._monotonic() + seconds)

    @asynccontextmanager
    async def slot(self, chat_id: int | str) -> AsyncIterator[None]:
        """Wait for ``chat_id``'s turn, then send inside the block.

        The chat's interval runs from the end of the block, not its start: a request can reach
        Telegram any time before its answer comes back, so only "previous answer received +
        interval" guarantees the spacing Telegram measures on its side.
        """
        key = str(chat_id)
        group = is_group(key)
        self._slots += 1
        if self._slots % _PRUNE_EVERY == 0:
            self._prune()
        pace = self._pace(key)
        async with pace.lock:
            while (wait := self._wait(pace, group, self._monotonic())) > 0:
                # Re-checked after sleeping: defer() may have moved the goal meanwhile.
                await self._sleep(wait)
            # Reading and advancing the global schedule with no await in between gives every
            # concurrent sender its own instant.
            now = self._monotonic()
            start = max(now, self._global_next)
            self._global_next = start + 1.0 / self.global_rate
            if start > now:
                await self._sleep(start - now)
            if group:
                pace.recent.append(self._monotonic())
            try:
                yield
            finally:
                pace.free_at = max(pace.free_at, self._monotonic() + self.per_chat_interval)

    def _pace(self, key: str) -> _ChatPace:
        pace = self._chats.get(key)
        if pace is None:
            pace = self._chats[key] = _ChatPace()
        return pace

    def _wait(self, pace: _ChatPace, group: bool, now: float) -> float:
        ready = pace.free_at
        if group:
            while pace.recent and pace.recent[0] <= now - GROUP_WINDOW:
                pace.recent.popleft()
            if len(pace.recent) >= self.group_per_minute:
                ready = max(ready, pace.recent[-self.group_per_minute] + GROUP_WINDOW)
        return max(0.0, ready - now)

    def _prune(self) -> None:
        # A chat with nothing to remember costs memory only; the bot may talk to many thousands.
        now = self._monotonic()
        idle = [
            key
            for key, pace in self._chats.items()
            if not pace.lock.locked()
            and pace.free_at <= now
            and not (pace.recent and pace.recent[-1] > now - GROUP_WINDOW)
        ]
        for key in idle:
            del self._chats[key]
