"""Files the bot sends to a web-chat user (an export, a chart): kept on disk under a random token
until that same browser session downloads them once, or until they expire.

Each file is `<dir>/<token>` with its description in `<token>.json`; both live on disk rather than
in memory so that a restart, or another process serving the next request, still finds them.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from dialogs.replies import OutgoingFile

TTL = timedelta(hours=1)
_TOKEN = re.compile(r"^[A-Za-z0-9_-]{20,64}$")


@dataclass(frozen=True, slots=True)
class Stored:
    path: Path
    filename: str
    mime: str
    kind: str


def store(folder: Path, session_id: str, file: OutgoingFile, now: datetime) -> str:
    """Write the file and return its token; sweeps what expired on the way."""
    folder.mkdir(parents=True, exist_ok=True)
    sweep(folder, now)
    token = secrets.token_urlsafe(24)
    (folder / token).write_bytes(file.content)
    meta = {
        "session": session_id,
        "filename": file.filename,
        "mime": file.mime,
        "kind": file.kind,
        "expires": (now + TTL).isoformat(),
    }
    # The description last: a file without one is never served, so a crash in between is harmless.
    (folder / f"{token}.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
    return token


def claim(folder: Path, token: str, session_id: str | None, now: datetime) -> Stored | None:
    """The file for this session, taken so that no second request gets it; None if it is not
    there, expired, or belongs to another session (which is not told apart, so nothing leaks)."""
    if not _TOKEN.match(token) or session_id is None:
        return None
    meta_path = folder / f"{token}.json"
    try:
        meta = json.loads(meta_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not secrets.compare_digest(str(meta.get("session", "")), session_id):
        return None
    if datetime.fromisoformat(meta["expires"]) <= now:
        _remove(folder, token)
        return None
    taken = folder / f"{token}.taken"
    try:
        # rename is atomic: of two requests racing for the same link, exactly one wins.
        os.rename(folder / token, taken)
    except OSError:
        return None
    meta_path.unlink(missing_ok=True)
    return Stored(taken, str(meta["filename"]), str(meta["mime"]), str(meta["kind"]))


def sweep(folder: Path, now: datetime) -> None:
    for meta_path in folder.glob("*.json"):
        try:
            expires = datetime.fromisoformat(json.loads(meta_path.read_text(encoding="utf-8"))["expires"])
        except (OSError, ValueError, KeyError):
            continue
        if expires <= now:
            _remove(folder, meta_path.stem)
    for taken in folder.glob("*.taken"):
        # Served files are deleted after sending; one left behind by a crash goes after a TTL.
        try:
            if taken.stat().st_mtime < (now - TTL).timestamp():
                taken.unlink(missing_ok=True)
        except OSError:
            continue


def _remove(folder: Path, token: str) -> None:
    for suffix in ("", ".json", ".taken"):
        (folder / f"{token}{suffix}").unlink(missing_ok=True)
