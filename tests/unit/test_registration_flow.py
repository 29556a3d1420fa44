"""The registration dialog, step by step, on the pure engine: no Telegram, no database."""

from __future__ import annotations

import pytest

from bot.services.directory import read_directory_file
from dialogs.directory import OrgDirectory
from dialogs.events import Press
from dialogs.replies import RegisterUser
from tests.unit.chat import NOW, PureChat


@pytest.fixture(scope="module")
def directory() -> OrgDirectory:
    return read_directory_file(None)


@pytest.fixture
def chat(directory: OrgDirectory) -> PureChat:
    return PureChat(directory)


def register_until_unit(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.press("昆明市")
    chat.press("嵩明县")


def test_start_greets_in_three_lines_and_asks_for_the_name(chat: PureChat) -> None:
    chat.text("/start")
    assert "容错纠错助手" in chat.said
    assert "① 事前报备" in chat.said and "② 容错自查" in chat.said and "③ 跟踪提醒" in chat.said
    assert "由纪委监委依规认定" in chat.said
    assert "请输入您的姓名" in chat.said
    assert chat.state is not None and chat.state.step == "name"


def test_full_registration_produces_one_effect_with_the_chosen_unit(chat: PureChat) -> None:
    register_until_unit(chat)
    assert "请选择您所在的单位" in chat.said
    chat.press("杨桥街道办事处")
    assert "请输入您的职务" in chat.said
    chat.text("副主任")
    assert chat.state is None
    assert chat.effects == [RegisterUser(name="张三", unit_code="530127002", position="副主任")]
    assert "注册完成" in chat.said
    assert "昆明市 / 嵩明县 / 杨桥街道办事处" in chat.said


def test_unit_buttons_follow_the_directory_levels(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    assert "昆明市" in chat.labels() and "曲靖市" in chat.labels()
    chat.press("昆明市")
    assert "嵩明县" in chat.labels() and "安宁市" in chat.labels()
    assert "麒麟区" not in chat.labels()  # a county of another city
    chat.press("嵩明县")
    assert "杨桥街道办事处" in chat.labels()


def test_a_typed_label_works_like_pressing_the_button(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.text("昆明市")
    assert chat.state is not None and chat.state.step == "county"


def test_too_long_name_is_refused_with_the_count_and_asked_again(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张" * 5000)
    assert "2–30 个字" in chat.said and "5000 个字" in chat.said
    assert "请输入您的姓名" in chat.said
    assert chat.state is not None and chat.state.step == "name" and "name" not in chat.state.answers


def test_name_with_digits_is_refused(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三123")
    assert "不能包含数字" in chat.said
    assert chat.state is not None and chat.state.step == "name"


@pytest.mark.parametrize("kind", ["sticker", "photo"])
def test_sticker_or_photo_where_text_is_expected_gets_a_clear_answer(chat: PureChat, kind: str) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.press("昆明市")
    chat.press("嵩明县")
    chat.press("杨桥街道办事处")
    getattr(chat, kind)()
    expected = {"sticker": "贴纸", "photo": "图片"}[kind]
    assert f"收到了{expected}" in chat.said and "职务" in chat.said
    assert chat.state is not None and chat.state.step == "position"
    assert chat.state.answers["unit"] == "530127002"


def test_text_where_a_button_is_expected_asks_for_the_button(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.text("北京市")
    assert "请点击下方按钮选择" in chat.said
    assert chat.state is not None and chat.state.step == "city"


def test_back_returns_to_the_previous_step_showing_the_answer(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.press("⬅ 上一步")
    assert "请输入您的姓名" in chat.said and "当前已填：张三" in chat.said
    chat.text("李四")
    assert chat.state is not None and chat.state.answers["name"] == "李四"


def test_changing_the_city_forgets_the_county_and_unit_chosen_under_it(chat: PureChat) -> None:
    register_until_unit(chat)
    chat.press("⬅ 上一步")  # back to county
    chat.press("⬅ 上一步")  # back to city
    chat.press("曲靖市")
    assert chat.state is not None
    assert chat.state.answers["city"] == "5303"
    assert "county" not in chat.state.answers
    assert "麒麟区" in chat.labels()


def test_choosing_the_same_city_again_keeps_the_county(chat: PureChat) -> None:
    register_until_unit(chat)
    chat.press("⬅ 上一步")
    chat.press("⬅ 上一步")
    chat.press("昆明市")
    assert chat.state is not None and chat.state.answers["county"] == "530127"


def test_cancel_pauses_and_says_what_was_kept_then_start_resumes(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.press("昆明市")
    chat.text("/cancel")
    assert "已暂停注册" in chat.said
    assert "姓名：张三" in chat.said and "市（州）：昆明市" in chat.said
    assert chat.state is not None and chat.state.paused
    chat.text("/start")
    assert "继续注册" in chat.said and "请选择您所在的县" in chat.said
    chat.press("嵩明县")
    assert chat.state is not None and chat.state.step == "unit"


def test_the_exit_button_pauses_like_cancel(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.press("✖ 暂停退出")
    assert "已暂停注册" in chat.said and "姓名：张三" in chat.said


def test_cancel_with_nothing_in_progress_says_so(chat: PureChat) -> None:
    register_until_unit(chat)
    chat.press("杨桥街道办事处")
    chat.text("科员")
    chat.text("/cancel")
    assert "没有进行中的操作" in chat.said


def test_a_button_from_an_older_message_is_recognised_as_stale(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    old_city = chat.action("昆明市")
    chat.press("昆明市")
    chat.send(Press(NOW, old_city))
    assert "已经失效" in chat.said
    assert chat.state is not None and chat.state.step == "county"
    assert chat.state.answers["city"] == "5301"


def test_forged_button_data_changes_nothing(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    assert chat.state is not None
    chat.send(Press(NOW, f"{chat.state.instance}:city:9999"))
    assert "不可用" in chat.said
    assert chat.state.step == "city" and "city" not in chat.state.answers


def test_help_lists_commands_and_unknown_commands_are_answered(chat: PureChat) -> None:
    chat.text("/help")
    assert "/start" in chat.said and "/cancel" in chat.said
    assert "/users" not in chat.said
    chat.text("/frobnicate")
    assert "没有 /frobnicate 这个命令" in chat.said


def test_unregistered_user_using_a_member_command_is_led_to_registration(chat: PureChat) -> None:
    chat.text("/me")
    assert "请先完成注册" in chat.said and "请输入您的姓名" in chat.said


def test_opening_the_web_page_mid_dialog_shows_the_current_question(chat: PureChat) -> None:
    chat.text("/start")
    chat.text("张三")
    chat.open()
    assert "继续注册" in chat.said and "请选择您所在的市" in chat.said


def test_registered_user_gets_the_menu_and_profile(chat: PureChat) -> None:
    register_until_unit(chat)
    chat.press("杨桥街道办事处")
    chat.text("副主任")
    chat.text("/start")
    assert "张三，欢迎回来" in chat.said
    chat.text("/me")
    assert "杨桥街道办事处" in chat.said and "副主任" in chat.said
    chat.text("随便说点什么")
    assert "没有进行中的操作" in chat.said


def test_english_locale_speaks_english(directory: OrgDirectory) -> None:
    chat = PureChat(directory, locale="en")
    chat.text("/start")
    assert "Please enter your name" in chat.said


def test_completion_offers_the_next_steps_as_buttons(chat: PureChat) -> None:
    register_until_unit(chat)
    chat.press("杨桥街道办事处")
    chat.text("科员")
    assert {"👤 我的信息", "❓ 帮助", "📝 新建报备", "🧭 容错自查"} <= set(chat.labels())
    chat.press("👤 我的信息")
    assert "职务：科员" in chat.said
