"""Telegram updates of different people handled side by side, each person's strictly in order.

python-telegram-bot handles updates one at a time by default, so a slow database commit for
one person holds up everyone behind them. Its concurrent mode would break a person's order (a
button press and the text typed right after it could be stored the other way round). This
processor does both: up to `max_concurrent_updates` updates at once, but one at a time per user.

Order holds because the Application starts one task per update in arrival order, and each task
asks for its user's lock before its first suspension (the bounded semaphore in front of it only
suspends when full, and then wakes waiters first come first served); asyncio.Lock is FIFO.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any
from weakref import WeakValueDictionary

from telegram import Update
from telegram.ext import BaseUpdateProcessor


class PerUserUpdateProcessor(BaseUpdateProcessor):
    def __init__(self, max_concurrent_updates: int = 32) -> None:
        super().__init__(max_concurrent_updates)
        # Weak values: a lock lives while some update holds or awaits it, then goes away.
        self._locks: WeakValueDictionary[int, asyncio.Lock] = WeakValueDictionary()

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        key = _user_key(update)
        if key is None:
            await coroutine
            return
        lock = self._locks.get(key)
        if lock is None:
            lock = asyncio.Lock()
            self._locks[key] = lock
        async with lock:
            await coroutine

    async def initialize(self) -> None:
        pass

    async def shutdown(self) -> None:
        pass


def _user_key(update: object) -> int | None:
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None
