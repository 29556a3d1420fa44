"""Initial review through the conversation service on both engines: notifications queued in the outbox,
decisions, returns and answers, and who may do what."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import AuditEntry, Filing, OutboxMessage
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def outbox(runtime: Runtime) -> list[OutboxMessage]:
    async with UnitOfWork(runtime.database) as uow:
        return list((await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def the_filing(runtime: Runtime) -> Filing:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(Filing))).scalars().one()


@pytest.fixture
async def people(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    """A cadre in 嵩明 with a submitted filing, two officers of 嵩明, one of 安宁, an admin and another cadre."""
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
    return talkers


async def test_submission_queues_one_notice_per_officer_of_the_jurisdiction(
    runtime: Runtime, people: dict[str, Talker]
) -> None:
    rows = await outbox(runtime)
    assert sorted(r.chat_id for r in rows) == ["2001", "2002"]  # not the 安宁 officer, not the admin
    notice = rows[0]
    assert notice.channel == "telegram" and notice.status == "pending"
    text = notice.payload["text"]
    for expected in (
        "新的容错报备：嵩明-2026-0001",
        "杨桥片区批而未供土地盘活项目",
        "张三（昆明市 / 嵩明县 / 杨桥街道办事处）",
        "K1 推进项目建设",
        "初审期限：2026年11月24日（星期二）前",
    ):
        assert expected in text, expected
    labels = [b["label"] for row in notice.payload["buttons"] for b in row]
    assert labels == ["查看详情", "受理", "不予受理", "退回补正"]


async def test_accept_sets_the_colour_and_tells_the_cadre(
    runtime: Runtime, people: dict[str, Talker]
) -> None:
    officer = people["officer"]
    filing = await the_filing(runtime)
    said = await officer.text(f"/accept {filing.id}")
    assert "报备 嵩明-2026-0001" in said and "风险等级" in said
    await officer.press("🔴 红色：高风险，需报告关键节点进展")
    await officer.press("跳过")
    said = await officer.press("✅ 确认受理")
    assert "已正式受理报备 嵩明-2026-0001，决定书编号：嵩明容受〔2026〕1号" in said
    filing = await the_filing(runtime)
    assert (filing.status, filing.risk_colour, filing.decision_number) == (
        "accepted",
        "red",
        "嵩明容受〔2026〕1号",
    )
    cadre_notice = [r for r in await outbox(runtime) if r.chat_id == "1001"]
    assert len(cadre_notice) == 1 and "已正式受理" in cadre_notice[0].payload["text"]
    assert (
        "嵩明容受〔2026〕1号" in cadre_notice[0].payload["text"] and "红色" in cadre_notice[0].payload["text"]
    )
    # The second officer's old buttons no longer act.
    said = await people["officer2"].text(f"/accept {filing.id}")
    assert "不在初审阶段" in said
    async with UnitOfWork(runtime.database) as uow:
        trail = [
            (e.action, e.from_state, e.to_state)
            for e in await uow.audit.for_subject("filing", filing.id or 0)
        ]
    assert trail == [("filing.submitted", "draft", "submitted"), ("filing.accepted", "submitted", "accepted")]
    async with UnitOfWork(runtime.database) as uow:
        reminders = await uow.reminders.for_subject("filing", filing.id or 0)
    # Red: a progress report is due at the milestone the cadre gave (2026-12-15), 09:00 in Kunming.
    # The initial-review deadline's reminders were withdrawn by the decision.
    assert [
        (r.kind, r.due_at.isoformat(), r.target_user_id == filing.user_id, r.status) for r in reminders
    ] == [
        ("review_sla_half", "2026-11-24T04:00:00+00:00", False, "cancelled"),
        ("review_sla_breach", "2026-11-24T15:59:59+00:00", False, "cancelled"),
        ("milestone_report", "2026-12-15T01:00:00+00:00", True, "pending"),
    ]


async def test_two_officers_deciding_at_once_only_one_wins(
    runtime: Runtime, people: dict[str, Talker]
) -> None:
    filing = await the_filing(runtime)
    first, second = people["officer"], people["officer2"]
    await first.text(f"/reject {filing.id}")
    await first.text("材料不全，且不属于容错报备范围。")
    await second.text(f"/accept {filing.id}")
    await second.press("🟢 绿色：低风险，备案即可")
    await second.press("跳过")
    said = await second.press("✅ 确认受理")
    assert "已正式受理" in said
    said = await first.press("确认不予受理")
    assert "已经处理" in said and "本次操作未生效" in said
    assert (await the_filing(runtime)).status == "accepted"


async def test_return_for_completion_and_the_cadres_answer(
    runtime: Runtime, people: dict[str, Talker]
) -> None:
    officer, cadre = people["officer"], people["cadre"]
    filing = await the_filing(runtime)
    await officer.text(f"/return {filing.id}")
    await officer.text("请补充党工委会议纪要的签字页。")
    assert "已退回补正" in await officer.press("确认退回补正")
    notice = [r for r in await outbox(runtime) if r.chat_id == "1001"][-1]
    assert "请补充党工委会议纪要的签字页" in notice.payload["text"]
    answer_action = next(
        b["action"] for row in notice.payload["buttons"] for b in row if b["label"] == "✍ 回复补正"
    )

    from dialogs.events import Press

    said = await cadre.send(Press(cadre.clock.now(), answer_action))
    assert "补正要求：请补充党工委会议纪要的签字页" in said
    await cadre.text("已补充签字页，见附件。")
    await cadre.file("签字页.pdf")
    said = await cadre.press("✅ 完成（1 个附件）")
    assert "补正已提交" in said and "重新进入初审" in said
    filing = await the_filing(runtime)
    assert filing.status == "submitted"
    answered = [r for r in await outbox(runtime) if "已补正" in r.payload["text"]]
    assert sorted(r.chat_id for r in answered) == ["2001", "2002"]
    queue = await officer.text("/queue")
    assert "嵩明-2026-0001" in queue and "已提交，待初审" in queue


async def test_queue_puts_overdue_first(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    from datetime import timedelta

    cadre = people["cadre"]
    clock.advance(timedelta(days=3))  # the first filing is now past its one-working-day deadline
    await cadre.fill_prefiling("第二个事项名称")
    await cadre.press("✅ 确认无误，提交报备")
    queue = await people["officer"].text("/queue")
    first, second = queue.index("嵩明-2026-0001"), queue.index("嵩明-2026-0002")
    assert first < second and "⚠已超期 嵩明-2026-0001" in queue
    assert "⚠已超期 嵩明-2026-0002" not in queue
    assert "没有待办" in await people["foreign_officer"].text("/queue")


# Who may do what: every role against every review action, including forged and foreign ids.
MATRIX = [
    ("cadre", "/accept {id}", "没有使用 /accept 的权限"),
    ("cadre", "/queue", "没有使用 /queue 的权限"),
    ("other_cadre", "/filing {id}", "无权查看"),
    ("other_cadre", "/answer {id}", "无权查看"),
    ("other_cadre", "/withdraw {id} yes", "无权查看"),
    ("admin", "/accept {id}", "没有使用 /accept 的权限"),  # admins do not review unless also officers
    ("admin", "/filing {id}", "无权查看"),
    ("foreign_officer", "/accept {id}", "无权查看"),
    ("foreign_officer", "/reject {id}", "无权查看"),
    ("foreign_officer", "/filing {id}", "无权查看"),
    ("officer", "/accept 99999", "无权查看"),
    ("officer", "/accept abc", "无权查看"),
    ("officer", "/answer {id}", "无权查看"),  # only the filer answers a return
    ("officer", "/withdraw {id} yes", "无权查看"),
]


@pytest.mark.parametrize(("who", "command", "answer"), MATRIX)
async def test_role_action_matrix(
    runtime: Runtime, people: dict[str, Talker], who: str, command: str, answer: str
) -> None:
    filing = await the_filing(runtime)
    before = (filing.status, filing.risk_colour)
    said = await people[who].text(command.format(id=filing.id))
    assert answer in said
    after = await the_filing(runtime)
    assert (after.status, after.risk_colour) == before
    assert len(await outbox(runtime)) == 2  # nothing new was sent to anyone


async def test_forged_callbacks_are_audited(runtime: Runtime, people: dict[str, Talker]) -> None:
    filing = await the_filing(runtime)
    await people["foreign_officer"].text(f"/accept {filing.id}")
    await people["other_cadre"].text(f"/filing {filing.id}")
    async with UnitOfWork(runtime.database) as uow:
        denied = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "access.denied")))
            .scalars()
            .all()
        )
    assert len(denied) == 2 and {d.subject_id for d in denied} == {str(filing.id)}
