"""Events coming in from any channel; the time arrives with the event so the engine never reads a clock."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Event:
    at: datetime


@dataclass(frozen=True, slots=True)
class Text(Event):
    text: str


@dataclass(frozen=True, slots=True)
class Command(Event):
    name: str
    args: str = ""
    # The document this command was the caption of (`/import` sent with its file).
    attachment: Attachment | None = None


@dataclass(frozen=True, slots=True)
class Press(Event):
    """A button press; `action` is the opaque string the button carried."""

    action: str


@dataclass(frozen=True, slots=True)
class Attachment(Event):
    kind: str  # "document" | "photo"
    file_id: str
    file_name: str | None = None
    mime_type: str | None = None
    size: int | None = None


@dataclass(frozen=True, slots=True)
class Unsupported(Event):
    kind: str  # "sticker" | "voice" | "location" | "video" | ...


@dataclass(frozen=True, slots=True)
class Open(Event):
    """The user opened the chat (web page load): show where they are without starting anything new."""


# Commands that take the document they are the caption of; any other caption is ignored.
FILE_COMMANDS = frozenset({"import"})


def parse_document(attachment: Attachment, caption: str | None) -> Event:
    """A document, or the command its caption names when that command takes a file."""
    captioned = parse_text(attachment.at, caption or "")
    if isinstance(captioned, Command) and captioned.name in FILE_COMMANDS:
        return Command(attachment.at, captioned.name, captioned.args, attachment)
    return attachment


def parse_text(at: datetime, raw: str) -> Event:
    """Split `/cmd@botname args` into a Command; anything else is Text."""
    stripped = raw.strip()
    if stripped.startswith("/") and len(stripped) > 1:
        head, _, args = stripped[1:].partition(" ")
        name = head.split("@", 1)[0].lower()
        if name.isascii() and name.replace("_", "").isalnum():
            return Command(at=at, name=name, args=args.strip())
    return Text(at=at, text=raw)
