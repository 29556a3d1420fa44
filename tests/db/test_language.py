"""Three languages: the first one from the Telegram client, /lang to change it, no input lost."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import DialogStateRow, User
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def stored(runtime: Runtime) -> tuple[User, DialogStateRow | None]:
    async with UnitOfWork(runtime.database) as uow:
        [user] = list(await uow.session.scalars(select(User)))
        return user, await uow.session.get(DialogStateRow, user.id)


async def test_a_traditional_chinese_phone_is_greeted_in_traditional_chinese(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock, language_code="zh-hant")
    said = await talker.text("/start")
    assert "您好！我是“容錯糾錯助手”" in said and "請輸入您的姓名" in said
    user, _ = await stored(runtime)
    assert user.locale == "zh_TW"


async def test_switching_language_mid_dialog_shows_the_same_question_and_keeps_the_answers(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.text("/start")
    await talker.text("张三")
    assert "请选择您所在的市" in "\n".join(r.text for r in talker.last)

    said = await talker.text("/lang")
    assert "请选择界面语言" in said
    assert talker.labels() == ["✓ 简体中文", "繁體中文", "English"]
    said = await talker.press("English")
    assert "from now on I will write to you in English" in said
    # The city question again, in English, with the name still there.
    assert "city" in said.lower() and "昆明市" in talker.labels()
    user, state = await stored(runtime)
    assert user.locale == "en"
    assert state is not None and state.step == "city" and state.data["answers"] == {"name": "张三"}
    assert talker.last_menu_key is not None and talker.last_menu_key.startswith("en:")

    said = await talker.text("/lang zh-tw")
    assert "今後使用繁體中文與您交流" in said and "請選擇您所在的市" in said
    await talker.press("昆明市")
    await talker.press("嵩明县")
    await talker.press("杨桥街道办事处")
    said = await talker.text("副主任")
    assert "註冊完成" in said
    user, state = await stored(runtime)
    assert (user.name, user.locale, state) == ("张三", "zh_TW", None)


async def test_an_unknown_language_is_answered_politely_and_changes_nothing(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    said = await talker.text("/lang français")
    assert "暂不支持“français”" in said and "请点击下方按钮选择语言" in said
    assert talker.labels() == ["✓ 简体中文", "繁體中文", "English"]
    user, _ = await stored(runtime)
    assert user.locale == "zh_CN"
    # The choice sticks over what the phone says, for every later message.
    await talker.press("繁體中文")
    talker.language_code = "en-US"
    said = await talker.text("/me")
    assert "姓名" in said and "單位" in said
