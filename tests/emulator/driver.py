"""The user's side of a private chat with the bot, for end-to-end tests.

A ``UserDriver`` does what a Telegram client would: it sends messages (with the entities clients
add), presses inline buttons, taps reply-keyboard buttons, blocks the bot. It reads the bot's
messages as the user would see them, waiting on the emulator's change signal rather than polling.

    user = emulator.user(1001)
    user.send_text("/start")
    [greeting] = await user.wait_for_messages(1)
    query = user.press("开始报备")
    await query.wait_answered()
"""

# The waiting helpers take a `timeout` argument on purpose: it goes into the assertion message.

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from . import formatting
from .media import image_size

if TYPE_CHECKING:
    from .records import CallbackQueryRecord, ChatState, StoredMessage, UserInfo
    from .server import BotApiEmulator

JSON = dict[str, Any]


def message_text(message: JSON) -> str:
    """The text a user reads: the text, or the caption of a media message."""
    return str(message.get("text") or message.get("caption") or "")


def inline_buttons(message: JSON) -> list[list[str]]:
    """Inline button labels, row by row."""
    markup = message.get("reply_markup") or {}
    return [[button["text"] for button in row] for row in markup.get("inline_keyboard", [])]


def button_labels(message: JSON) -> list[str]:
    return [label for row in inline_buttons(message) for label in row]


def find_button(message: JSON, label: str) -> JSON | None:
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if button["text"] == label:
                return dict(button)
    return None


class UserDriver:
    """One user and their private chat with the bot (chat id == user id)."""

    # Helpers that read Bot API message dicts, reachable from the driver for convenience.
    text = staticmethod(message_text)
    buttons = staticmethod(inline_buttons)
    labels = staticmethod(button_labels)

    def __init__(self, emulator: BotApiEmulator, info: UserInfo) -> None:
        self._emulator = emulator
        self.info = info
        self._cursor = 0  # how many bot messages wait_for_messages has handed out
        self._seen_edits: dict[int, int] = {}

    @property
    def user_id(self) -> int:
        return self.info.id

    @property
    def chat_id(self) -> int:
        return self.info.id

    @property
    def _chat(self) -> ChatState:
        return self._emulator._chats[self.chat_id]

    # --- what the user sends --------------------------------------------------------------------

    def send_text(self, text: str, *, reply_to: int | None = None) -> JSON:
        """Send a text message; commands, links, mentions and hashtags get entities as in clients."""
        text = formatting.trim(text, [])[0]
        if not text:
            raise ValueError("Telegram clients do not send empty messages")
        fields: JSON = {"text": text}
        entities = formatting.detect_entities(text, [])
        if entities:
            fields["entities"] = entities
        return self._emulator._user_message(self.user_id, fields, reply_to)

    def tap_keyboard(self, label: str) -> JSON:
        """Tap a reply-keyboard button, which sends its label as a text message."""
        keyboard = self._chat.reply_keyboard
        labels = [button["text"] for row in (keyboard or {}).get("keyboard", []) for button in row]
        if label not in labels:
            raise AssertionError(
                f"no reply-keyboard button {label!r}; the keyboard shows {labels}\n{self.describe()}"
            )
        if keyboard and keyboard.get("one_time_keyboard"):
            self._chat.reply_keyboard = None
        return self.send_text(label)

    def send_sticker(self, emoji: str = "👍") -> JSON:
        stored = self._emulator.store_file(b"RIFF\x1a\x00\x00\x00WEBPVP8L", "sticker")
        sticker = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
            "emoji": emoji,
            "file_size": len(stored.content),
        }
        return self._emulator._user_message(self.user_id, {"sticker": sticker})

    def send_voice(self, duration: int = 3, content: bytes = b"OggS\x00\x02voice") -> JSON:
        stored = self._emulator.store_file(content, "voice", mime_type="audio/ogg")
        voice = {
            "file_id": stored.file_id,
            "file_unique_id": stored.file_unique_id,
            "duration": duration,
            "mime_type": "audio/ogg",
            "file_size": len(content),
        }
        return self._emulator._user_message(self.user_id, {"voice": voice})

    def send_location(self, latitude: float, longitude: float) -> JSON:
        return self._emulator._user_message(
            self.user_id, {"location": {"latitude": latitude, "longitude": longitude}}
        )

    def send_contact(self, phone_number: str, first_name: str | None = None) -> JSON:
        """Share a contact; by default the user's own, as the request_contact button does."""
        contact = {
            "phone_number": phone_number,
            "first_name": first_name or self.info.first_name,
            "user_id": self.user_id,
        }
        return self._emulator._user_message(self.user_id, {"contact": contact})

    def send_photo(self, content: bytes, caption: str | None = None) -> JSON:
        size = image_size(content)
        if size is None:
            raise ValueError("not a PNG/JPEG/GIF/WebP image; tests.emulator.media.tiny_png() makes one")
        stored = self._emulator.store_file(content, "photo", width=size[0], height=size[1])
        return self._emulator._user_message(
            self.user_id, {"photo": stored.as_photo(), **self._caption(caption)}
        )

    def send_document(
        self,
        filename: str,
        content: bytes,
        mime_type: str = "application/octet-stream",
        caption: str | None = None,
    ) -> JSON:
        stored = self._emulator.store_file(content, "document", file_name=filename, mime_type=mime_type)
        return self._emulator._user_message(
            self.user_id, {"document": stored.as_document(), **self._caption(caption)}
        )

    @staticmethod
    def _caption(caption: str | None) -> JSON:
        if not caption:
            return {}
        text = formatting.trim(caption, [])[0]
        fields: JSON = {"caption": text}
        entities = formatting.detect_entities(text, [])
        if entities:
            fields["caption_entities"] = entities
        return fields

    def edit(self, message_id: int, text: str) -> JSON:
        """Edit one of the user's own text messages (the bot gets an edited_message update)."""
        return self._emulator._user_edit(self.user_id, message_id, text)

    def press(self, label: str, *, message_id: int | None = None) -> CallbackQueryRecord:
        """Press the inline button labelled ``label`` on the newest bot message that has one."""
        if message_id is not None:
            stored = self._chat.messages.get(message_id)
            candidates = [stored] if stored is not None and stored.outgoing and not stored.deleted else []
        else:
            candidates = [
                self._chat.messages[mid]
                for mid in reversed(self._chat.outgoing_ids)
                if not self._chat.messages[mid].deleted
            ]
        for stored in candidates:
            button = find_button(stored.data, label)
            if button is None:
                continue
            if "callback_data" not in button:
                kind = next((key for key in button if key != "text"), "unknown")
                raise AssertionError(
                    f"button {label!r} is a {kind} button; pressing it sends the bot nothing"
                )
            return self._emulator._press(self.user_id, stored.message_id, button["callback_data"])
        where = f"message {message_id}" if message_id is not None else "any bot message"
        raise AssertionError(f"no inline button {label!r} on {where}\n{self.describe()}")

    def press_data(self, data: str, message_id: int) -> CallbackQueryRecord:
        """Send arbitrary callback data from a message, as a stale or forged client could."""
        return self._emulator._press(self.user_id, message_id, data)

    def block(self) -> None:
        self._emulator.block(self.user_id)

    def unblock(self) -> None:
        self._emulator.unblock(self.user_id)

    # --- what the user sees ---------------------------------------------------------------------

    @property
    def messages(self) -> list[JSON]:
        """The bot's messages in this chat, oldest first, as they read now."""
        return self._emulator.sent(self.chat_id)

    @property
    def last(self) -> JSON:
        messages = self.messages
        if not messages:
            raise AssertionError(f"the bot has sent nothing to chat {self.chat_id}\n{self.describe()}")
        return messages[-1]

    @property
    def unread(self) -> list[JSON]:
        """Bot messages that no wait_for_messages call has returned yet."""
        return [self._snapshot(mid) for mid in self._chat.outgoing_ids[self._cursor :]]

    @property
    def reply_keyboard(self) -> list[list[str]] | None:
        keyboard = self._chat.reply_keyboard
        if keyboard is None:
            return None
        return [[button["text"] for button in row] for row in keyboard["keyboard"]]

    @property
    def chat_actions(self) -> list[str]:
        return list(self._chat.actions)

    def is_deleted(self, message_id: int) -> bool:
        stored = self._chat.messages.get(message_id)
        return stored is not None and stored.deleted

    async def wait_for_messages(self, n: int = 1, timeout: float = 5.0) -> list[JSON]:
        """The next ``n`` bot messages not returned by an earlier call, as they read now.

        Exactly ``n`` are returned so that a fast bot cannot make a test flaky; anything beyond
        stays in ``unread`` for the next call (or for ``assert_no_new_messages``).
        """
        ids = self._chat.outgoing_ids
        if not await self._emulator._signal.wait_for(lambda: len(ids) - self._cursor >= n, timeout):
            got = len(ids) - self._cursor
            raise AssertionError(
                f"expected {n} new bot message(s) within {timeout}s, got {got}\n{self.describe()}"
            )
        taken = ids[self._cursor : self._cursor + n]
        self._cursor += n
        return [self._snapshot(mid) for mid in taken]

    async def wait_for_message(self, timeout: float = 5.0) -> JSON:
        return (await self.wait_for_messages(1, timeout))[0]

    async def wait_for_edit(self, message_id: int, timeout: float = 5.0) -> JSON:
        """Wait until the bot edits ``message_id`` beyond the edits this method already reported."""
        seen = self._seen_edits.get(message_id, 0)

        def edited() -> bool:
            stored = self._chat.messages.get(message_id)
            return stored is not None and stored.edits > seen

        if not await self._emulator._signal.wait_for(edited, timeout):
            raise AssertionError(f"message {message_id} was not edited within {timeout}s\n{self.describe()}")
        self._seen_edits[message_id] = self._chat.messages[message_id].edits
        return self._snapshot(message_id)

    async def wait_for_deletion(self, message_id: int, timeout: float = 5.0) -> None:
        if not await self._emulator._signal.wait_for(lambda: self.is_deleted(message_id), timeout):
            raise AssertionError(f"message {message_id} was not deleted within {timeout}s\n{self.describe()}")

    async def wait_for(
        self, predicate: Callable[[], bool], timeout: float = 5.0, what: str = "condition"
    ) -> None:
        """Wait for any condition over emulator state, re-checked on every change."""
        if not await self._emulator._signal.wait_for(predicate, timeout):
            raise AssertionError(f"{what} did not hold within {timeout}s\n{self.describe()}")

    async def assert_no_new_messages(self, within: float = 0.3) -> None:
        """Fail if the bot sends anything not yet consumed within ``within`` seconds."""
        ids = self._chat.outgoing_ids
        if await self._emulator._signal.wait_for(lambda: len(ids) > self._cursor, within):
            extra = [message_text(m) for m in self.unread]
            raise AssertionError(f"unexpected bot message(s): {extra}\n{self.describe()}")

    # --- diagnostics ----------------------------------------------------------------------------

    def _snapshot(self, message_id: int) -> JSON:
        return copy.deepcopy(self._chat.messages[message_id].data)

    def describe(self) -> str:
        """Everything that happened in this chat, for assertion messages."""
        emulator = self._emulator
        lines = [f"--- chat {self.chat_id} ({self.info.first_name}) ---"]
        for stored in emulator.history(self.chat_id):
            lines.append("  " + _describe_message(stored))
        if not self._chat.messages:
            lines.append("  (no messages)")
        errors = [e for e in emulator.errors if e.chat_id in (self.chat_id, None)]
        for error in errors[-10:]:
            lines.append(f"  API error: {error.method} -> {error.status} {error.description}")
        hook = emulator.webhook
        lines.append(
            f"  pending updates: {len(emulator._pending)}; bot polling now: {emulator.is_polling}; "
            f"webhook: {hook['url'] or 'none'}"
            + (f" (last error: {hook['last_error_message']})" if hook.get("last_error_message") else "")
        )
        for failure in emulator.internal_errors:
            lines.append(f"  EMULATOR BUG: {failure!r}")
        dropped = sorted({kind for update in emulator.dropped_updates for kind in update})
        if dropped:
            lines.append(f"  updates dropped by allowed_updates: {dropped}")
        return "\n".join(lines)


def _describe_message(stored: StoredMessage) -> str:
    data = stored.data
    who = "bot " if stored.outgoing else "user"
    flags = "".join(flag for flag, on in ((" [edited]", stored.edits), (" [deleted]", stored.deleted)) if on)
    body = message_text(data)
    for kind in ("photo", "document", "sticker", "voice", "location", "contact"):
        if kind in data:
            body = f"[{kind}] {body}".strip()
    labels = button_labels(data)
    buttons = f" buttons={labels}" if labels else ""
    keyboard = ""
    if stored.keyboard is not None:
        keyboard = " keyboard=" + (
            str([[b["text"] for b in row] for row in stored.keyboard["keyboard"]])
            if "keyboard" in stored.keyboard
            else str(stored.keyboard)
        )
    return f"{who} #{data['message_id']}{flags}: {body!r}{buttons}{keyboard}"
