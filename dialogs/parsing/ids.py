"""Record ids as people type them in commands (`/filing 12`, `#7`, `sc3`)."""

from __future__ import annotations

# Ids are 32-bit integer columns on PostgreSQL; a larger number cannot name a record (and SQLite
# or asyncpg would fail on it rather than find nothing).
MAX_ID = 2**31 - 1
# A Chinese input method in full-width mode types ０-９: those are meant as digits.
_FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def record_id(text: str) -> int | None:
    """The id in `text`, or None when it is not one.

    ASCII digits (and full-width ones): str.isdigit() also accepts '²' or '٣', which int()
    refuses or misreads.
    """
    text = text.translate(_FULL_WIDTH)
    if not text or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if 0 < value <= MAX_ID else None
