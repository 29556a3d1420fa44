"""Runs the real python-telegram-bot Application of the bot against the local Bot API emulator."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from bot.channels.telegram import TelegramChannel, build_application
from bot.clock import Clock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime, start_delivery
from tests.emulator import BotApiEmulator

ROOT = Path(__file__).resolve().parents[2]


@asynccontextmanager
async def emulator_running(**options: object) -> AsyncIterator[BotApiEmulator]:
    emulator = BotApiEmulator(**options)  # type: ignore[arg-type]
    await emulator.start()
    try:
        yield emulator
    finally:
        await emulator.stop()


@asynccontextmanager
async def bot_in_process(
    emulator: BotApiEmulator, database_url: str, data_dir: Path, clock: Clock
) -> AsyncIterator[Runtime]:
    runtime = await build_runtime(load_settings(database_url=database_url, data_dir=data_dir), clock)
    application = build_application(emulator.token, emulator.base_url, emulator.base_file_url, polling=True)
    channel = TelegramChannel(application, runtime.conversations, runtime.clock)
    await channel.start(polling=True)
    stop = asyncio.Event()
    delivery = start_delivery(runtime, application.bot, stop)
    try:
        yield runtime
    finally:
        stop.set()
        await delivery
        await channel.stop()
        await runtime.database.dispose()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`rongcuo run` as a separate OS process, so a test can SIGKILL it like a crash."""

    def __init__(self, emulator: BotApiEmulator, database_url: str, data_dir: Path) -> None:
        self.env = {
            **os.environ,
            "RONGCUO_TELEGRAM_TOKEN": emulator.token,
            "RONGCUO_TELEGRAM_API_URL": emulator.base_url,
            "RONGCUO_TELEGRAM_FILE_URL": emulator.base_file_url,
            "RONGCUO_DATABASE_URL": database_url,
            "RONGCUO_DATA_DIR": str(data_dir),
            "RONGCUO_HTTP_PORT": str(free_port()),
            "RONGCUO_LOG_LEVEL": "INFO",
        }
        self.log = data_dir / "bot.log"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        handle = self.log.open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run"], cwd=ROOT, env=self.env, stdout=handle, stderr=handle
        )

    def kill(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""
