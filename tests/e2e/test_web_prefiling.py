"""A pre-filing through the web channel's JSON API, with a file uploaded to disk."""

from __future__ import annotations

import pytest
from aiohttp import FormData
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.runtime import Runtime
from storage.models import Filing
from storage.uow import UnitOfWork
from tests.db.talker import DESCRIPTIONS
from tests.e2e.web_client import WebUser, arm


class Uploader(WebUser):
    async def upload(self, name: str, content: bytes, mime: str) -> tuple[int, dict]:
        form = FormData()
        form.add_field("file", content, filename=name, content_type=mime)
        response = await self.client.post("/api/upload", data=form)
        data = await response.json()
        if response.status == 200:
            self.replies, self.commands = data["replies"], data["commands"]
        return response.status, data


async def to_minutes_step(user: Uploader) -> None:
    await user.post({"open": True})
    await user.say("王五")
    for label in ("昆明市", "嵩明县", "杨桥街道办事处"):
        await user.press(label)
    await user.say("科员")
    await user.say("/new")
    await user.press("个人报备")
    await user.say("杨桥片区批而未供土地盘活项目")
    await user.press("K1 推进项目建设")
    await user.press("✅ 选好了（已选 2 项）")
    for name in ("background", "planned_action", "rule_at_risk", "necessity"):
        await user.say(DESCRIPTIONS[name])
    await user.press("已集体研究")
    await user.say("街道党工委会议")
    said = await user.say("2026-11-20")
    assert "请上传会议纪要" in said


async def test_a_web_filing_with_an_uploaded_file(client: TestClient, runtime: Runtime) -> None:
    user = Uploader(client)
    await client.get("/")
    await to_minutes_step(user)
    content = b"%PDF-1.4\n" + b"x" * 200_000  # far beyond the JSON body limit: uploads stream
    status, data = await user.upload("会议纪要.pdf", content, "application/pdf")
    assert status == 200, data
    assert "已收到：会议纪要.pdf（共 1 个）" in data["replies"][0]["text"]
    await user.press("✅ 完成（1 个附件）")
    await user.say(DESCRIPTIONS["risks"])
    await user.say(DESCRIPTIONS["controls"])
    await user.press("不存在利益关联")
    await user.say("12月1日")
    await user.say("2027-03-31")
    await user.press("跳过")
    await user.say("无")
    await user.press("跳过")
    summary = await user.press("✍ 我承诺")
    assert "【会议纪要】会议纪要.pdf" in summary and "【涉及资金】不涉及资金" in summary
    receipt = await user.press("✅ 确认无误，提交报备")
    assert "报备编号：嵩明-2026-0001" in receipt

    async with UnitOfWork(runtime.database) as uow:
        (filing,) = (await uow.session.execute(select(Filing))).scalars().all()
    (minutes,) = filing.answers["minutes"]
    assert minutes["file_id"].startswith("web:") and minutes["size"] == len(content)
    stored = runtime.settings.data_dir / "uploads" / minutes["file_id"].removeprefix("web:")
    assert stored.read_bytes() == content


@pytest.mark.parametrize(
    ("name", "content", "mime", "status", "fragment"),
    [
        ("病毒.exe", b"MZ\x90\x00", "application/x-msdownload", 415, "不支持这种文件类型"),
        ("假装.pdf", b"MZ\x90\x00 not a pdf", "application/pdf", 415, "不支持这种文件类型"),
        ("空.pdf", b"", "application/pdf", 415, "不支持这种文件类型"),
        ("巨大.pdf", b"%PDF" + b"0" * (20 * 1024 * 1024), "application/pdf", 413, "不能超过 20 MB"),
    ],
)
async def test_bad_uploads_are_refused_and_nothing_is_kept(
    client: TestClient, runtime: Runtime, name: str, content: bytes, mime: str, status: int, fragment: str
) -> None:
    user = Uploader(client)
    await client.get("/")
    await to_minutes_step(user)
    got, data = await user.upload(name, content, mime)
    assert got == status and fragment in data["error"]
    uploads = runtime.settings.data_dir / "uploads"
    assert not uploads.exists() or not any(p.is_file() for p in uploads.rglob("*"))
    # The dialog is where it was.
    said = await user.post({"open": True})
    assert "请上传会议纪要" in said


async def test_a_docx_sent_as_octet_stream_is_recognised_by_its_name(
    client: TestClient, runtime: Runtime
) -> None:
    user = Uploader(client)
    await client.get("/")
    await to_minutes_step(user)
    status, data = await user.upload("方案.docx", b"PK\x03\x04word", "application/octet-stream")
    assert status == 200 and "已收到：方案.docx" in data["replies"][0]["text"]


async def test_upload_needs_multipart(client: TestClient) -> None:
    await arm(client)
    response = await client.post("/api/upload", json={"file": "x"})
    assert response.status == 400 and "multipart" in (await response.json())["error"]


async def test_a_web_only_cadre_hears_the_officers_decision_on_the_next_exchange(
    client: TestClient, runtime: Runtime
) -> None:
    from tests.db.talker import Talker

    user = Uploader(client)
    await client.get("/")
    await to_minutes_step(user)
    await user.press("跳过")
    await user.say(DESCRIPTIONS["risks"])
    await user.say(DESCRIPTIONS["controls"])
    await user.press("不存在利益关联")
    await user.say("12月1日")
    await user.say("2027-03-31")
    await user.press("跳过")
    await user.say("无")
    await user.press("跳过")
    await user.press("✍ 我承诺")
    assert "嵩明-2026-0001" in await user.press("✅ 确认无误，提交报备")

    await runtime.admin.grant(2001, "officer", "530127", by="test")
    officer = Talker(runtime, runtime.clock, "2001")  # type: ignore[arg-type]
    await officer.register(name="王纪")
    async with UnitOfWork(runtime.database) as uow:
        (filing,) = (await uow.session.execute(select(Filing))).scalars().all()
    await officer.text(f"/return {filing.id}")
    await officer.text("请补充党工委会议纪要。")
    await officer.press("确认退回补正")

    said = await user.say("/mine")
    assert "退回补正" in said and "请补充党工委会议纪要" in said
    assert "请补充党工委会议纪要" not in await user.say("/mine")  # delivered once
