"""The baseline of bench/throughput.py: a bare python-telegram-bot echo bot on the program's webhook path.

    .venv/bin/python bench/echo_bot.py API_URL PORT SECRET [httpx|aiohttp]

Same ingress as `rongcuo run` in webhook mode (aiohttp, bot.channels.webhook's route and secret
checks, the PTB Application's update queue, updates handled one at a time) and the same egress
(PTB's Bot over HTTP), with nothing in between: a text is echoed, a button press is answered and
its data echoed. What the full program costs beyond this is its dialog engine and database.

The Bot API requests go through PTB's default transport (httpx), as in any bare PTB bot, or with
`aiohttp` through the transport the program itself uses (bot/channels/telegram_transport.py):
bench/throughput.py reports the ratio against both.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aiohttp import web  # noqa: E402
from telegram import Update  # noqa: E402
from telegram.ext import ApplicationBuilder, CallbackQueryHandler, ContextTypes, MessageHandler, filters  # noqa: E402

from bot.channels import webhook  # noqa: E402
from bot.channels.telegram_transport import AiohttpRequest  # noqa: E402


async def echo_text(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    assert update.effective_message is not None
    await context.bot.send_message(update.effective_message.chat_id, update.effective_message.text or "")


async def echo_press(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    query = update.callback_query
    assert query is not None and update.effective_user is not None
    await query.answer()
    await context.bot.send_message(update.effective_user.id, query.data or "")


async def main(api_url: str, port: int, secret: str, transport: str) -> None:
    builder = ApplicationBuilder().token("123456:BENCH-TOKEN").base_url(api_url).updater(None)
    if transport == "aiohttp":
        builder = builder.request(AiohttpRequest())
    application = builder.build()
    application.add_handler(MessageHandler(filters.TEXT, echo_text))
    application.add_handler(CallbackQueryHandler(echo_press))
    app = web.Application()
    webhook.install(app, application, secret)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await application.initialize()
    await application.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print("ready", flush=True)
    await stop.wait()
    await application.stop()
    await application.shutdown()
    await runner.cleanup()


if __name__ == "__main__":
    asyncio.run(
        main(sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "httpx")
    )
