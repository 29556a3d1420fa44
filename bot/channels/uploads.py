"""Files uploaded through the web chat: kept under the data directory, checked by size and content."""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

MAX_BYTES = 20 * 1024 * 1024  # the same limit the dialogs apply to Telegram files
CHUNK = 64 * 1024

_OLE = b"\xd0\xcf\x11\xe0"
_ZIP = b"PK\x03\x04"


@dataclass(frozen=True, slots=True)
class Kind:
    mime: str
    extension: str
    magic: tuple[bytes, ...]  # the file must start with one of these (empty: any text)
    attachment_kind: str  # "photo" or "document", as the dialogs know them


KINDS = (
    Kind("application/pdf", ".pdf", (b"%PDF",), "document"),
    Kind("image/jpeg", ".jpg", (b"\xff\xd8\xff",), "photo"),
    Kind("image/png", ".png", (b"\x89PNG\r\n\x1a\n",), "photo"),
    Kind("image/gif", ".gif", (b"GIF87a", b"GIF89a"), "photo"),
    Kind("image/webp", ".webp", (b"RIFF",), "photo"),
    Kind("application/msword", ".doc", (_OLE,), "document"),
    Kind("application/vnd.ms-excel", ".xls", (_OLE,), "document"),
    Kind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        ".docx",
        (_ZIP,),
        "document",
    ),
    Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx", (_ZIP,), "document"),
    Kind("application/zip", ".zip", (_ZIP,), "document"),
    Kind("text/plain", ".txt", (), "document"),
    # The organisation directory an administrator imports (/import); checked as UTF-8 text.
    Kind("application/yaml", ".yaml", (), "document"),
    Kind("application/x-yaml", ".yml", (), "document"),
)
_BY_MIME = {k.mime: k for k in KINDS}
_BY_EXTENSION = {k.extension: k for k in KINDS} | {".jpeg": _BY_MIME["image/jpeg"]}


def kind_for(filename: str, declared: str | None) -> Kind | None:
    """Trust the declared type when we know it, else the extension (browsers send octet-stream for .docx)."""
    if declared in _BY_MIME:
        return _BY_MIME[declared]
    return _BY_EXTENSION.get(PurePosixPath(filename.lower()).suffix)


def content_matches(kind: Kind, head: bytes) -> bool:
    if not kind.magic:
        try:
            head.decode("utf-8")
        except UnicodeDecodeError as exc:
            # A multi-byte character cut by the sniff window is fine; anything else is binary.
            return exc.start >= len(head) - 3
        return True
    return any(head.startswith(m) for m in kind.magic)


def clean_name(filename: str) -> str:
    # Browsers send UTF-8 names as they are; some clients percent-encode them (RFC 7578 allows both).
    if re.search(r"%[0-9A-Fa-f]{2}", filename):
        filename = unquote(filename)
    name = PurePosixPath(filename.replace("\\", "/")).name.strip() or "附件"
    return name[-100:]


def new_path(root: Path, kind: Kind, now: datetime) -> tuple[Path, str]:
    """Where to store an upload, and the file id the dialogs keep for it (`web:` + relative path)."""
    relative = PurePosixPath(f"{now:%Y}", f"{now:%m}", uuid.uuid4().hex + kind.extension)
    return root / relative, f"web:{relative}"
