"""The web chat in a real browser on a phone screen: Playwright driving Debian's chromium.

The whole program's HTTP face runs as in production (build_runtime + create_web_app on a TCP
port, a temporary SQLite database); only the clock is fixed, so dates in the answers are stable.
Screenshots go to tests/browser/screenshots/ (gitignored) so a person can look at the layout.
"""

from __future__ import annotations

import json
import os
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from aiohttp import web

from bot.channels.web import create_web_app
from bot.channels.web_security import WebSecurity
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from dialogs.policy.pack import load_pack
from tests.databases import migrated_sqlite
from tests.db.talker import DESCRIPTIONS

CHROMIUM = Path("/usr/bin/chromium")
SHOTS = Path(__file__).parent / "screenshots"
UNIT = "530127002"  # 杨桥街道办事处, 嵩明县
PHONE = {
    "viewport": {"width": 360, "height": 740},
    "device_scale_factor": 2,
    "is_mobile": True,
    "has_touch": True,
    "locale": "zh-CN",
    # Smooth scrolling would catch screenshots mid-scroll; chat.js honours this preference.
    "reduced_motion": "reduce",
}
# Generous for a 2-core machine shared with other test runs; every wait is for text, not time.
WAIT_MS = 20_000

try:
    from playwright.async_api import Locator, Page, Route, async_playwright
except ImportError:  # pragma: no cover - the dev extra installs it
    async_playwright = None  # type: ignore[assignment]


def _unavailable() -> str | None:
    if async_playwright is None:
        return "playwright is not installed (pip install -e '.[dev]')"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install chromium)"
    return None


REASON = _unavailable()
if REASON and os.environ.get("CI") == "true":
    # In CI the browser test must run: a silent skip would hide a broken page.
    raise RuntimeError(f"CI=true requires the browser test: {REASON}")
pytestmark = pytest.mark.skipif(REASON is not None, reason=REASON or "")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class Server:
    url: str
    runtime: Runtime


@pytest.fixture
async def server(tmp_path: Path, clock: ManualClock) -> AsyncIterator[Server]:
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    settings = load_settings(
        database_url=await migrated_sqlite(tmp_path),
        data_dir=tmp_path / "data",
        public_url=url,
        web_open_registration=False,  # only the invitation lets the person in
    )
    runtime = await build_runtime(settings, clock)
    app = create_web_app(
        runtime.conversations,
        runtime.database,
        runtime.clock,
        "browser-test-secret",
        settings.data_dir / "uploads",
        security=WebSecurity.from_settings(settings),
        invitations=runtime.invitations,
    )
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield Server(url, runtime)
    finally:
        await runner.cleanup()
        await runtime.database.dispose()


@pytest.fixture
async def page() -> AsyncIterator[Page]:
    async with async_playwright() as playwright:
        # --no-sandbox: the test machines run as root, where chromium's sandbox refuses to start.
        browser = await playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        context = await browser.new_context(**PHONE)
        context.set_default_timeout(WAIT_MS)
        tab = await context.new_page()
        errors: list[str] = []
        tab.on("pageerror", lambda error: errors.append(str(error)))
        try:
            yield tab
        finally:
            await browser.close()
        assert errors == [], f"JavaScript errors on the page: {errors}"


class Chat:
    """What a person does on the page, each step waiting until the server's answer is shown."""

    def __init__(self, page: Page, shots: Path) -> None:
        self.page = page
        self.shots = shots
        self.bot = page.get_by_test_id("bot-msg")

    async def settled(self) -> None:
        # Nothing pending and no typing bubble: the queue in chat.js has delivered everything.
        await self.page.wait_for_function(
            "() => !document.querySelector('.user-bubble.pending, .typing')", timeout=WAIT_MS
        )

    async def _after(self, act: object) -> str:
        before = await self.bot.count()
        await act  # type: ignore[misc]
        await self.settled()
        texts = await self.bot.all_inner_texts()
        # A press that edits its message (a checkbox) adds nothing: the edited message is the answer.
        return "\n".join(texts[before:] or texts[-1:])

    async def say(self, text: str) -> str:
        async def act() -> None:
            await self.page.get_by_test_id("input").fill(text)
            await self.page.get_by_test_id("send").tap()

        return await self._after(act())

    def button(self, label: str) -> Locator:
        exact = re.compile(rf"^\s*{re.escape(label)}\s*$")
        return self.page.locator("[data-testid=reply-button]:enabled").filter(has_text=exact).last

    async def press(self, label: str) -> str:
        return await self._after(self.button(label).tap())

    async def menu(self, command: str) -> str:
        async def act() -> None:
            await self.page.get_by_test_id("menu").tap()
            await self.page.get_by_test_id("menu-item").filter(has_text=command).first.tap()

        return await self._after(act())

    async def upload(self, name: str, content: bytes, mime: str) -> str:
        files = {"name": name, "mimeType": mime, "buffer": content}
        return await self._after(self.page.get_by_test_id("file-input").set_input_files(files))

    async def shot(self, name: str) -> None:
        self.shots.mkdir(parents=True, exist_ok=True)
        await self.page.screenshot(path=str(self.shots / f"{name}.png"))

    async def no_sideways_scroll(self) -> None:
        await self.no_sideways_scroll_at(360)

    async def no_sideways_scroll_at(self, screen: int) -> None:
        # The classic 360 px failure: something wider than the screen makes the whole page pan.
        width = await self.page.evaluate("() => document.documentElement.scrollWidth")
        assert width <= screen, f"the page is {width}px wide on a {screen}px screen"


async def test_invitation_selfcheck_and_filing_on_a_phone(server: Server, page: Page) -> None:
    chat = Chat(page, SHOTS)
    runtime = server.runtime
    assert runtime.invitations is not None
    created = await runtime.invitations.create("张三", UNIT, None, None, by="cli")
    assert created.link.startswith(server.url + "/invite/")

    # Without the invitation the page is closed to strangers.
    await page.goto(server.url + "/")
    await page.get_by_test_id("bot-msg").first.wait_for()
    await chat.settled()
    assert "邀请" in "\n".join(await chat.bot.all_inner_texts())

    # The invitation link signs in; only the position is left to ask.
    await page.goto(created.link)
    assert page.url == server.url + "/"
    await page.get_by_text("职务").first.wait_for()
    await chat.settled()
    await chat.shot("01-invited")
    said = await chat.say("科员")
    assert "注册完成" in said and "张三" in said and "杨桥街道办事处" in said
    await chat.no_sideways_scroll()
    await chat.shot("02-registered")

    # The command menu holds the cadre's commands, not the admin's.
    await page.get_by_test_id("menu").tap()
    items = await page.get_by_test_id("menu-item").all_inner_texts()
    assert any("/selfcheck" in item for item in items) and any("/new" in item for item in items)
    assert not any("/invite" in item or "/grant" in item for item in items)
    await chat.shot("03-menu")
    await page.get_by_test_id("menu").tap()

    # Self-check: answer every question ("unsure" where offered) until the result comes.
    pack = load_pack("yunnan")
    said = await chat.menu("/selfcheck")
    assert "第 1/" in said
    await chat.shot("04-selfcheck-question")
    for _ in range(len(pack.questions)):
        if "容错自查结果" in said:
            break
        question = next(q for q in pack.questions if q.text["zh_CN"] in said)
        choice = next((c for c in question.choices if c.value == "unsure"), question.choices[0])
        said = await chat.press(choice.label["zh_CN"])
    assert "容错自查结果" in said and "由纪委监委依规依纪依法认定" in said
    await chat.no_sideways_scroll()
    await chat.shot("05-selfcheck-result")
    assert "自查结果已保存" in await chat.press("💾 保存结果")

    # A pre-filing, with the meeting minutes uploaded from the phone.
    said = await chat.say("/new")
    await chat.shot("06-new")
    said = await chat.press("个人报备")

    # The server is unreachable for a moment: the banner shows, and the answer is sent again.
    await page.route("**/api/chat", lambda route: route.abort())
    await page.get_by_test_id("input").fill("杨桥片区批而未供土地盘活项目")
    await page.get_by_test_id("send").tap()
    banner = page.get_by_test_id("offline-banner")
    await banner.wait_for()
    assert "无法连接服务器" in await banner.inner_text()
    await chat.shot("07-offline")
    await page.unroute("**/api/chat")
    await banner.wait_for(state="detached")
    await chat.settled()
    assert await page.get_by_test_id("user-msg").filter(has_text="杨桥片区批而未供土地盘活项目").count() == 1
    assert "报备事项的类别" in (await chat.bot.all_inner_texts())[-1]
    await chat.button("K1 推进项目建设").wait_for()

    # Too fast for the rate limit once: the page waits as the server asks and sends the press again.
    limited: list[str] = []

    async def too_fast_once(route: Route) -> None:
        if limited:
            await route.continue_()
            return
        limited.append(route.request.url)
        await route.fulfill(
            status=429,
            headers={"Retry-After": "1"},
            content_type="application/json",
            body=json.dumps({"error": "操作太频繁了，请 1 秒后再试。"}, ensure_ascii=False),
        )

    await page.route("**/api/chat", too_fast_once)
    said = await chat.press("K1 推进项目建设")
    await page.unroute("**/api/chat")
    assert len(limited) == 1
    assert "容错情形" in said and "操作太频繁" not in await page.inner_text("body")

    await chat.press("✅ 选好了（已选 2 项）")
    for name in ("background", "planned_action", "rule_at_risk", "necessity"):
        await chat.say(DESCRIPTIONS[name])
    await chat.press("已集体研究")
    await chat.say("街道党工委会议")
    said = await chat.say("2026-11-20")
    assert "请上传会议纪要" in said
    said = await chat.upload("会议纪要.pdf", b"%PDF-1.4\n" + b"x" * 30_000, "application/pdf")
    assert "已收到：会议纪要.pdf（共 1 个）" in said
    await chat.shot("08-uploaded")
    await chat.press("✅ 完成（1 个附件）")
    await chat.say(DESCRIPTIONS["risks"])
    await chat.say(DESCRIPTIONS["controls"])
    await chat.press("不存在利益关联")
    await chat.say("12月1日")
    await chat.say("2027-03-31")
    await chat.press("跳过")
    await chat.say("无")
    await chat.press("跳过")
    summary = await chat.press("✍ 我承诺")
    assert "【会议纪要】会议纪要.pdf" in summary
    await chat.shot("09-summary")
    receipt = await chat.press("✅ 确认无误，提交报备")
    assert "报备编号：嵩明-2026-0001" in receipt
    await chat.no_sideways_scroll()
    await chat.shot("10-receipt")

    # Buttons are big enough for a thumb, and the composer fits the screen.
    for test_id in ("menu", "attach", "send", "input"):
        box = await page.get_by_test_id(test_id).bounding_box()
        assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 360, test_id
        assert box["height"] >= 36, f"{test_id} is {box['height']}px tall"

    # The same conversation on a desktop screen: one centred column.
    await page.set_viewport_size({"width": 1280, "height": 800})
    await chat.no_sideways_scroll_at(1280)
    await chat.shot("11-desktop")
