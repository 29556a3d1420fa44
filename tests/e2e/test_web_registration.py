"""Registration through the web channel's JSON API, with the real aiohttp app and a real database."""

from __future__ import annotations

import pytest
from aiohttp.test_utils import TestClient, TestServer

from bot.channels.web import COOKIE, create_web_app
from bot.runtime import Runtime
from storage.uow import UnitOfWork
from tests.e2e.web_client import WebUser, arm


async def test_page_sets_a_signed_http_only_session_cookie(client: TestClient) -> None:
    response = await client.get("/")
    assert response.status == 200
    body = await response.text()
    assert 'lang="zh-CN"' in body and "/static/chat.js" in body
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"
    assert (await client.get("/static/chat.js")).status == 200
    assert (await client.get("/static/secret.py")).status == 404


async def test_register_through_the_json_api(client: TestClient, runtime: Runtime) -> None:
    user = WebUser(client)
    await client.get("/")
    said = await user.post({"open": True})
    assert "容错纠错助手" in said and "请输入您的姓名" in said
    assert [c["command"] for c in user.commands] == ["start", "help", "cancel", "link", "lang"]
    await user.say("王五")
    await user.press("昆明市")
    await user.press("安宁市")
    await user.press("连然街道办事处")
    said = await user.say("党工委书记")
    assert "注册完成" in said and "昆明市 / 安宁市 / 连然街道办事处" in said
    assert "me" in [c["command"] for c in user.commands]
    async with UnitOfWork(runtime.database) as uow:
        lines = await uow.users.list_with_roles()
    assert [(u.name, u.unit_code, u.position) for u, _ in lines] == [("王五", "530181001", "党工委书记")]


async def test_a_forged_cookie_starts_a_new_session_instead_of_taking_over(client: TestClient) -> None:
    user = WebUser(client)
    await client.get("/")
    await user.post({"open": True})
    await user.say("王五")
    client.session.cookie_jar.clear()
    client.session.cookie_jar.update_cookies({COOKIE: "someone-else.forgedsignature"})
    refused = await client.post("/api/chat", json={"open": True})
    assert refused.status == 403 and "请刷新页面" in (await refused.json())["error"]
    await arm(client)  # reloading the page
    said = await user.post({"open": True})
    assert "请输入您的姓名" in said and "继续注册" not in said


@pytest.mark.parametrize(
    ("body", "status", "fragment"),
    [
        (b"not json", 400, "必须是 JSON"),
        (b"[1, 2]", 400, "需要 text"),
        (b'{"text": "   "}', 400, "消息是空的"),
        (b'{"action": 5}', 400, "按钮数据无效"),
        (b'{"text": "' + "长".encode() * 5000 + b'"}', 400, "消息太长了（5000 个字）"),
        (b'{"text": "' + b"x" * 70_000 + b'"}', 413, "请求内容太大"),
    ],
)
async def test_bad_requests_get_a_clear_chinese_error(
    client: TestClient, body: bytes, status: int, fragment: str
) -> None:
    await arm(client)
    response = await client.post("/api/chat", data=body, headers={"Content-Type": "application/json"})
    assert response.status == status
    assert fragment in (await response.json())["error"]


async def test_healthz_reports_the_database(client: TestClient, runtime: Runtime) -> None:
    response = await client.get("/healthz")
    assert response.status == 200 and (await response.json())["database"] is True


async def test_healthz_is_503_when_the_database_is_unreachable(runtime: Runtime) -> None:
    from storage.database import Database

    nowhere = Database("postgresql://postgres@127.0.0.1:9/nowhere")
    app = create_web_app(
        runtime.conversations, nowhere, runtime.clock, "test-secret", runtime.settings.data_dir / "uploads"
    )
    async with TestClient(TestServer(app)) as test_client:
        response = await test_client.get("/healthz")
        assert response.status == 503 and (await response.json())["database"] is False
    await nowhere.dispose()


async def test_a_traditional_chinese_browser_gets_traditional_chinese(client: TestClient) -> None:
    await arm(client)
    response = await client.post(
        "/api/chat", json={"open": True}, headers={"Accept-Language": "zh-TW,zh;q=0.9,en;q=0.8"}
    )
    said = "\n".join(r["text"] for r in (await response.json())["replies"])
    assert "容錯糾錯助手" in said and "請輸入您的姓名" in said


async def test_an_english_browser_still_gets_simplified_chinese(client: TestClient) -> None:
    await arm(client)
    response = await client.post("/api/chat", json={"open": True}, headers={"Accept-Language": "en-US,en"})
    said = "\n".join(r["text"] for r in (await response.json())["replies"])
    assert "请输入您的姓名" in said
