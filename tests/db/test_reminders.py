"""Reminders by time travel, on both engines: every kind is planned when its deadline appears, sent
at its time (never at night or on a holiday), once, to the right person, and stops when its
subject moves on."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import Filing, RectificationItem, ReturnVisit
from storage.uow import UnitOfWork
from tests.db.reminder_helpers import Reminders, local
from tests.db.talker import Talker
from tests.db.test_rectification import create_item, submit_evidence

REF = "报备 嵩明-2026-0001 第1项"


async def one(runtime: Runtime, model: type) -> object:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(model))).scalars().one()


@pytest.fixture
async def team(runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]) -> dict[str, Talker]:
    """The accepted filing's people, plus a second officer of 嵩明 who is its lead officer."""
    lead = Talker(runtime, clock, "2002")
    await runtime.admin.grant(2002, "officer", "530127", by="test")
    await lead.register(name="赵检")
    await runtime.admin.configure_jurisdiction(
        "530127", group_chat_id=None, clear_group=False, lead_telegram_id=2002, by="test"
    )
    return accepted | {"lead": lead}


@pytest.fixture
def reminders(runtime: Runtime, clock: ManualClock) -> Reminders:
    return Reminders(runtime, clock)


async def test_rectification_schedule_in_working_days(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    filing = await one(runtime, Filing)
    await create_item(team["officer"], filing.id, due="2026-12-18")  # type: ignore[attr-defined]
    item = await one(runtime, RectificationItem)
    # Working days back from Friday 18 December: T-7 is Wednesday the 9th (two weekends skipped).
    assert await reminders.plan("rectification_item") == [
        ("rect_due", "2026-12-09 09:00", "T-7"),
        ("rect_due", "2026-12-15 09:00", "T-3"),
        ("rect_due", "2026-12-17 09:00", "T-1"),
        ("rect_due", "2026-12-18 09:00", "T-0"),
        ("rect_overdue_officer", "2026-12-21 09:00", "T+1"),
        ("rect_overdue_lead", "2026-12-29 09:00", "T+7"),
    ]
    expected = [
        ("2026-12-09 09:00", "1001", "还有 7 个工作日到期"),
        ("2026-12-15 09:00", "1001", "还有 3 个工作日到期"),
        ("2026-12-17 09:00", "1001", "还有 1 个工作日到期"),
        ("2026-12-18 09:00", "1001", "今天到期"),
        ("2026-12-21 09:00", "2001", "整改逾期"),  # the officer who set the item
        ("2026-12-29 09:00", "2002", "整改逾期 7 个工作日"),  # the lead officer
    ]
    for when, chat, words in expected:
        early = (local(when) - timedelta(minutes=1)).strftime("%Y-%m-%d %H:%M")
        assert await reminders.at(early) == [], f"nothing before {when}"
        sent = await reminders.at(when)
        assert [s.chat_id for s in sent] == [chat], when
        text = sent[0].text
        assert words in text and REF in text and "2026年12月18日" in text, text
        assert sent[0].actions["查看报备"] == f"/filing {filing.id}"  # type: ignore[attr-defined]
        if chat == "1001":
            assert sent[0].actions["提交整改材料"] == f"/evidence {item.id}"  # type: ignore[attr-defined]
            assert "整改措施" in text
        assert await reminders.at(when) == [], f"{when} sent twice"
    assert {r.status for r in await reminders.rows("rectification_item")} == {"sent"}


async def test_submitted_items_are_not_reminded_until_sent_back(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    filing = await one(runtime, Filing)
    await create_item(team["officer"], filing.id, due="2026-12-18")  # type: ignore[attr-defined]
    item = await one(runtime, RectificationItem)
    await reminders.at("2026-12-10 10:00")  # T-7 has gone out
    await submit_evidence(team["cadre"], item.id)  # type: ignore[attr-defined]
    assert await reminders.at("2026-12-15 09:00") == []  # T-3: submitted, nothing to remind of
    await team["officer"].text(f"/itemback {item.id}")  # type: ignore[attr-defined]
    await team["officer"].text("佐证材料不全，请补充用地批复原件扫描件。")
    await team["officer"].press("确认退回重改")
    sent = await reminders.at("2026-12-17 09:00")  # open again: T-1 reaches the owner
    assert [s.chat_id for s in sent] == ["1001"] and "还有 1 个工作日到期" in sent[0].text
    await submit_evidence(team["cadre"], item.id)  # type: ignore[attr-defined]
    await team["officer"].text(f"/itemok {item.id}")  # type: ignore[attr-defined]
    await team["officer"].press("✅ 确认验收通过")
    # Accepted: whatever was still planned is withdrawn, and nothing is sent at T-0 or later.
    assert {
        r.status
        for r in await reminders.rows("rectification_item")
        if r.payload["label"] in ("T-0", "T+1", "T+7")
    } == {"cancelled"}
    for when in ("2026-12-18 09:00", "2026-12-21 09:00", "2026-12-29 09:00"):
        assert await reminders.at(when) == []


async def test_an_extension_replans_the_reminders(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    filing = await one(runtime, Filing)
    await create_item(team["officer"], filing.id, due="2026-12-18")  # type: ignore[attr-defined]
    item = await one(runtime, RectificationItem)
    await team["officer"].text(f"/extend {item.id}")  # type: ignore[attr-defined]
    await team["officer"].text("2026-12-25")
    said = await team["officer"].press("✅ 确认延期")
    assert "2026年12月25日" in said
    assert await reminders.plan("rectification_item", status="cancelled") == [
        ("rect_due", "2026-12-09 09:00", "T-7"),
        ("rect_due", "2026-12-15 09:00", "T-3"),
        ("rect_due", "2026-12-17 09:00", "T-1"),
        ("rect_due", "2026-12-18 09:00", "T-0"),
        ("rect_overdue_officer", "2026-12-21 09:00", "T+1"),
        ("rect_overdue_lead", "2026-12-29 09:00", "T+7"),
    ]
    assert [(k, w) for k, w, _ in await reminders.plan("rectification_item")] == [
        ("rect_due", "2026-12-16 09:00"),
        ("rect_due", "2026-12-22 09:00"),
        ("rect_due", "2026-12-24 09:00"),
        ("rect_due", "2026-12-25 09:00"),
        ("rect_overdue_officer", "2026-12-28 09:00"),
        ("rect_overdue_lead", "2027-01-05 09:00"),  # 2027 is not in the calendar yet: Monday–Friday
    ]
    assert await reminders.at("2026-12-09 09:00") == []  # the old T-7
    sent = await reminders.at("2026-12-16 09:00")
    assert len(sent) == 1 and "2026年12月25日" in sent[0].text and "还有 7 个工作日到期" in sent[0].text


async def test_closing_the_filing_stops_its_reminders(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    officer, cadre = team["officer"], team["cadre"]
    filing = await one(runtime, Filing)
    await create_item(officer, filing.id, due="2026-12-18")  # type: ignore[attr-defined]
    await reminders.mark()
    shown = await officer.text(f"/filing {filing.id}")  # type: ignore[attr-defined]
    assert "办结" in officer.labels(), shown
    said = await officer.press("办结")
    assert "还有 1 项整改未完成" in said and "办结说明" in said
    await officer.text("项目已按期完成，手续补办到位。")
    assert "已办结" in await officer.press("确认办结")
    closed = await one(runtime, Filing)
    assert closed.status == "closed" and closed.closed_at is not None  # type: ignore[attr-defined]
    assert (await one(runtime, RectificationItem)).status == "closed"  # type: ignore[attr-defined]
    notices = await reminders.new()
    assert [n.chat_id for n in notices] == ["1001"] and "已办结" in notices[0].text
    assert {r.status for r in await reminders.rows("rectification_item")} == {"cancelled"}
    for when in ("2026-12-09 09:00", "2026-12-18 09:00", "2026-12-29 09:00"):
        assert await reminders.at(when) == []
    # Nothing further can be done on a closed filing, and the cadre's view says so.
    assert "已办结" in await cadre.text(f"/filing {filing.id}")  # type: ignore[attr-defined]
    assert "不能办结" in await officer.text(f"/close {filing.id}")  # type: ignore[attr-defined]


async def test_initial_review_deadline_half_day_and_breach(
    runtime: Runtime, clock: ManualClock, reminders: Reminders
) -> None:
    await runtime.admin.grant(2001, "officer", "530127", by="test")
    await runtime.admin.grant(2002, "officer", "530127", by="test")
    cadre, officer, lead = (Talker(runtime, clock, i) for i in ("1001", "2001", "2002"))
    for talker, name in ((cadre, "张三"), (officer, "王纪"), (lead, "赵检")):
        await talker.register(name=name)
    await runtime.admin.configure_jurisdiction(
        "530127", group_chat_id=None, clear_group=False, lead_telegram_id=2002, by="test"
    )
    clock.set(local("2026-11-27 10:00"))  # a Friday: the review is due by the end of Monday
    await cadre.fill_prefiling()
    await cadre.press("✅ 确认无误，提交报备")
    filing = await one(runtime, Filing)
    assert await reminders.plan("filing") == [
        ("review_sla_half", "2026-11-30 12:00", ""),
        ("review_sla_breach", "2026-11-30 23:59", ""),
    ]
    assert await reminders.at("2026-11-30 11:59") == []
    sent = await reminders.at("2026-11-30 12:00")
    assert sorted(s.chat_id for s in sent) == ["2001", "2002"]  # every officer of the county
    assert all("初审提醒" in s.text and "嵩明-2026-0001" in s.text for s in sent)
    assert sent[0].actions["受理"] == f"/accept {filing.id}"  # type: ignore[attr-defined]
    # The deadline passes at midnight; the lead officer hears of it in the morning, not at night.
    assert await reminders.at("2026-12-01 00:00") == []
    assert await reminders.at("2026-12-01 07:59") == []
    sent = await reminders.at("2026-12-01 08:00")
    assert [s.chat_id for s in sent] == ["2002"] and "初审超时" in sent[0].text


async def test_a_timely_decision_cancels_the_deadline_reminders(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    # The `accepted` fixture's filing was accepted at once: nothing is left to remind of.
    assert {r.status for r in await reminders.rows("filing") if r.kind.startswith("review_sla")} == {
        "cancelled"
    }
    assert await reminders.at("2026-11-24 12:00") == []
    assert await reminders.at("2026-11-25 08:00") == []


async def test_abandoned_draft_nudged_after_3_and_14_days_then_never(
    runtime: Runtime, clock: ManualClock, reminders: Reminders
) -> None:
    cadre = Talker(runtime, clock, "1001")
    await cadre.register()
    await cadre.text("/new")
    await cadre.press("个人报备")
    await cadre.text("乡村道路改扩建先行施工")  # the draft's last change: Monday 23 Nov 09:30
    filing = await one(runtime, Filing)
    assert await reminders.at("2026-11-26 09:29") == []
    sent = await reminders.at("2026-11-26 09:30")
    assert [s.chat_id for s in sent] == ["1001"]
    assert "乡村道路改扩建先行施工" in sent[0].text and "3 天" in sent[0].text
    assert sent[0].actions["▶ 继续填写"] == f"/resume {filing.id}"  # type: ignore[attr-defined]
    for when in ("2026-11-27 09:30", "2026-12-04 09:30"):
        assert await reminders.at(when) == []
    sent = await reminders.at("2026-12-07 09:30")  # 14 days
    assert len(sent) == 1 and "14 天" in sent[0].text
    for when in ("2026-12-21 09:30", "2027-01-20 09:30"):
        assert await reminders.at(when) == []
    # A nudge is no reason to lose the draft: resuming it continues where the cadre stopped.
    said = await cadre.text(f"/resume {filing.id}")  # type: ignore[attr-defined]
    assert "乡村道路改扩建先行施工" in said or "类别" in said


async def test_a_changed_draft_starts_afresh_and_a_deleted_one_is_left_alone(
    runtime: Runtime, clock: ManualClock, reminders: Reminders
) -> None:
    cadre = Talker(runtime, clock, "1001")
    await cadre.register()
    await cadre.text("/new")
    await cadre.press("个人报备")
    clock.set(local("2026-11-25 15:00"))
    await cadre.text("乡村道路改扩建先行施工")  # changed on Wednesday: Monday's count is off
    assert await reminders.at("2026-11-26 09:30") == []
    # Three days are up on Saturday afternoon; the nudge waits for Monday morning.
    assert await reminders.at("2026-11-28 15:00") == []
    assert await reminders.at("2026-11-30 07:59") == []
    sent = await reminders.at("2026-11-30 08:00")
    assert len(sent) == 1 and "4 天" in sent[0].text
    # A deleted draft gets no 14-day nudge.
    await cadre.send_action(sent[0].actions["🗑 删除"])
    assert "已删除" in await cadre.press("确认删除")
    assert await reminders.at("2026-12-09 15:00") == []


async def test_return_visits_after_clearing_a_name(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    officer, cadre = team["officer"], team["cadre"]
    said = await decide(officer, await one(runtime, Filing), "澄清正名")
    assert "已按规定安排回访：2026年12月23日" in said  # 30 days, a Wednesday
    visit = await one(runtime, ReturnVisit)
    assert (visit.seq, visit.status, visit.outcome) == (1, "planned", "cleared")  # type: ignore[attr-defined]
    assert await reminders.plan("return_visit") == [
        ("visit_officer", "2026-12-16 09:00", "D-7"),
        ("visit_officer", "2026-12-22 09:00", "D-1"),
        ("visit_questionnaire", "2026-12-23 09:00", "D-0"),
        ("visit_overdue", "2027-01-06 09:00", "D+14"),
    ]
    sent = await reminders.at("2026-12-16 09:00")
    assert [s.chat_id for s in sent] == ["2001"] and "还有 7 天" in sent[0].text and "张三" in sent[0].text
    sent = await reminders.at("2026-12-22 09:00")
    assert [s.chat_id for s in sent] == ["2001"] and "还有 1 天" in sent[0].text
    sent = await reminders.at("2026-12-23 09:00")
    assert [s.chat_id for s in sent] == ["1001"] and "回访问卷" in sent[0].text

    # The cadre answers from the reminder's button; the answers go to the officer.
    await cadre.send_action(sent[0].actions["填写回访问卷"])
    await cadre.press("有一些压力")
    await cadre.text("项目推进顺利，已完成场地平整。")
    await cadre.press("跳过")
    await cadre.text("希望组织上多给予业务指导。")
    assert "问卷已提交" in await cadre.press("提交问卷")
    (notice,) = await reminders.new()
    assert notice.chat_id == "2001" and "有一些压力" in notice.text and "多给予业务指导" in notice.text

    # The officer records the visit; the record is the officer's, never shown to the cadre.
    await officer.send_action(notice.actions["记录回访"])
    await officer.text("今天")
    await officer.press("谈心谈话")
    await officer.text("谈心谈话，该同志思想稳定，工作积极，已帮助协调业务培训。")
    await officer.press("跳过")
    await officer.press("教育疏导")
    assert "回访记录已保存" in await officer.press("保存记录")
    visit = await one(runtime, ReturnVisit)
    assert visit.status == "done" and visit.stage == "counselling" and visit.form == "talk"  # type: ignore[attr-defined]
    assert "谈心谈话，该同志" not in await cadre.text(f"/filing {visit.filing_id}")  # type: ignore[attr-defined]
    assert await reminders.at("2027-01-06 09:00") == []  # recorded: no escalation


async def test_an_unrecorded_visit_escalates_after_14_days(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    await decide(team["officer"], await one(runtime, Filing), "澄清正名")
    for when in ("2026-12-16 09:00", "2026-12-22 09:00", "2026-12-23 09:00"):
        await reminders.at(when)
    listed = await team["officer"].text("/visits")
    assert "张三 第1次回访（2026年12月23日" in listed
    sent = await reminders.at("2027-01-06 09:00")
    assert sorted(s.chat_id for s in sent) == ["2001", "2002"]  # the lead, and the assigned officer
    assert all("回访逾期" in s.text and "14 天" in s.text for s in sent)
    assert "【逾期】" in await team["officer"].text("/visits")


async def test_visit_schedules_follow_the_policy_pack(
    runtime: Runtime, team: dict[str, Talker], reminders: Reminders
) -> None:
    said = await decide(team["officer"], await one(runtime, Filing), "不予容错")
    # 30, 180 and 335 days after 23 November 2026 (a sanction's 12-month influence period),
    # each moved to a working day: 22 May 2027 is a Saturday.
    assert "2026年12月23日" in said and "2027年5月24日" in said and "2027年10月25日" in said
    async with UnitOfWork(runtime.database) as uow:
        visits = list((await uow.session.execute(select(ReturnVisit).order_by(ReturnVisit.seq))).scalars())
    assert [v.due_date.isoformat() for v in visits] == ["2026-12-23", "2027-05-24", "2027-10-25"]


async def decide(officer: Talker, filing: object, outcome: str) -> str:
    await officer.text(f"/openreview {filing.id}")  # type: ignore[attr-defined]
    await officer.press("收到举报")
    await officer.text("群众反映该项目未批先建，存在违规用地。")
    await officer.press("✅ 启动认定")
    await officer.press("📝 记录核查情况")
    await officer.text("经核查，项目经党工委集体研究，动机为公，未谋取私利，已及时补办手续。")
    await officer.press("✅ 提交审定")
    await officer.press("⚖ 记录会议决定")
    await officer.text("2026-11-23")
    await officer.text("联席会议认为该事项应予认定。")
    await officer.press(outcome)
    return await officer.press("✅ 确认认定")
