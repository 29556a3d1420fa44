"""A document sent with `/import` as its caption is that command, carrying the file; other captions
leave the document a document (a cadre's evidence with a note stays evidence)."""

from __future__ import annotations

from datetime import UTC, datetime

from telegram import Chat, Document, Message

from bot.channels.telegram import to_event
from bot.clock import ManualClock
from dialogs.events import Attachment, Command

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


def _message(caption: str | None) -> Message:
    document = Document(
        "file-1", "unique-1", file_name="名录.xlsx", mime_type="application/zip", file_size=900
    )
    return Message(1, NOW, Chat(42, Chat.PRIVATE), document=document, caption=caption)


def test_import_caption_becomes_the_command_with_its_file() -> None:
    event = to_event(_message("/import"), ManualClock(NOW))
    assert isinstance(event, Command) and event.name == "import" and event.args == ""
    assert event.attachment == Attachment(NOW, "document", "file-1", "名录.xlsx", "application/zip", 900)
    bot_addressed = to_event(_message("/import@rongcuo_bot"), ManualClock(NOW))
    assert isinstance(bot_addressed, Command) and bot_addressed.attachment is not None


def test_other_captions_leave_a_document() -> None:
    for caption in (None, "会议纪要", "/help", "/cancel"):
        event = to_event(_message(caption), ManualClock(NOW))
        assert isinstance(event, Attachment) and event.file_id == "file-1", caption
