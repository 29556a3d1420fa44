"""Pacing for Telegram's flood limits, within one process.

Telegram allows about 30 messages per second overall, one per second into a chat, and 20 per
minute into a group; beyond that it answers 429 with ``retry_after``. The global rate defaults to
25/s so that interactive replies, which do not pass through here, still have headroom.

A chat waiting for its turn never holds up another chat: each chat waits on its own, and only the
tiny global spacing is shared.

Telegram counts a message when the request arrives, in a sliding window, and the limiter cannot
see arrivals: between a send's start here and its arrival there lie request building, the network
and, on a busy event loop, some milliseconds of waiting. Spacing starts exactly 1/rate apart lets
jitter push a 31st arrival into a window. So the global rate has two rules. Starts are spaced
1/rate apart, for an even pace; and a send starts only while fewer than ``rate`` earlier sends
could still have arrived within the last second, counting a finished send as arrived no later
than its answer and an unanswered one as arriving any moment (for at most ``ARRIVAL_BOUND``
seconds). Then no window can hold more than ``rate`` arrivals, whatever the jitter, at the cost of
one round trip per window: the pace is ``rate / (1 + round trip)``.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

GROUP_WINDOW = 60.0
# An answer this late is a timeout in the making; the request is assumed to have reached Telegram
# by then, so that one hung request cannot stall every other chat for the length of its timeout.
ARRIVAL_BOUND = 1.0
# How late a send may start and still keep the even pace's schedule (the following sends catch
# up); the window rule alone bounds what Telegram sees, so catching up cannot overshoot.
_CATCH_UP = 0.1
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
        # Telegram's window, as the emulator and the documentation describe it: `capacity` sends
        # in any `window` seconds (1 s, or longer for rates under one a second).
        self._window = max(1.0, 1.0 / global_rate)
        self._capacity = max(1, int(global_rate * self._window + 1e-9))
        self._gate = asyncio.Lock()  # one sender at a time passes the global rules, in order
        self._sending: dict[int, float] = {}  # unanswered sends: their start times
        self._tokens = itertools.count()
        self._answered: list[float] = []  # latest possible arrival of answered sends, recent ones

    def queue_time(self, senders: int) -> float:
        """Longest a send may wait for the global rules behind ``senders`` others, in seconds.

        Each round of ``capacity`` sends holds the window for at most ``ARRIVAL_BOUND`` plus the
        window itself; the even pace adds its spacing.
        """
        rounds = -(-max(senders, 1) // self._capacity)
        return senders / self.global_rate + rounds * (self._window + ARRIVAL_BOUND)

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
            token = await self._global_turn()
            if group:
                pace.recent.append(self._monotonic())
            try:
                yield
            finally:
                end = self._monotonic()
                start = self._sending.pop(token)
                self._answered.append(min(end, start + ARRIVAL_BOUND))
                pace.free_at = max(pace.free_at, end + self.per_chat_interval)

    async def _global_turn(self) -> int:
        """Wait until both global rules let a send start; returns its token in ``_sending``."""
        async with self._gate:
            while (wait := self._global_wait(self._monotonic())) > 0:
                # Re-checked after sleeping: an answer may have come back meanwhile.
                await self._sleep(wait)
            now = self._monotonic()
            # A wake-up up to _CATCH_UP late keeps the schedule, so the next sends make the time
            # good instead of losing it; after a longer pause (idle) the pace starts afresh.
            base = self._global_next if now - self._global_next <= _CATCH_UP else now
            self._global_next = base + 1.0 / self.global_rate
            token = next(self._tokens)
            self._sending[token] = now
            return token

    def _global_wait(self, now: float) -> float:
        horizon = now - self._window
        self._answered = [t for t in self._answered if t > horizon]
        # Latest possible arrival of every send that may still be inside the window: an
        # unanswered one may arrive any moment, until ARRIVAL_BOUND has passed.
        unanswered = (min(start + ARRIVAL_BOUND, now) for start in self._sending.values())
        arrivals = sorted([*self._answered, *(t for t in unanswered if t > horizon)])
        excess = len(arrivals) - self._capacity + 1
        window_wait = arrivals[excess - 1] - horizon if excess > 0 else 0.0
        return max(window_wait, self._global_next - now, 0.0)

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
