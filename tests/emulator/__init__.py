"""A faithful local Telegram Bot API server plus a user-side driver, for end-to-end tests.

    emulator = BotApiEmulator()
    await emulator.start()
    app = (
        ApplicationBuilder()
        .token(emulator.token)
        .base_url(emulator.base_url)
        .base_file_url(emulator.base_file_url)
        .build()
    )
    ...  # add handlers, then initialize(), start(), updater.start_polling()
    user = emulator.user(1001)
    user.send_text("/start")
    [reply] = await user.wait_for_messages(1)

One emulator belongs to one event loop (its waiters use asyncio.Event); create it per test.
Modules: server (HTTP + Bot API methods), driver (the user's side), records (stored state),
formatting (HTML/MarkdownV2 -> entities, TDLib's error texts), media (image sizes, tiny_png).
"""

from .driver import UserDriver, button_labels, find_button, inline_buttons, message_text
from .media import tiny_png
from .records import ApiErrorRecord, CallbackQueryRecord, StoredMessage
from .server import BotApiEmulator

__all__ = [
    "ApiErrorRecord",
    "BotApiEmulator",
    "CallbackQueryRecord",
    "StoredMessage",
    "UserDriver",
    "button_labels",
    "find_button",
    "inline_buttons",
    "message_text",
    "tiny_png",
]
