"""Reading back a file a user sent, by the id the channel gave it.

Web uploads are already on disk under the data directory (`web:YYYY/MM/NAME`); Telegram keeps
files on its servers and hands them out by `file_id` through the bot, which exists only once the
Telegram channel has started, so its reader is plugged in then.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from telegram import Bot  # only for the reader; the web chat alone never loads PTB

WEB_PREFIX = "web:"

Reader = Callable[[str], Awaitable[bytes]]


class FileUnavailable(Exception):
    pass


class FileStore:
    def __init__(self, uploads: Path) -> None:
        self.uploads = uploads
        self.telegram: Reader | None = None

    async def read(self, file_id: str, *, max_bytes: int) -> bytes:
        if file_id.startswith(WEB_PREFIX):
            data = await asyncio.to_thread(self._read_upload, file_id[len(WEB_PREFIX) :], max_bytes)
        elif self.telegram is not None:
            try:
                data = await self.telegram(file_id)
            except Exception as exc:  # the Bot API's errors vary: expired id, network, too big
                raise FileUnavailable(str(exc)) from exc
        else:
            raise FileUnavailable("Telegram files cannot be fetched: the Telegram channel is not running")
        if len(data) > max_bytes:
            raise FileUnavailable(f"larger than {max_bytes} bytes")
        return data

    def _read_upload(self, relative: str, max_bytes: int) -> bytes:
        root = self.uploads.resolve()
        path = (root / relative).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise FileUnavailable(f"no upload {relative}")
        if path.stat().st_size > max_bytes:
            raise FileUnavailable(f"larger than {max_bytes} bytes")
        return path.read_bytes()


def telegram_reader(bot: Bot) -> Reader:
    async def read(file_id: str) -> bytes:
        found = await bot.get_file(file_id)
        return bytes(await found.download_as_bytearray())

    return read
