"""Pre-filing through the conversation service on SQLite and PostgreSQL: drafts, numbers, receipts, access."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from storage.models import AuditEntry, Filing, SelfCheckResult
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def filings(runtime: Runtime) -> list[Filing]:
    async with UnitOfWork(runtime.database) as uow:
        return list((await uow.session.execute(select(Filing).order_by(Filing.id))).scalars())


async def test_every_answer_is_in_the_draft_row_as_soon_as_it_is_given(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    await talker.text("/new")
    await talker.press("单位报备")
    await talker.text("杨桥片区批而未供土地盘活项目")
    (draft,) = await filings(runtime)
    assert draft.status == "draft" and draft.number is None
    assert draft.title == "杨桥片区批而未供土地盘活项目" and draft.filer_kind == "unit"
    assert draft.step == "category"
    assert draft.answers["kind"] == "unit"


async def test_submitting_gives_a_number_per_jurisdiction_and_year_and_a_receipt(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    summary = await talker.fill_prefiling()
    assert "请核对报备内容" in summary and "报备不是事前审批" in summary
    receipt = await talker.press("✅ 确认无误，提交报备")
    assert "报备编号：嵩明-2026-0001" in receipt
    # Submitted Monday 2026-11-23 09:30 in Kunming: the initial review is due by Tuesday.
    assert "预计初审完成：2026年11月24日（星期二）前" in receipt
    assert "不是事前审批" in receipt
    (filing,) = await filings(runtime)
    assert filing.status == "submitted" and filing.number == "嵩明-2026-0001"
    assert (filing.jurisdiction_code, filing.unit_code, filing.year, filing.seq) == (
        "530127",
        "530127002",
        2026,
        1,
    )
    assert filing.submitted_at == clock.now()
    assert filing.review_due_at == datetime(2026, 11, 24, 23, 59, 59, tzinfo=ZoneInfo("Asia/Shanghai"))
    assert filing.answers["funds"] == 500_000
    assert filing.answers["attachments"][0] == {
        "kind": "document",
        "file_id": "id-实施方案.pdf",
        "name": "实施方案.pdf",
        "mime_type": "application/pdf",
        "size": 2048,
    }
    assert "_draft" not in filing.answers and "summary" not in filing.answers
    async with UnitOfWork(runtime.database) as uow:
        trail = [
            (e.action, e.from_state, e.to_state)
            for e in await uow.audit.for_subject("filing", filing.id or 0)
        ]
    assert trail == [("filing.submitted", "draft", "submitted")]

    # The next filing in the same county and year takes the next number; another county starts at 1.
    await talker.fill_prefiling("第二个事项名称")
    assert "嵩明-2026-0002" in await talker.press("✅ 确认无误，提交报备")
    other = Talker(runtime, clock, external_id="1002")
    await other.register(name="李四", county="安宁市", unit="连然街道办事处")
    await other.fill_prefiling()
    assert "安宁-2026-0001" in await other.press("✅ 确认无误，提交报备")


async def test_simultaneous_submissions_get_distinct_numbers(runtime: Runtime, clock: ManualClock) -> None:
    talkers = [Talker(runtime, clock, external_id=str(4000 + i)) for i in range(4)]
    for i, talker in enumerate(talkers):
        await talker.register(name=f"干部{'甲乙丙丁'[i]}")
        await talker.fill_prefiling()
    receipts = await asyncio.gather(*(t.press("✅ 确认无误，提交报备") for t in talkers))
    assert all("报备编号" in r for r in receipts)
    numbers = sorted(f.number or "" for f in await filings(runtime))
    assert numbers == [f"嵩明-2026-000{i}" for i in range(1, 5)]


async def test_drafts_can_be_listed_resumed_after_a_restart_and_deleted(
    runtime: Runtime, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    await talker.text("/new")
    await talker.press("个人报备")
    await talker.text("第一个草稿事项")
    await talker.text("/new")
    said = "\n".join(r.text for r in talker.last)
    assert "之前的草稿“第一个草稿事项”已保存" in said
    await talker.press("个人报备")
    await talker.text("第二个草稿事项")
    await talker.press("K3 解决历史遗留问题")

    # Another process (or a restarted one) sees the same drafts.
    other = await build_runtime(load_settings(database_url=database_url, data_dir=tmp_path / "d2"), clock)
    try:
        again = Talker(other, clock)
        listing = await again.text("/drafts")
        assert "您的草稿（共 2 份）" in listing
        assert "第一个草稿事项" in listing and "进行到：事项类别" in listing
        assert "第二个草稿事项" in listing and "进行到：拟适用容错情形" in listing
        first = next(r for r in again.last if "第一个草稿事项" in r.text)
        resume = next(b.action for row in first.buttons for b in row if b.label == "▶ 继续填写")
        said = await again.send(__import__("dialogs.events", fromlist=["Press"]).Press(clock.now(), resume))
        assert "继续容错报备" in said and "请选择报备事项的类别" in said
        await again.press("K1 推进项目建设")
        rows = {f.title: f for f in await filings(other)}
        assert rows["第一个草稿事项"].step == "situations"
        assert rows["第二个草稿事项"].step == "situations"  # untouched

        await again.text("/drafts")
        second = next(r for r in again.last if "第二个草稿事项" in r.text)
        delete = next(b.action for row in second.buttons for b in row if b.label == "🗑 删除")
        from dialogs.events import Press

        said = await again.send(Press(clock.now(), delete))
        assert "确定要删除草稿“第二个草稿事项”吗" in said
        said = await again.press("确认删除")
        assert "已删除" in said
        assert [f.title for f in await filings(other)] == ["第一个草稿事项"]
    finally:
        await other.database.dispose()


async def test_mine_shows_filings_and_a_filing_can_be_withdrawn(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    await talker.fill_prefiling()
    await talker.press("✅ 确认无误，提交报备")
    listing = await talker.text("/mine")
    assert "嵩明-2026-0001｜杨桥片区批而未供土地盘活项目｜已提交，待初审" in listing
    shown = await talker.press("嵩明-2026-0001 杨桥片区批而未供土地盘活项目")
    assert "报备 嵩明-2026-0001（已提交，待初审）" in shown and "【涉及资金】50万元" in shown
    assert "预计初审完成：2026年11月24日（星期二）前" in shown
    await talker.press("↩ 撤回报备")
    said = await talker.press("确认撤回")
    assert "已撤回" in said
    (filing,) = await filings(runtime)
    assert filing.status == "withdrawn" and filing.withdrawn_at == clock.now()
    said = await talker.text(f"/withdraw {filing.id} yes")
    assert "不能撤回" in said


async def test_another_users_filing_is_refused_and_audited(runtime: Runtime, clock: ManualClock) -> None:
    owner, other = Talker(runtime, clock, "1001"), Talker(runtime, clock, "1002")
    await owner.register()
    await other.register(name="李四")
    await owner.fill_prefiling()
    await owner.press("✅ 确认无误，提交报备")
    (filing,) = await filings(runtime)
    for command in (
        f"/filing {filing.id}",
        f"/withdraw {filing.id} yes",
        f"/resume {filing.id}",
        "/filing 99999",
    ):
        said = await other.text(command)
        assert "无权查看或操作" in said, command
        assert "杨桥片区" not in said
    (after,) = await filings(runtime)
    assert after.status == "submitted"
    async with UnitOfWork(runtime.database) as uow:
        denied = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "access.denied")))
            .scalars()
            .all()
        )
    assert len(denied) == 4


async def test_a_self_check_is_stored_with_the_pack_version_and_can_seed_a_filing(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    said = await talker.text("/selfcheck")
    assert "开始容错自查" in said
    while "容错自查结果" not in said:
        labels = talker.labels()
        said = await talker.press("不确定" if "不确定" in labels else labels[0])
    assert "尚不确定" in said and "由纪委监委依规依纪依法认定" in said
    async with UnitOfWork(runtime.database) as uow:
        (record,) = (await uow.session.execute(select(SelfCheckResult))).scalars().all()
        assert (
            record.policy_id == "yunnan" and record.policy_version == runtime.conversations.env.policy.version
        )
        assert (
            await uow.selfchecks.policy_text(record.policy_version)
            == runtime.conversations.env.policy.content
        )
    assert record.verdict == "uncertain" and not record.saved
    assert "自查结果已保存" in await talker.press("💾 保存结果")
    said = await talker.press("📝 据此开始报备")
    assert "开始新建容错报备" in said
    async with UnitOfWork(runtime.database) as uow:
        assert (await uow.selfchecks.get(record.id or 0)).saved  # type: ignore[union-attr]
    # The seeded answers ride along in the draft.
    await talker.press("个人报备")
    (draft,) = await filings(runtime)
    assert draft.answers["sc.q_superior_decision"] == "unsure"

    intruder = Talker(runtime, clock, "1009")
    await intruder.register(name="王五")
    assert "无权" in await intruder.text(f"/savecheck {record.id}")
    assert "无权" in await intruder.text(f"/new sc{record.id}")


async def test_the_submission_date_follows_the_holiday_calendar(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    await talker.fill_prefiling()
    clock.set(datetime(2026, 9, 30, 10, 0, tzinfo=UTC))  # the eve of the National Day week
    receipt = await talker.press("✅ 确认无误，提交报备")
    assert "预计初审完成：2026年10月8日（星期四）前" in receipt
