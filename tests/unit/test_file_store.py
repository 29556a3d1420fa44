"""Reading back what users sent: web uploads from disk (never outside the upload folder),
Telegram files through the bot once the channel has started."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.services.files import FileStore, FileUnavailable


async def test_web_uploads_are_read_from_the_upload_folder_only(tmp_path: Path) -> None:
    uploads = tmp_path / "uploads"
    (uploads / "2026" / "11").mkdir(parents=True)
    (uploads / "2026" / "11" / "a.yaml").write_bytes(b"cities: []\n")
    (tmp_path / "secret.key").write_text("do not read")
    store = FileStore(uploads)
    assert await store.read("web:2026/11/a.yaml", max_bytes=100) == b"cities: []\n"
    for file_id in ("web:../secret.key", "web:2026/11/missing.yaml", "web:/etc/passwd"):
        with pytest.raises(FileUnavailable):
            await store.read(file_id, max_bytes=100)
    with pytest.raises(FileUnavailable, match="larger than 5 bytes"):
        await store.read("web:2026/11/a.yaml", max_bytes=5)


async def test_telegram_files_need_the_running_channel(tmp_path: Path) -> None:
    store = FileStore(tmp_path)
    with pytest.raises(FileUnavailable, match="not running"):
        await store.read("AgADBAAD", max_bytes=100)

    async def fetch(file_id: str) -> bytes:
        if file_id == "gone":
            raise RuntimeError("Bad Request: wrong file_id")
        return b"data of " + file_id.encode()

    store.telegram = fetch
    assert await store.read("AgADBAAD", max_bytes=100) == b"data of AgADBAAD"
    with pytest.raises(FileUnavailable, match="wrong file_id"):
        await store.read("gone", max_bytes=100)
