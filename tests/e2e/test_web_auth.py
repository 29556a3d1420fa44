"""Invitations, CSRF, rate and size limits, the bridge API and the OpenAPI document, through the real
aiohttp app and a real database (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp.test_utils import TestClient, TestServer
from sqlalchemy import select

from bot.channels import openapi
from bot.channels.web import COOKIE, create_web_app
from bot.channels.web_security import CSRF_HEADER, WebSecurity
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from storage.models import AuditEntry, Invitation, User, UserRole
from storage.uow import UnitOfWork
from tests.db.talker import Talker
from tests.e2e.web_client import WebUser, arm

TOKEN = "wecom-token-0123456789abcdef"
UNIT = "530127002"  # 杨桥街道办事处, 嵩明县


class FakeSeconds:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
async def runtime(database_url: str, tmp_path: Path, clock: ManualClock) -> AsyncIterator[Runtime]:
    settings = load_settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        public_url="https://rongcuo.example.gov.cn/",
        invite_hours=72,
        api_tokens=f"wecom:{TOKEN}",
        rate_session="5/10",
        rate_ip="8/60",
    )
    rt = await build_runtime(settings, clock)
    yield rt
    await rt.database.dispose()


@pytest.fixture
def seconds() -> FakeSeconds:
    return FakeSeconds()


def make_app(runtime: Runtime, seconds: FakeSeconds, **overrides: object) -> TestServer:
    security = WebSecurity.from_settings(runtime.settings.model_copy(update=overrides))
    security = WebSecurity(**{**{f: getattr(security, f) for f in security.__slots__}, "seconds": seconds})
    app = create_web_app(
        runtime.conversations,
        runtime.database,
        runtime.clock,
        "test-secret",
        runtime.settings.data_dir / "uploads",
        security=security,
        invitations=runtime.invitations,
    )
    return TestServer(app)


@pytest.fixture
async def client(runtime: Runtime, seconds: FakeSeconds) -> AsyncIterator[TestClient]:
    async with TestClient(make_app(runtime, seconds)) as test_client:
        yield test_client


async def invite(runtime: Runtime, role: str | None = None, jurisdiction: str | None = None) -> str:
    assert runtime.invitations is not None
    created = await runtime.invitations.create("张三", UNIT, role, jurisdiction, by="cli")
    assert created.link.startswith("https://rongcuo.example.gov.cn/invite/")
    return created.link.removeprefix("https://rongcuo.example.gov.cn")


# ---- invitations -------------------------------------------------------------------------------


async def test_an_invitation_signs_in_and_only_the_position_is_asked(
    client: TestClient, runtime: Runtime
) -> None:
    path = await invite(runtime, "officer", "530127")
    response = await client.get(path, allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/"
    cookie = response.cookies[COOKIE]
    assert cookie["httponly"] and cookie["samesite"] == "Strict"

    user = WebUser(client)
    said = await user.post({"open": True})
    assert "职务" in said and "请输入您的姓名" not in said
    said = await user.say("科员")
    assert "注册完成" in said and "张三" in said and "杨桥街道办事处" in said
    async with UnitOfWork(runtime.database) as uow:
        person = (await uow.session.execute(select(User).where(User.name == "张三"))).scalar_one()
        assert (person.unit_code, person.position) == (UNIT, "科员") and person.registered_at
        roles = (await uow.session.execute(select(UserRole).where(UserRole.user_id == person.id))).scalars()
        assert [(r.role, r.jurisdiction_code, r.granted_by) for r in roles] == [("officer", "530127", "cli")]
        actions = (await uow.session.execute(select(AuditEntry.action))).scalars().all()
        assert {"invitation.created", "invitation.used", "role.granted", "user.registered"} <= set(actions)
        stored = (await uow.session.execute(select(Invitation))).scalar_one()
        assert stored.used_by_user_id == person.id and path.rsplit("/", 1)[1] not in stored.token_hash


async def test_a_used_an_expired_and_an_unknown_link_get_clear_pages(
    client: TestClient, runtime: Runtime, clock: ManualClock
) -> None:
    used = await invite(runtime)
    assert (await client.get(used, allow_redirects=False)).status == 303
    again = await client.get(used, allow_redirects=False)
    assert again.status == 410 and "已经使用过" in await again.text()
    assert COOKIE not in again.cookies

    expiring = await invite(runtime)
    clock.advance(timedelta(hours=72, seconds=1))
    late = await client.get(expiring, allow_redirects=False)
    assert late.status == 410 and "已过期" in await late.text()

    unknown = await client.get("/invite/" + "x" * 32, allow_redirects=False)
    assert unknown.status == 404 and "邀请链接无效" in await unknown.text()


async def test_invitations_are_checked_before_they_are_made(runtime: Runtime) -> None:
    from bot.services.admin import AdminError

    assert runtime.invitations is not None
    with pytest.raises(AdminError) as county:
        await runtime.invitations.create("张三", "530127", None, None, by="cli")
    assert county.value.key == "inv.bad_unit"
    with pytest.raises(AdminError) as officer:
        await runtime.invitations.create("张三", UNIT, "officer", None, by="cli")
    assert officer.value.key == "inv.bad_county"


async def test_an_admin_invites_in_the_chat_and_a_cadre_is_refused(
    runtime: Runtime, clock: ManualClock
) -> None:
    admin, cadre = Talker(runtime, clock, "501"), Talker(runtime, clock, "502")
    await admin.register("李管理")
    await cadre.register("王干部")
    await runtime.admin.grant(501, "admin", None, by="cli")
    said = await admin.text("/invite 张三 530127002")
    assert "已为 张三（昆明市 / 嵩明县 / 杨桥街道办事处）生成邀请链接" in said
    assert "https://rongcuo.example.gov.cn/invite/" in said and "2026-11-26 09:30" in said
    assert "用法" in await admin.text("/invite 张三")
    assert "不是组织名录中的单位代码" in await admin.text("/invite 张三 530127")
    assert "没有使用 /invite 的权限" in await cadre.text("/invite 张三 530127002")


# ---- CSRF --------------------------------------------------------------------------------------


async def test_posts_without_the_right_csrf_token_are_refused(client: TestClient) -> None:
    page = await (await client.get("/")).text()
    token = client.session.cookie_jar.filter_cookies(client.make_url("/"))["rongcuo_csrf"].value
    assert f'name="csrf-token" content="{token}"' in page
    missing = await client.post("/api/chat", json={"open": True})
    assert missing.status == 403 and "请刷新页面" in (await missing.json())["error"]
    wrong = await client.post("/api/chat", json={"open": True}, headers={CSRF_HEADER: token[:-2] + "xx"})
    assert wrong.status == 403
    upload = await client.post("/api/upload", data=b"x", headers={CSRF_HEADER: "nope"})
    assert upload.status == 403
    right = await client.post("/api/chat", json={"open": True}, headers={CSRF_HEADER: token})
    assert right.status == 200


# ---- limits ------------------------------------------------------------------------------------


async def test_a_session_over_its_rate_waits_then_recovers(client: TestClient, seconds: FakeSeconds) -> None:
    await arm(client)
    for _ in range(5):
        assert (await client.post("/api/chat", json={"text": "/help"})).status == 200
    limited = await client.post("/api/chat", json={"text": "/help"})
    # 5 per 10 s: one request's worth comes back after 2 s.
    assert limited.status == 429 and limited.headers["Retry-After"] == "2"
    assert "请 2 秒后再试" in (await limited.json())["error"]
    seconds.now += 2
    assert (await client.post("/api/chat", json={"text": "/help"})).status == 200


async def test_one_ip_is_limited_across_sessions_and_forwarded_for_needs_a_trusted_proxy(
    runtime: Runtime, seconds: FakeSeconds
) -> None:
    async with TestClient(make_app(runtime, seconds, trusted_proxies="")) as client:
        statuses = []
        for _ in range(9):
            client.session.cookie_jar.clear()  # a new session each time: only the IP limit applies
            statuses.append((await client.get("/api/openapi.json")).status)
        assert statuses == [200] * 8 + [429]
        # Not a trusted proxy: a made-up X-Forwarded-For does not buy a fresh bucket.
        spoofed = await client.get("/api/openapi.json", headers={"X-Forwarded-For": "10.9.9.9"})
        assert spoofed.status == 429
    async with TestClient(make_app(runtime, seconds, trusted_proxies="127.0.0.1")) as proxied:
        for n in range(8):
            forwarded = {"X-Forwarded-For": f"10.0.0.{n}"}
            assert (await proxied.get("/api/openapi.json", headers=forwarded)).status == 200


async def test_oversized_and_malformed_bodies_get_clear_errors(client: TestClient) -> None:
    await arm(client)
    big = await client.post("/api/chat", data=b'{"text": "' + b"x" * 70_000 + b'"}')
    assert big.status == 413 and "请求内容太大" in (await big.json())["error"]
    bad = await client.post("/api/chat", data=b"{oops", headers={"Content-Type": "application/json"})
    assert bad.status == 400 and "必须是 JSON" in (await bad.json())["error"]
    auth = {"Authorization": f"Bearer {TOKEN}"}
    bridged = await client.post("/api/bridge/message", data=b"x" * 70_000, headers=auth)
    assert bridged.status == 413 and "请求内容太大" in (await bridged.json())["error"]
    broken = await client.post("/api/bridge/message", data=b"{oops", headers=auth)
    assert broken.status == 400 and "必须是 JSON" in (await broken.json())["error"]


# ---- bridge ------------------------------------------------------------------------------------


async def test_the_bridge_needs_its_token_and_drives_the_same_dialogs(
    client: TestClient, runtime: Runtime
) -> None:
    body = {"platform": "wecom", "user_id": "zhangsan", "open": True, "display_name": "张三"}
    assert (await client.post("/api/bridge/message", json=body)).status == 401
    wrong = await client.post("/api/bridge/message", json=body, headers={"Authorization": "Bearer nope"})
    assert wrong.status == 401 and "Bearer" in (await wrong.json())["error"]

    auth = {"Authorization": f"Bearer {TOKEN}"}
    opened = await client.post("/api/bridge/message", json=body, headers=auth)
    assert opened.status == 200
    assert "请输入您的姓名" in (await opened.json())["replies"][0]["text"]
    named = await client.post(
        "/api/bridge/message", json={"platform": "wecom", "user_id": "zhangsan", "text": "张三"}, headers=auth
    )
    data = await named.json()
    assert any(b["label"] == "昆明市" for r in data["replies"] for row in r["buttons"] for b in row)
    async with UnitOfWork(runtime.database) as uow:
        found = await uow.users.by_identity("wecom", "zhangsan")
        assert found is not None and found[1].display_name == "张三"

    impostor = {"platform": "telegram", "user_id": "501", "text": "/me"}
    refused = await client.post("/api/bridge/message", json=impostor, headers=auth)
    assert refused.status == 400 and "不能是 telegram" in (await refused.json())["error"]


# ---- closed registration -------------------------------------------------------------------------


async def test_with_registration_closed_only_invited_or_linking_people_get_in(
    runtime: Runtime, seconds: FakeSeconds
) -> None:
    async with TestClient(make_app(runtime, seconds, web_open_registration=False)) as client:
        stranger = WebUser(client)
        said = await stranger.post({"open": True})
        assert "仅供受邀人员使用" in said and "请输入您的姓名" not in said
        # /link with a code gets through to the linking service (this code is simply wrong).
        assert "绑定码无效或已过期" in await stranger.say("/link 12345678")
        assert "仅供受邀人员使用" in await stranger.say("王五")

        client.session.cookie_jar.clear()
        assert (await client.get(await invite(runtime), allow_redirects=False)).status == 303
        invited = WebUser(client)
        await arm(client)
        assert "职务" in await invited.post({"open": True})


# ---- OpenAPI -----------------------------------------------------------------------------------


async def test_the_openapi_document_lists_exactly_the_api_routes(client: TestClient) -> None:
    served = await (await client.get("/api/openapi.json")).json()
    assert served["openapi"].startswith("3.1") and served == openapi.DOCUMENT
    registered = {
        (route.method.lower(), route.resource.canonical)
        for route in client.server.app.router.routes()
        if route.resource is not None
        and route.resource.canonical.startswith("/api/")
        and route.method != "HEAD"
    }
    documented = {(method, path) for path, item in served["paths"].items() for method in item}
    assert registered == documented
    for path, item in served["paths"].items():
        for operation in item.values():
            assert operation["summary"] and "200" in operation["responses"], path
