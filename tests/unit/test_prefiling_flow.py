"""The pre-filing dialog on the pure engine: every step, the validations, edit from the summary."""

from __future__ import annotations

import pytest

from bot.services.directory import read_directory_file
from dialogs.context import Viewer
from dialogs.directory import OrgDirectory
from dialogs.policy.pack import PolicyPack, load_pack
from dialogs.replies import SubmitFiling
from tests.unit.chat import PureChat

CADRE = Viewer(user_id=1, registered=True, name="张三", unit_code="530127002", roles=frozenset({"cadre"}))
DESCRIPTIONS = {
    "background": "落实县委县政府关于盘活批而未供土地的部署，时限为年底前。",
    "planned_action": "先行开展场地平整和招商对接，同步补办用地手续。",
    "rule_at_risk": "可能存在容缺受理、未批先建的程序瑕疵。",
    "necessity": "项目关系重点产业落地和群众就业，时间紧迫。",
    "risks": "手续补办不及时可能被认定为违规用地，造成返工损失。",
    "controls": "设立专班跟踪手续办理，出现问题立即停工整改并报告。",
}


@pytest.fixture(scope="module")
def directory() -> OrgDirectory:
    return read_directory_file(None)


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack("yunnan")


@pytest.fixture
def chat(directory: OrgDirectory, pack: PolicyPack) -> PureChat:
    chat = PureChat(directory, policy=pack, viewer=CADRE)
    chat.new_filing()
    return chat


def step(chat: PureChat) -> str:
    assert chat.state is not None
    return chat.state.step


def fill_until_decision(chat: PureChat) -> None:
    chat.press("个人报备")
    chat.text("杨桥片区批而未供土地盘活项目")
    chat.press("K1 推进项目建设")
    chat.press("✅ 选好了（已选 2 项）")
    for name in ("background", "planned_action", "rule_at_risk", "necessity"):
        chat.text(DESCRIPTIONS[name])


def fill_to_summary(chat: PureChat, *, decision: str = "已集体研究") -> None:
    fill_until_decision(chat)
    chat.press(decision)
    if decision == "已集体研究":
        chat.text("街道党工委会议")
        chat.text("2026-11-20")
        chat.file("党工委会议纪要.pdf")
        chat.press("✅ 完成（1 个附件）")
    chat.text(DESCRIPTIONS["risks"])
    chat.text(DESCRIPTIONS["controls"])
    chat.press("不存在利益关联")
    chat.text("12月1日")
    chat.text("2027年3月31日")
    chat.text("2026-12-15 完成场地平整\n2027-01-20 完成用地报批")
    chat.press("✅ 完成（2 个节点）")
    chat.text("50.5万元")
    chat.press("跳过")
    chat.press("✍ 我承诺")


def test_intro_says_answers_are_saved_and_how_to_pause(chat: PureChat) -> None:
    assert "每一步都会自动保存" in chat.said and "/cancel" in chat.said and "/drafts" in chat.said
    assert step(chat) == "kind"
    assert chat.state is not None and len(chat.state.answers["_draft"]) == 32


def test_full_filing_reaches_a_summary_with_every_answer_and_the_warning(chat: PureChat) -> None:
    fill_to_summary(chat)
    assert step(chat) == "summary"
    summary = chat.said
    for expected in (
        "【报备类型】个人报备",
        "【事项名称】杨桥片区批而未供土地盘活项目",
        "【事项类别】K1 推进项目建设",
        "【拟适用容错情形】S4",
        "【会议日期】2026年11月20日（星期五）",
        "【会议纪要】党工委会议纪要.pdf",
        "【开始日期】2026年12月1日（星期二）",
        "【完成日期】2027年3月31日（星期三）",
        "2026年12月15日（星期二） 完成场地平整",
        "【涉及资金】50.5万元",
        "【附件】无",
        "【承诺】已确认",
        "报备不是事前审批",
    ):
        assert expected in summary, expected
    assert "利益关联情况" not in summary  # only asked when there is a conflict
    chat.press("✅ 确认无误，提交报备")
    assert chat.state is None
    (effect,) = chat.effects
    assert isinstance(effect, SubmitFiling)
    assert effect.fields["funds"] == 505_000
    assert effect.fields["situations"] == ["S4", "S6"]
    assert effect.fields["minutes"][0]["name"] == "党工委会议纪要.pdf"
    assert effect.fields["milestones"] == [
        {"date": "2026-12-15", "what": "完成场地平整"},
        {"date": "2027-01-20", "what": "完成用地报批"},
    ]
    assert effect.selfcheck_answers is None


def test_no_collective_decision_skips_the_meeting_questions(chat: PureChat) -> None:
    fill_until_decision(chat)
    chat.press("按规定无需集体研究")
    assert step(chat) == "risks"


def test_a_conflict_of_interest_must_be_explained(chat: PureChat) -> None:
    fill_until_decision(chat)
    chat.press("按规定无需集体研究")
    chat.text(DESCRIPTIONS["risks"])
    chat.text(DESCRIPTIONS["controls"])
    chat.press("存在，需要说明")
    assert step(chat) == "conflict_detail"


def test_editing_from_the_summary_returns_to_the_summary(chat: PureChat) -> None:
    fill_to_summary(chat)
    chat.press("✏️ 修改某一项")
    assert "要修改哪一项" in chat.said and "事项名称" in chat.labels()
    chat.press("事项名称")
    assert step(chat) == "title" and "当前已填：杨桥片区批而未供土地盘活项目" in chat.said
    chat.text("杨桥片区土地盘活项目")
    assert step(chat) == "summary"
    assert "【事项名称】杨桥片区土地盘活项目" in chat.said


def test_an_edit_that_needs_new_answers_asks_them_on_the_way_back(chat: PureChat) -> None:
    fill_to_summary(chat, decision="按规定无需集体研究")
    chat.press("✏️ 修改某一项")
    chat.press("决策程序")
    chat.press("已集体研究")
    assert step(chat) == "meeting_name"
    chat.text("街道党工委会议")
    chat.text("2026-11-20")
    chat.press("跳过")
    assert step(chat) == "summary"
    assert "【会议名称】街道党工委会议" in chat.said


def test_changing_the_category_resets_the_situations(chat: PureChat) -> None:
    chat.press("个人报备")
    chat.text("某事项名称")
    chat.press("K1 推进项目建设")
    chat.press("☐ S1 执行上级决策部署出现偏差")
    assert "☑ S1 执行上级决策部署出现偏差" in chat.labels()
    assert chat.last[0].edit  # ticking updates the same message
    chat.press("✅ 选好了（已选 3 项）")
    chat.press("⬅ 上一步")
    chat.press("⬅ 上一步")
    chat.press("K2 处置突发事件")
    assert set(chat.labels()) >= {"☑ S3 急难险重任务中勇于担当", "☑ S5 不可抗力或难以预见的因素"}
    assert "☑ S1 执行上级决策部署出现偏差" not in chat.labels()


@pytest.mark.parametrize(
    ("answer", "message"),
    [("短", "需要 4–60 个字，您输入了 1 个字"), ("长" * 61, "您输入了 61 个字")],
)
def test_title_length_is_checked_with_the_count(chat: PureChat, answer: str, message: str) -> None:
    chat.press("个人报备")
    chat.text(answer)
    assert message in chat.said and step(chat) == "title"


def test_descriptions_need_ten_to_two_thousand_characters(chat: PureChat) -> None:
    fill_until_decision(chat)
    chat.press("⬅ 上一步")  # back to necessity
    chat.text("很急")
    assert "需要 10–2000 个字，您输入了 2 个字" in chat.said
    chat.text("急" * 2001)
    assert "您输入了 2001 个字" in chat.said
    assert chat.state is not None and chat.state.answers["necessity"] == DESCRIPTIONS["necessity"]


def test_dates_are_validated_and_echoed(chat: PureChat) -> None:
    fill_until_decision(chat)
    chat.press("按规定无需集体研究")
    chat.text(DESCRIPTIONS["risks"])
    chat.text(DESCRIPTIONS["controls"])
    chat.press("不存在利益关联")
    chat.text("下个月吧")
    assert "没有看懂这个日期" in chat.said and "12月1日" in chat.said
    chat.text("2026-01-05")  # far in the past: questioned, not taken
    assert "已经是 322 天前" in chat.said and step(chat) == "start_date"
    chat.press("✔ 确认：2026年1月5日（星期一）")
    assert step(chat) == "end_date"
    assert "已记录“开始日期”：2026年1月5日（星期一）" in chat.said
    chat.text("2025-12-31")
    assert "早于 2026年1月5日（星期一）" in chat.said and step(chat) == "end_date"
    chat.text("明天")
    assert step(chat) == "milestones"
    assert "已记录“完成日期”：2026年11月24日（星期二）" in chat.said


def test_amount_and_wrong_kinds_of_input(chat: PureChat) -> None:
    fill_to_summary(chat)
    chat.press("✏️ 修改某一项")
    chat.press("涉及资金")
    chat.text("很多钱")
    assert "没有看懂这个金额" in chat.said
    chat.sticker()
    assert "收到了贴纸" in chat.said and step(chat) == "funds"
    chat.text("1.2亿")
    assert "已记录“涉及资金”：1.2亿元" in chat.said and "【涉及资金】1.2亿元" in chat.said


def test_text_where_a_file_is_expected_and_a_file_where_text_is_expected(chat: PureChat) -> None:
    chat.press("个人报备")
    chat.file()
    assert "收到了文件" in chat.said and "事项名称" in chat.said
    fill_to_summary_from_title(chat)


def fill_to_summary_from_title(chat: PureChat) -> None:
    chat.text("杨桥片区批而未供土地盘活项目")
    chat.press("K1 推进项目建设")
    chat.press("✅ 选好了（已选 2 项）")
    for name in ("background", "planned_action", "rule_at_risk", "necessity"):
        chat.text(DESCRIPTIONS[name])
    chat.press("已集体研究")
    chat.text("街道党工委会议")
    chat.text("2026-11-20")
    chat.text("纪要稍后补")
    assert "收到了文字" in chat.said and "请发送文件或图片" in chat.said
    assert step(chat) == "minutes"


def test_too_large_files_are_refused(chat: PureChat) -> None:
    chat.press("个人报备")
    fill_to_summary_from_title(chat)
    chat.file("大文件.zip", size=30 * 1024 * 1024)
    assert "每个附件不能超过 20 MB" in chat.said
    chat.file("纪要.pdf")
    chat.press("↩ 删除最后一个")
    assert "已删除最后一个附件" in chat.said
    assert "跳过" in chat.labels() and not any(label.startswith("✅ 完成") for label in chat.labels())


def test_self_check_inside_the_pre_filing_asks_prospectively_and_returns_to_the_summary(
    chat: PureChat, pack: PolicyPack
) -> None:
    fill_to_summary(chat)
    chat.press("🧭 提交前先做容错自查")
    assert chat.state is not None and chat.state.step.startswith("sc.")
    asked = []
    while chat.state is not None and chat.state.step.startswith("sc."):
        asked.append(chat.state.step)
        labels = chat.labels()
        chat.press("否" if "否" in labels else labels[0])
    assert "sc.q_remedy" not in asked and "sc.q_serious_consequence" not in asked
    assert step(chat) == "summary"
    assert "【容错自查（参考）】" in chat.said
    chat.press("✅ 确认无误，提交报备")
    (effect,) = chat.effects
    assert isinstance(effect, SubmitFiling) and effect.selfcheck_answers
    assert set(effect.selfcheck_answers) == {a.removeprefix("sc.") for a in asked}


def test_why_button_explains_and_asks_again(chat: PureChat) -> None:
    fill_to_summary(chat)
    chat.press("🧭 提交前先做容错自查")
    first = step(chat)
    chat.press("❔ 为什么问这个")
    assert "为什么问这个：" in chat.said and step(chat) == first


def test_pause_keeps_the_draft_and_says_what_was_kept(chat: PureChat) -> None:
    chat.press("个人报备")
    chat.text("杨桥片区批而未供土地盘活项目")
    chat.text("/cancel")
    assert "已暂停容错报备" in chat.said
    assert "事项名称：杨桥片区批而未供土地盘活项目" in chat.said
    chat.text("/start")
    assert "继续容错报备" in chat.said and "请选择报备事项的类别" in chat.said
