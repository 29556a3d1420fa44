"""Files in the web chat: /export and the /stats chart arrive as one-time links for the same session."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from aiohttp import CookieJar
from aiohttp.test_utils import TestClient, TestServer
from openpyxl import load_workbook

from bot.channels import web_files
from bot.channels.web import create_web_app
from bot.clock import ManualClock
from bot.runtime import Runtime
from tests.db import conftest as db
from tests.db.talker import Talker
from tests.e2e.web_client import WebUser

# The database tests' fixtures: a runtime, and a filing accepted by an officer of 嵩明.
runtime = db.runtime
accepted = db.accepted


@pytest.fixture
async def browser(
    runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]
) -> AsyncIterator[WebUser]:
    """An administrator's web session, linked to their Telegram account (roles are granted there)."""
    await runtime.admin.grant(3001, "admin", None, by="test")
    phone = Talker(runtime, clock, "3001")
    await phone.register(name="赵管")
    code = re.search(r"绑定码：(\d{8})", await phone.text("/link"))
    assert code is not None
    app = create_web_app(
        runtime.conversations,
        runtime.database,
        runtime.clock,
        "secret",
        runtime.settings.data_dir / "uploads",
    )
    async with TestClient(TestServer(app)) as client:
        user = WebUser(client)
        await client.get("/")
        await user.post({"open": True})
        assert "绑定成功" in await user.say(f"/link {code.group(1)}")
        yield user


async def test_export_is_a_link_that_downloads_once_for_this_session_only(
    browser: WebUser, runtime: Runtime
) -> None:
    said = await browser.say("/export")
    assert said == "导出完成，共 1 条记录（不含文字内容）。"
    (reply,) = browser.replies
    file = reply["attachment"]
    assert file["kind"] == "document" and file["filename"].endswith(".xlsx")
    assert file["note"] == "链接仅可下载一次，60 分钟内有效。"
    assert re.fullmatch(r"/api/files/[A-Za-z0-9_-]{32}", file["url"])

    # Another browser (no session, or another one) gets nothing, and does not use the link up.
    async with TestClient(TestServer(browser.client.server.app), cookie_jar=CookieJar(unsafe=True)) as other:
        await other.get("/")
        response = await other.get(file["url"])
        assert response.status == 404

    response = await browser.client.get(file["url"])
    assert response.status == 200
    assert response.headers["Content-Disposition"].startswith("attachment; filename*=UTF-8''rongcuo-export-")
    body = await response.read()
    assert len(body) == file["size"]
    book = load_workbook(io.BytesIO(body))
    assert [r[0] for r in book["报备事项"].iter_rows(values_only=True)] == ["报备编号", "嵩明-2026-0001"]

    again = await browser.client.get(file["url"])
    assert again.status == 404
    assert (
        await again.text() == "该文件链接已失效（每个链接只能下载一次，1 小时内有效）。请在聊天中重新导出。"
    )
    exports = runtime.settings.data_dir / "exports"
    assert list(exports.iterdir()) == []  # served and deleted


async def test_stats_chart_is_shown_inline(browser: WebUser) -> None:
    await browser.say("/stats")
    text, chart = browser.replies
    assert "attachment" not in text and chart["attachment"]["kind"] == "photo"
    response = await browser.client.get(chart["attachment"]["url"])
    assert response.status == 200 and response.content_type == "image/png"
    assert response.headers["Content-Disposition"].startswith("inline;")
    assert (await response.read()).startswith(b"\x89PNG\r\n\x1a\n")


async def test_expired_links_are_refused_and_swept(
    browser: WebUser, clock: ManualClock, runtime: Runtime
) -> None:
    await browser.say("/export csv")
    url = browser.replies[0]["attachment"]["url"]
    assert browser.replies[0]["attachment"]["filename"].endswith(".zip")
    clock.advance(timedelta(minutes=61))
    response = await browser.client.get(url)
    assert response.status == 404
    assert list((runtime.settings.data_dir / "exports").iterdir()) == []


def test_bad_tokens_are_not_paths(tmp_path: Path) -> None:
    (tmp_path / "secret.json").write_text('{"session": "s", "expires": "2999-01-01T00:00:00+00:00"}')
    assert web_files.claim(tmp_path, "../secret", "s", datetime.now(UTC)) is None
    assert web_files.claim(tmp_path, "secret", "s", datetime.now(UTC)) is None  # too short to be ours
