"""Rectification through the conversation service on both engines: items set on an accepted filing,
evidence, send-back and acceptance with their outbox notices, the single extension, and who may
do what (refusals change nothing and are audited)."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from dialogs.events import Press
from storage.models import AuditEntry, Filing, OutboxMessage, RectificationItem
from storage.uow import UnitOfWork
from tests.db.talker import Talker

PROBLEM = "场地平整前未取得用地批复，程序存在瑕疵。"
MEASURE = "一个月内补办用地手续，并建立手续办理台账。"
REPORT = "已补办用地手续并建立台账，相关批复见附件。"


async def outbox(runtime: Runtime) -> list[OutboxMessage]:
    async with UnitOfWork(runtime.database) as uow:
        return list((await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def items(runtime: Runtime) -> list[RectificationItem]:
    async with UnitOfWork(runtime.database) as uow:
        query = select(RectificationItem).order_by(RectificationItem.id)
        return list((await uow.session.execute(query)).scalars())


async def filings(runtime: Runtime) -> list[Filing]:
    async with UnitOfWork(runtime.database) as uow:
        return list((await uow.session.execute(select(Filing).order_by(Filing.id))).scalars())


async def refusals(runtime: Runtime) -> list[AuditEntry]:
    async with UnitOfWork(runtime.database) as uow:
        query = select(AuditEntry).where(AuditEntry.action.in_(["access.denied", "rectification.refused"]))  # type: ignore[attr-defined]
        return list((await uow.session.execute(query.order_by(AuditEntry.id))).scalars())


async def trail(runtime: Runtime, item_id: int) -> list[tuple[str, str | None, str | None]]:
    async with UnitOfWork(runtime.database) as uow:
        entries = await uow.audit.for_subject("rectification_item", item_id)
    return [(e.action, e.from_state, e.to_state) for e in entries]


def labels(row: OutboxMessage) -> dict[str, str]:
    return {b["label"]: b["action"] for line in row.payload["buttons"] for b in line}


async def press(talker: Talker, action: str) -> str:
    return await talker.send(Press(talker.clock.now(), action))


async def accept_filing(officer: Talker, filing_id: int | None) -> None:
    await officer.text(f"/accept {filing_id}")
    await officer.press("🟡 黄色：中风险，需事中指导")
    await officer.press("跳过")
    assert "已正式受理" in await officer.press("✅ 确认受理")


async def create_item(officer: Talker, filing_id: int | None, due: str = "2026-12-31") -> str:
    await officer.text(f"/filing {filing_id}")
    said = await officer.press("➕ 新增整改事项")
    assert "需要整改的问题" in said
    await officer.text(PROBLEM)
    await officer.text(MEASURE)
    assert "请核对整改事项" in await officer.text(due)
    return await officer.press("✅ 确认新增")


async def submit_evidence(cadre: Talker, item_id: int | None, *, with_file: bool = True) -> str:
    said = await cadre.text(f"/evidence {item_id}")
    assert PROBLEM in said and "整改完成情况" in said
    await cadre.text(REPORT)
    if with_file:
        await cadre.file("用地批复.pdf")
        return await cadre.press("✅ 完成（1 个附件）")
    return await cadre.press("跳过")


@pytest.fixture
async def people(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    """A cadre of 嵩明 with an accepted filing, two officers of 嵩明, one of 安宁, an admin, another cadre."""
    talkers = {
        "cadre": Talker(runtime, clock, "1001"),
        "officer": Talker(runtime, clock, "2001"),
        "officer2": Talker(runtime, clock, "2002"),
        "foreign_officer": Talker(runtime, clock, "2003"),
        "admin": Talker(runtime, clock, "3001"),
        "other_cadre": Talker(runtime, clock, "1002"),
    }
    await runtime.admin.grant(2001, "officer", "530127", by="test")
    await runtime.admin.grant(2002, "officer", "530127", by="test")
    await runtime.admin.grant(2003, "officer", "530181", by="test")
    await runtime.admin.grant(3001, "admin", None, by="test")
    names = {"cadre": "张三", "officer": "王纪", "officer2": "赵检", "foreign_officer": "钱监"}
    names |= {"admin": "孙管", "other_cadre": "李四"}
    for key, talker in talkers.items():
        await talker.register(name=names[key])
    await talkers["cadre"].fill_prefiling()
    await talkers["cadre"].press("✅ 确认无误，提交报备")
    (filing,) = await filings(runtime)
    await accept_filing(talkers["officer"], filing.id)
    return talkers


async def test_create_evidence_send_back_evidence_accept(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    officer, officer2, cadre = people["officer"], people["officer2"], people["cadre"]
    (filing,) = await filings(runtime)
    before = len(await outbox(runtime))

    said = await create_item(officer, filing.id)
    assert "已新增整改事项 报备 嵩明-2026-0001 第1项，整改期限 2026年12月31日（星期四）" in said
    (item,) = await items(runtime)
    assert (item.item_no, item.status, item.extended) == (1, "open", False)
    assert item.due_date == item.original_due_date == date(2026, 12, 31)
    assert item.problem == PROBLEM and item.measure == MEASURE
    assert item.owner_user_id == filing.user_id  # the owner is always the filing's cadre

    rows = (await outbox(runtime))[before:]
    assert [r.chat_id for r in rows] == ["1001"]
    text = rows[0].payload["text"]
    for expected in ("新的整改事项：报备 嵩明-2026-0001 第1项", PROBLEM, MEASURE, "2026年12月31日"):
        assert expected in text, expected
    buttons = labels(rows[0])
    assert buttons["提交整改材料"] == f"/evidence {item.id}" and buttons["查看报备"] == f"/filing {filing.id}"

    listed = await cadre.text("/tasks")
    assert (
        "我的整改事项（共 1 项）" in listed
        and "报备 嵩明-2026-0001 第1项｜待整改｜期限 2026年12月31日" in listed
    )

    # First round: evidence with a document, sent back with a reason.
    said = await press(cadre, buttons["提交整改材料"])
    assert "整改期限：2026年12月31日" in said
    await cadre.text(REPORT)
    await cadre.file("用地批复.pdf")
    assert "整改材料已提交" in await cadre.press("✅ 完成（1 个附件）")
    (item,) = await items(runtime)
    assert item.status == "submitted" and item.evidence_text == REPORT
    assert [f["name"] for f in item.evidence] == ["用地批复.pdf"]
    rows = (await outbox(runtime))[before + 1 :]
    assert sorted(r.chat_id for r in rows) == ["2001", "2002"]  # not 安宁's officer, not the admin
    assert "整改材料已提交：报备 嵩明-2026-0001 第1项" in rows[0].payload["text"]
    assert REPORT in rows[0].payload["text"] and "用地批复.pdf" in rows[0].payload["text"]
    officer_buttons = labels(rows[0])
    assert officer_buttons["验收通过"] == f"/itemok {item.id}"
    assert officer_buttons["退回重改"] == f"/itemback {item.id}"

    said = await press(officer, officer_buttons["退回重改"])
    assert REPORT in said and "退回重改的原因" in said
    await officer.text("缺少用地批复原件扫描件，请补充。")
    assert "已退回重改" in await officer.press("确认退回重改")
    (item,) = await items(runtime)
    assert item.status == "open" and item.officer_note == "缺少用地批复原件扫描件，请补充。"
    back = (await outbox(runtime))[-1]
    assert back.chat_id == "1001" and "未通过验收" in back.payload["text"]
    assert "缺少用地批复原件扫描件" in back.payload["text"]
    assert labels(back)["提交整改材料"] == f"/evidence {item.id}"

    # Second round, at the same instant as the first: notices must not be taken for duplicates.
    said = await press(cadre, labels(back)["提交整改材料"])
    assert "上次退回原因：缺少用地批复原件扫描件" in said
    await cadre.text("已补充原件扫描件，请审核。原件另行报送。")
    await cadre.file("原件扫描件.pdf")
    await cadre.press("✅ 完成（1 个附件）")
    second = [r for r in await outbox(runtime) if "整改材料已提交" in r.payload["text"]]
    assert len(second) == 4

    # The second officer accepts from the newest notice.
    said = await press(officer2, labels(second[-1])["验收通过"])
    assert "原件扫描件.pdf" in said
    assert "已验收通过" in await officer2.press("✅ 确认验收通过")
    (item,) = await items(runtime)
    assert item.status == "accepted" and item.accepted_at == clock.now()
    heard = (await outbox(runtime))[-1]
    assert heard.chat_id == "1001" and "已验收通过" in heard.payload["text"]
    assert "提交整改材料" not in labels(heard)

    # An old button (the first round's send-back) now finds nothing to judge.
    said = await press(officer, officer_buttons["退回重改"])
    assert "没有待验收的整改材料" in said
    (after,) = await items(runtime)
    assert after.status == "accepted"

    assert await trail(runtime, item.id or 0) == [
        ("rectification.created", None, "open"),
        ("rectification.submitted", "open", "submitted"),
        ("rectification.sent_back", "submitted", "open"),
        ("rectification.submitted", "open", "submitted"),
        ("rectification.accepted", "submitted", "accepted"),
        ("rectification.refused", "accepted", None),
    ]
    view = await cadre.text(f"/filing {filing.id}")
    assert "整改事项（共 1 项）" in view and "第1项｜已验收通过" in view
    assert "已验收通过" in await cadre.text("/tasks")


async def test_items_are_numbered_per_filing_and_listed_on_the_filing(
    runtime: Runtime, people: dict[str, Talker]
) -> None:
    officer, cadre = people["officer"], people["cadre"]
    (filing,) = await filings(runtime)
    await create_item(officer, filing.id, "2026-12-31")
    said = await officer.press("➕ 继续新增整改事项")
    assert "需要整改的问题" in said
    await officer.text("招商对接记录不完整，缺少会议纪要。")
    await officer.text("补齐招商对接会议纪要并归档。")
    await officer.text("12月15日")
    assert "第2项" in await officer.press("✅ 确认新增")
    assert [(i.item_no, i.due_date) for i in await items(runtime)] == [
        (1, date(2026, 12, 31)),
        (2, date(2026, 12, 15)),
    ]
    view = await officer.text(f"/filing {filing.id}")
    assert "整改事项（共 2 项）" in view and "第1项｜待整改" in view and "第2项｜待整改" in view
    assert {"延期（第1项）", "延期（第2项）", "➕ 新增整改事项"} <= set(officer.labels())
    own = await cadre.text(f"/filing {filing.id}")
    assert "第2项" in own and {"提交整改材料（第1项）", "提交整改材料（第2项）"} <= set(cadre.labels())
    listed = await cadre.text("/tasks")
    assert listed.index("第2项") < listed.index("第1项")  # the earlier due date first


async def test_one_extension_per_item(runtime: Runtime, people: dict[str, Talker]) -> None:
    officer, officer2 = people["officer"], people["officer2"]
    (filing,) = await filings(runtime)
    await create_item(officer, filing.id)
    (item,) = await items(runtime)
    before = len(await outbox(runtime))

    await officer.text(f"/filing {filing.id}")
    said = await officer.press("延期（第1项）")
    assert "新的整改期限" in said and "整改期限：2026年12月31日" in said
    assert "须晚于当前期限" in await officer.text("2026-12-31")
    said = await officer.text("2027-01-15")
    assert "由 2026年12月31日（星期四） 延长至 2027年1月15日（星期五）" in said
    assert "已延长至 2027年1月15日" in await officer.press("✅ 确认延期")
    (item,) = await items(runtime)
    assert (item.due_date, item.original_due_date, item.extended) == (
        date(2027, 1, 15),
        date(2026, 12, 31),
        True,
    )
    (notice,) = (await outbox(runtime))[before:]
    assert notice.chat_id == "1001" and "已延长至 2027年1月15日" in notice.payload["text"]
    assert "原期限 2026年12月31日" in notice.payload["text"]

    said = await officer2.text(f"/extend {item.id}")
    assert "已经延期过一次" in said and "只能延期一次" in said
    (after,) = await items(runtime)
    assert (after.due_date, after.extended) == (date(2027, 1, 15), True)
    assert len(await outbox(runtime)) == before + 1
    assert (await trail(runtime, item.id or 0))[-2:] == [
        ("rectification.extended", "open", "open"),
        ("rectification.refused", "open", None),
    ]
    view = await officer.text(f"/filing {filing.id}")
    assert "已延期，原期限 2026年12月31日" in view and "延期（第1项）" not in officer.labels()


async def test_a_decision_on_evidence_that_was_replaced_meanwhile_changes_nothing(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    officer, officer2, cadre = people["officer"], people["officer2"], people["cadre"]
    (filing,) = await filings(runtime)
    await create_item(officer, filing.id)
    (item,) = await items(runtime)
    await submit_evidence(cadre, item.id)
    said = await officer.text(f"/itemok {item.id}")  # the dialog stays open on this phone
    assert "确认该事项整改到位" in said
    await officer2.text(f"/itemback {item.id}")
    await officer2.text("请补充现场照片。")
    await officer2.press("确认退回重改")
    clock.advance(timedelta(minutes=5))
    await submit_evidence(cadre, item.id, with_file=False)
    said = await officer.press("✅ 确认验收通过")
    assert "已有变化" in said and "本次操作未生效" in said
    (after,) = await items(runtime)
    assert after.status == "submitted" and after.accepted_at is None
    assert (await trail(runtime, item.id or 0))[-1] == ("rectification.refused", "submitted", None)


async def test_items_only_on_accepted_filings(runtime: Runtime, people: dict[str, Talker]) -> None:
    officer, cadre = people["officer"], people["cadre"]
    await cadre.fill_prefiling("第二个事项名称")
    await cadre.press("✅ 确认无误，提交报备")
    submitted = (await filings(runtime))[-1]
    view = await officer.text(f"/filing {submitted.id}")
    assert "➕ 新增整改事项" not in officer.labels() and "整改事项" not in view
    said = await officer.text(f"/rectify {submitted.id}")
    assert "不能新增整改事项" in said
    assert await items(runtime) == []
    (refused,) = await refusals(runtime)
    assert (refused.action, refused.subject_type, refused.subject_id) == (
        "rectification.refused",
        "filing",
        str(submitted.id),
    )


async def test_ids_of_another_jurisdiction_are_refused(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    """A forged button: ids of a real filing and item of 安宁 pressed by people of 嵩明."""
    foreign_cadre = Talker(runtime, clock, "1003")
    await foreign_cadre.register(name="周五", county="安宁市", unit="连然街道办事处")
    await foreign_cadre.fill_prefiling("安宁的事项名称")
    await foreign_cadre.press("✅ 确认无误，提交报备")
    foreign = (await filings(runtime))[-1]
    assert foreign.jurisdiction_code == "530181"
    await accept_filing(people["foreign_officer"], foreign.id)
    await create_item(people["foreign_officer"], foreign.id)
    (item,) = await items(runtime)
    sent = len(await outbox(runtime))
    for who, command in (
        ("officer", f"/rectify {foreign.id}"),
        ("officer", f"/itemok {item.id}"),
        ("officer", f"/itemback {item.id}"),
        ("officer", f"/extend {item.id}"),
        ("cadre", f"/evidence {item.id}"),
    ):
        said = await people[who].text(command)
        assert "无权查看或操作" in said and PROBLEM not in said, command
    (after,) = await items(runtime)
    assert (after.status, after.due_date, after.extended) == ("open", date(2026, 12, 31), False)
    assert len(await outbox(runtime)) == sent and len(await items(runtime)) == 1
    assert len([r for r in await refusals(runtime) if r.action == "access.denied"]) == 5


@pytest.fixture
async def submitted_item(runtime: Runtime, people: dict[str, Talker]) -> RectificationItem:
    (filing,) = await filings(runtime)
    await create_item(people["officer"], filing.id)
    (item,) = await items(runtime)
    await submit_evidence(people["cadre"], item.id)
    (item,) = await items(runtime)
    return item


# Who may do what: every role against every rectification action, including forged ids.
NO_ROLE = "没有使用 /{command} 的权限"
NOT_YOURS = "无权查看或操作"
MATRIX = [
    ("cadre", "/rectify {filing}", NO_ROLE),
    ("cadre", "/itemok {item}", NO_ROLE),
    ("cadre", "/itemback {item}", NO_ROLE),
    ("cadre", "/extend {item}", NO_ROLE),
    ("other_cadre", "/evidence {item}", NOT_YOURS),
    ("other_cadre", "/filing {filing}", NOT_YOURS),
    ("other_cadre", "/itemok {item}", NO_ROLE),
    ("foreign_officer", "/rectify {filing}", NOT_YOURS),
    ("foreign_officer", "/itemok {item}", NOT_YOURS),
    ("foreign_officer", "/itemback {item}", NOT_YOURS),
    ("foreign_officer", "/extend {item}", NOT_YOURS),
    ("foreign_officer", "/evidence {item}", NOT_YOURS),
    ("admin", "/rectify {filing}", NO_ROLE),  # admins do not act unless also officers
    ("admin", "/itemok {item}", NO_ROLE),
    ("admin", "/extend {item}", NO_ROLE),
    ("admin", "/evidence {item}", NOT_YOURS),
    ("officer", "/evidence {item}", NOT_YOURS),  # only the owner reports
    ("officer", "/itemok 99999", NOT_YOURS),
    ("officer", "/itemback abc", NOT_YOURS),
    ("officer", "/extend 99999", NOT_YOURS),
    ("officer", "/rectify 99999", NOT_YOURS),
    ("officer", "/itemok", NOT_YOURS),
]


@pytest.mark.parametrize(("who", "command", "answer"), MATRIX)
async def test_role_action_matrix(
    runtime: Runtime,
    people: dict[str, Talker],
    submitted_item: RectificationItem,
    who: str,
    command: str,
    answer: str,
) -> None:
    item = submitted_item
    fields = ("status", "due_date", "extended", "evidence_text", "officer_note", "accepted_at", "updated_at")
    before = [tuple(getattr(i, f) for f in fields) for i in await items(runtime)]
    sent, refused = len(await outbox(runtime)), len(await refusals(runtime))
    typed = command.format(filing=item.filing_id, item=item.id)
    said = await people[who].text(typed)
    assert answer.format(command=typed.split()[0][1:]) in said
    assert PROBLEM not in said and REPORT not in said
    assert [tuple(getattr(i, f) for f in fields) for i in await items(runtime)] == before
    assert len(await outbox(runtime)) == sent  # nothing was sent to anyone
    new = (await refusals(runtime))[refused:]
    assert len(new) == 1 and new[0].comment == typed
    assert new[0].actor_user_id is not None


STALE = [
    ("cadre", "/evidence {item}", "现在不需要提交整改材料"),  # already submitted
    ("officer", "/rectify {other}", "不能新增整改事项"),  # a filing that was withdrawn meanwhile
]


@pytest.mark.parametrize(("who", "command", "answer"), STALE)
async def test_old_buttons_are_refused_politely_and_audited(
    runtime: Runtime,
    people: dict[str, Talker],
    submitted_item: RectificationItem,
    who: str,
    command: str,
    answer: str,
) -> None:
    cadre = people["cadre"]
    await cadre.fill_prefiling("第二个事项名称")
    await cadre.press("✅ 确认无误，提交报备")
    other = (await filings(runtime))[-1]
    await cadre.text(f"/withdraw {other.id} yes")
    sent, refused = len(await outbox(runtime)), len(await refusals(runtime))
    said = await people[who].text(command.format(item=submitted_item.id, other=other.id))
    assert answer in said
    (item,) = await items(runtime)
    assert item.status == "submitted" and len(await items(runtime)) == 1
    assert len(await outbox(runtime)) == sent
    new = (await refusals(runtime))[refused:]
    assert [e.action for e in new] == ["rectification.refused"]
