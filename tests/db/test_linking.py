"""A draft started on Telegram is resumed in the web chat once the two are linked with a one-time code."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import Filing, UserIdentity
from storage.uow import UnitOfWork
from tests.db.talker import DESCRIPTIONS, Talker


def code_in(text: str) -> str:
    match = re.search(r"绑定码：(\d{8})", text)
    assert match, text
    return match.group(1)


async def test_a_telegram_draft_continues_on_the_web(runtime: Runtime, clock: ManualClock) -> None:
    telegram = Talker(runtime, clock, external_id="1001", channel="telegram")
    await telegram.register()
    await telegram.text("/new")
    await telegram.press("个人报备")
    await telegram.text("杨桥片区批而未供土地盘活项目")
    await telegram.press("K1 推进项目建设")
    code = code_in(await telegram.text("/link"))

    web = Talker(runtime, clock, external_id="web-session-abc", channel="web")
    assert "请输入您的姓名" in await web.text("/start")  # a fresh browser is a stranger first
    said = await web.text(f"/link {code}")
    assert "绑定成功" in said and "张三" in said
    listing = await web.text("/drafts")
    assert "杨桥片区批而未供土地盘活项目" in listing and "进行到：拟适用容错情形" in listing
    await web.press("▶ 继续填写")
    await web.press("✅ 选好了（已选 2 项）")
    await web.text(DESCRIPTIONS["background"])

    async with UnitOfWork(runtime.database) as uow:
        (draft,) = (await uow.session.execute(select(Filing))).scalars().all()
        identities = (
            (await uow.session.execute(select(UserIdentity).order_by(UserIdentity.id))).scalars().all()
        )
    assert draft.answers["background"] == DESCRIPTIONS["background"] and draft.step == "planned_action"
    assert {i.channel for i in identities if i.user_id == draft.user_id} == {"telegram", "web"}

    # And back on Telegram the same draft is where the web left it.
    said = await telegram.text("/start")
    assert "继续容错报备" in said and "请说明拟采取的具体做法" in said


async def test_codes_are_single_use_and_expire(runtime: Runtime, clock: ManualClock) -> None:
    telegram = Talker(runtime, clock, external_id="1001")
    await telegram.register()
    code = code_in(await telegram.text("/link"))
    first, second = Talker(runtime, clock, "web-1", "web"), Talker(runtime, clock, "web-2", "web")
    assert "绑定成功" in await first.text(f"/link {code}")
    assert "无效或已过期" in await second.text(f"/link {code}")
    late = code_in(await telegram.text("/link"))
    clock.advance(timedelta(minutes=11))
    assert "无效或已过期" in await second.text(f"/link {late}")
    assert "无效或已过期" in await second.text("/link 12ab")


async def test_an_unregistered_user_gets_no_code(runtime: Runtime, clock: ManualClock) -> None:
    stranger = Talker(runtime, clock, external_id="1005")
    assert "请先完成注册" in await stranger.text("/link")
