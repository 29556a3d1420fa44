"""/audit NUMBER: a filing's audit trail for its county's officers and for administrators."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.audit_trail import PAGE_SIZE, action_key
from dialogs.texts import LOCALES, Texts
from storage.models import AuditEntry, Filing
from storage.uow import UnitOfWork
from tests.db.talker import Talker

# Every action written about a filing or what hangs off it: each has a name in every language.
FILING_ACTIONS = (
    "filing.submitted",
    "filing.resubmitted",
    "filing.accepted",
    "filing.not_accepted",
    "filing.returned",
    "filing.withdrawn",
    "filing.closed",
    "filing.guidance",
    "filing.milestone_update",
    "review.opened",
    "review.team",
    "review.findings",
    "review.decided",
    "visits.planned",
    "rectification.created",
    "rectification.submitted",
    "rectification.accepted",
    "rectification.sent_back",
    "rectification.extended",
    "rectification.refused",
    "visit.questionnaire",
    "visit.recorded",
)


def test_every_filing_action_has_a_name() -> None:
    for locale in LOCALES:
        texts = Texts(locale)
        assert [a for a in FILING_ACTIONS if not texts.has(action_key(a))] == [], locale


async def _filing(runtime: Runtime) -> Filing:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(Filing))).scalars().one()


async def test_the_officer_reads_the_trail_in_local_time(
    runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]
) -> None:
    filing = await _filing(runtime)
    assert filing.number == "嵩明-2026-0001"
    said = await accepted["officer"].text("/audit 嵩明-2026-0001")
    # The clock stands at 09:30 in Kunming (01:30 UTC) throughout the fixture.
    assert said.splitlines() == [
        "报备 嵩明-2026-0001「杨桥片区批而未供土地盘活项目」的审计记录（共 2 条）：",
        "· 2026-11-23 09:30｜张三｜提交报备：草稿 → 已提交，待初审",
        "· 2026-11-23 09:30｜王纪｜受理：已提交，待初审 → 已正式受理",
    ]
    # By id too, and in English for an English reader.
    await accepted["officer"].text("/lang")
    await accepted["officer"].press("English")
    said = await accepted["officer"].text(f"/audit {filing.id}")
    assert "· 2026-11-23 09:30 | 王纪 | accepted: " in said


async def test_admins_read_any_trail_and_others_are_refused(
    runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]
) -> None:
    await runtime.admin.grant(9001, "admin", None, by="test")
    admin = Talker(runtime, clock, "9001")
    await admin.register(name="李管", county="安宁市", unit="安宁市财政局")
    said = await admin.text("/audit 嵩明-2026-0001")
    assert "（共 2 条）" in said and "王纪｜受理" in said
    refusal = "找不到报备“嵩明-2026-0001”，或您无权查看它的审计记录（纪检监察干部可查看本辖区的报备，管理员可查看全部）。"
    assert await accepted["foreign"].text("/audit 嵩明-2026-0001") == refusal  # 安宁's officer
    assert "找不到报备“嵩明-2026-9999”" in await admin.text("/audit 嵩明-2026-9999")
    assert await admin.text("/audit") == "请在命令后写上报备编号，例如：/audit 嵩明-2026-0007"
    # The cadre who filed holds no officer or admin role: the command is not theirs at all.
    assert "没有使用 /audit 的权限" in await accepted["cadre"].text("/audit 嵩明-2026-0001")
    # The refused look-up is recorded, but it is not part of the filing's trail.
    async with UnitOfWork(runtime.database) as uow:
        denied = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "access.denied")))
            .scalars()
            .all()
        )
    assert {e.subject_id for e in denied} >= {"嵩明-2026-0001", "嵩明-2026-9999"}
    assert "（共 2 条）" in await admin.text("/audit 嵩明-2026-0001")


async def test_a_long_trail_is_shown_a_page_at_a_time(
    runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]
) -> None:
    filing = await _filing(runtime)
    officer = accepted["officer"]
    # Guidance posted day after day: one audit entry each, comment shown.
    for day in range(1, 15):
        clock.advance(timedelta(days=1))
        await officer.text(f"/guidance {filing.id}")
        await officer.text(f"第{day}次指导：请按计划推进并留存会议记录。")
        await officer.press("跳过")
    total = 2 + 14
    said = await officer.text("/audit 嵩明-2026-0001")
    lines = said.splitlines()
    assert lines[0].endswith(f"（共 {total} 条）：") and lines[-1] == "（第 1/2 页）"
    assert len(lines) == 1 + PAGE_SIZE + 1
    assert "· 2026-11-24 09:30｜王纪｜事中指导（第1次指导：请按计划推进并留存会议记录。）" in said
    assert officer.labels() == ["下一页 ▶"]
    said = await officer.press("下一页 ▶")
    lines = said.splitlines()
    assert len(lines) == 1 + (total - PAGE_SIZE) + 1 and lines[-1] == "（第 2/2 页）"
    assert lines[-2].startswith("· 2026-12-07 09:30｜王纪｜事中指导（第14次指导")
    assert officer.labels() == ["◀ 上一页"]
