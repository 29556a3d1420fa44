"""The rectification dialogs on the pure engine: validation, back, confirm, and the effect each ends in."""

from __future__ import annotations

from typing import Any

import pytest

from bot.services.directory import read_directory_file
from dialogs.context import Context, Viewer
from dialogs.directory import OrgDirectory
from dialogs.engine import Dialog
from dialogs.flows import rectification as flow
from dialogs.replies import CreateRectification, ExtendRectification, RectificationDecision, SubmitEvidence
from dialogs.state import DialogState
from dialogs.texts import Texts
from tests.unit.chat import PureChat

OFFICER = Viewer(user_id=2, registered=True, name="王纪", roles=frozenset({"officer"}))
CADRE = Viewer(user_id=1, registered=True, name="张三", roles=frozenset({"cadre"}))
PROBLEM = "场地平整前未取得用地批复，程序存在瑕疵。"
MEASURE = "一个月内补办用地手续，并建立手续办理台账。"
ITEM = {flow.ITEM: 5, flow.LABEL: "报备 嵩明-2026-0001 第1项"}
SUBMITTED_AT = "2026-11-23T01:30:00+00:00"


@pytest.fixture(scope="module")
def directory() -> OrgDirectory:
    return read_directory_file(None)


def begin(
    directory: OrgDirectory, viewer: Viewer, dialog: Dialog, context: dict[str, Any], intro: str | None = None
) -> PureChat:
    """What the service's command does: start the dialog with its private answers."""
    chat = PureChat(directory, viewer=viewer)
    ctx = Context(texts=Texts(), viewer=viewer, directory=directory)
    result = flow.start(dialog, ctx, context=context, intro=intro)
    assert result.state is not None
    chat.state = DialogState.from_json(result.state.to_json())
    chat.last = result.outcome.replies
    return chat


@pytest.fixture
def create(directory: OrgDirectory) -> PureChat:
    return begin(directory, OFFICER, flow.CREATE_DIALOG, {flow.FILING: 7, flow.NUMBER: "嵩明-2026-0001"})


def test_create_asks_problem_measure_and_due_date_naming_the_filing(create: PureChat) -> None:
    assert "报备 嵩明-2026-0001" in create.said and "需要整改的问题" in create.said
    create.text(PROBLEM)
    assert "报备 嵩明-2026-0001" in create.said and "整改措施" in create.said
    create.text(MEASURE)
    assert "整改期限" in create.said
    create.text("2026-12-31")
    assert "请核对整改事项" in create.said
    for expected in (PROBLEM, MEASURE, "2026年12月31日（星期四）"):
        assert expected in create.said
    create.press("✅ 确认新增")
    assert create.state is None
    assert create.effects == [
        CreateRectification(filing_id=7, problem=PROBLEM, measure=MEASURE, due_date="2026-12-31")
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("太短了", "需要 10–500 个字，您输入了 3 个字"), ("问" * 501, "您输入了 501 个字")],
)
def test_create_refuses_a_problem_of_the_wrong_length(create: PureChat, text: str, expected: str) -> None:
    create.text(text)
    assert expected in create.said
    assert create.state is not None and create.state.step == "problem"


def test_create_measure_has_its_own_limits(create: PureChat) -> None:
    create.text(PROBLEM)
    create.text("补办手续")
    assert "需要 10–1000 个字" in create.said
    create.text("措" * 1001)
    assert "您输入了 1001 个字" in create.said
    assert create.state is not None and create.state.step == "measure"


@pytest.mark.parametrize(
    ("typed", "accepted"), [("2026-11-22", False), ("2026-01-05", False), ("今天", True)]
)
def test_the_due_date_is_never_in_the_past(create: PureChat, typed: str, accepted: bool) -> None:
    create.text(PROBLEM)
    create.text(MEASURE)
    create.text(typed)
    assert create.state is not None
    if accepted:
        assert create.state.step == "confirm" and create.state.answers["due"] == "2026-11-23"
    else:
        assert "不能早于今天（2026年11月23日（星期一））" in create.said
        assert create.state.step == "due"


def test_create_nonsense_date_is_explained(create: PureChat) -> None:
    create.text(PROBLEM)
    create.text(MEASURE)
    create.text("年底")
    assert "没有看懂这个日期" in create.said


def test_back_from_the_summary_changes_the_date(create: PureChat) -> None:
    create.text(PROBLEM)
    create.text(MEASURE)
    create.text("2026-12-31")
    create.press("⬅ 上一步")
    assert create.state is not None and create.state.step == "due"
    assert "当前已填：2026年12月31日（星期四）" in create.said
    create.text("2027-01-15")
    assert "2027年1月15日" in create.said
    create.press("✅ 确认新增")
    assert create.effects[0] == CreateRectification(7, PROBLEM, MEASURE, "2027-01-15")


def test_create_pauses_without_an_effect(create: PureChat) -> None:
    create.text(PROBLEM)
    create.press("✖ 暂停退出")
    assert create.effects == [] and create.state is not None and create.state.paused


def test_evidence_with_a_document(directory: OrgDirectory) -> None:
    chat = begin(directory, CADRE, flow.EVIDENCE_DIALOG, ITEM, intro="整改事项：报备 嵩明-2026-0001 第1项")
    assert "整改完成情况" in chat.said and "第1项" in chat.said
    chat.text("已补办")
    assert "需要 10–2000 个字" in chat.said
    chat.text("已补办用地手续并建立台账，相关批复见附件。")
    assert "佐证材料" in chat.said
    chat.text("这是文字")
    assert "这一步请发送文件或图片" in chat.said
    chat.file("用地批复.pdf")
    chat.press("✅ 完成（1 个附件）")
    assert chat.state is None
    (effect,) = chat.effects
    assert isinstance(effect, SubmitEvidence)
    assert effect.item_id == 5 and effect.text == "已补办用地手续并建立台账，相关批复见附件。"
    assert [f["name"] for f in effect.attachments] == ["用地批复.pdf"]


def test_evidence_files_are_optional(directory: OrgDirectory) -> None:
    chat = begin(directory, CADRE, flow.EVIDENCE_DIALOG, ITEM)
    chat.text("已补办用地手续并建立台账，情况属实。")
    chat.press("跳过")
    assert chat.effects == [
        SubmitEvidence(item_id=5, text="已补办用地手续并建立台账，情况属实。", attachments=[])
    ]


def test_accept_is_one_confirmation_carrying_the_submission_seen(directory: OrgDirectory) -> None:
    chat = begin(directory, OFFICER, flow.ACCEPT_DIALOG, ITEM | {flow.SUBMITTED: SUBMITTED_AT})
    assert "验收通过" in chat.said and "第1项" in chat.said
    chat.text("好的")
    assert "请点击下方按钮选择“确认”" in chat.said and chat.effects == []
    chat.press("✅ 确认验收通过")
    assert chat.effects == [RectificationDecision(5, flow.ACCEPT, SUBMITTED_AT, None)]


def test_send_back_needs_a_reason_and_can_go_back(directory: OrgDirectory) -> None:
    chat = begin(directory, OFFICER, flow.SEND_BACK_DIALOG, ITEM | {flow.SUBMITTED: SUBMITTED_AT})
    chat.text("不行")
    assert "需要 5–1000 个字" in chat.said
    chat.text("缺少用地批复的原件扫描件。")
    assert "确认退回重改" in chat.said
    chat.press("⬅ 上一步")
    assert chat.state is not None and chat.state.step == "reason"
    chat.text("缺少用地批复原件扫描件，请补充。")
    chat.press("确认退回重改")
    assert chat.effects == [
        RectificationDecision(5, flow.SEND_BACK, SUBMITTED_AT, "缺少用地批复原件扫描件，请补充。")
    ]


@pytest.mark.parametrize("typed", ["2026-12-31", "2026-12-30", "2026-11-24"])
def test_extension_must_be_later_than_the_current_due_date(directory: OrgDirectory, typed: str) -> None:
    chat = begin(directory, OFFICER, flow.EXTEND_DIALOG, ITEM | {flow.DUE: "2026-12-31"})
    chat.text(typed)
    assert "须晚于当前期限 2026年12月31日（星期四）" in chat.said
    assert chat.state is not None and chat.state.step == "due"


def test_extension_confirms_old_and_new_dates(directory: OrgDirectory) -> None:
    chat = begin(directory, OFFICER, flow.EXTEND_DIALOG, ITEM | {flow.DUE: "2026-12-31"})
    chat.text("2027-01-31")
    assert "由 2026年12月31日（星期四） 延长至 2027年1月31日（星期日）" in chat.said
    chat.press("⬅ 上一步")
    chat.text("2027-01-15")
    chat.press("✅ 确认延期")
    assert chat.effects == [ExtendRectification(5, "2027-01-15", "2026-12-31")]


def test_an_overdue_item_is_extended_from_today_not_from_its_old_date(directory: OrgDirectory) -> None:
    chat = begin(directory, OFFICER, flow.EXTEND_DIALOG, ITEM | {flow.DUE: "2026-11-01"})
    chat.text("2026-11-20")  # later than the old date, but already past
    assert "不能早于今天" in chat.said
    chat.text("2026-11-30")
    assert chat.state is not None and chat.state.step == "confirm"


def test_every_dialog_is_registered_by_its_stable_name() -> None:
    from dialogs.registry import dialogs_for

    registered = dialogs_for(None)
    for dialog in flow.DIALOGS:
        assert registered[dialog.name] is dialog


def test_run_time_message_ids_exist() -> None:
    texts = Texts()
    for status in ("open", "submitted", "accepted", "closed"):
        texts(f"rect.status.{status}")
    for event in ("created", "submitted", "accepted", "sent_back", "extended"):
        texts(f"rect.notice.{event}")
    for action in ("accepted", "sent_back", "extended"):
        texts(f"rect.done.{action}")
