"""A tolerance review on an accepted filing: open, findings, the joint meeting's decision, the cadre told."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.runtime import Runtime
from storage.models import AuditEntry, Filing, OutboxMessage, ToleranceReview
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def first(runtime: Runtime, model: type) -> object:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(model))).scalars().first()


async def cadre_messages(runtime: Runtime) -> list[str]:
    async with UnitOfWork(runtime.database) as uow:
        rows = (await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    return [r.payload["text"] for r in rows if r.chat_id == "1001"]


@pytest.mark.parametrize(("outcome", "care_card"), [("容错免责", True), ("不予容错", False)])
async def test_open_verify_decide_and_notify(
    runtime: Runtime, accepted: dict[str, Talker], outcome: str, care_card: bool
) -> None:
    officer = accepted["officer"]
    filing = await first(runtime, Filing)
    shown = await officer.text(f"/filing {filing.id}")  # type: ignore[attr-defined]
    assert "⚖ 启动容错认定" in officer.labels(), shown
    await officer.press("⚖ 启动容错认定")
    await officer.press("收到举报")
    await officer.text("群众反映该项目未批先建，存在违规用地。")
    card = await officer.press("✅ 启动认定")
    assert "容错认定｜报备 嵩明-2026-0001｜核查中｜来源：收到举报" in card
    assert "已启动容错认定核查" in (await cadre_messages(runtime))[-1]
    assert "请选择参加核查的纪检监察干部" in await officer.press("👥 指派核查人员")
    # Only officers of this county can verify; the opener is on the team already.
    assert "☑ 王纪" in officer.labels() and not any("钱监" in label for label in officer.labels())
    await officer.press("✅ 选好了（已选 1 项）")
    await officer.press("📝 记录核查情况")
    await officer.text("经核查，项目经党工委集体研究，动机为公，未谋取私利，已及时补办手续。")
    card = await officer.press("✅ 提交审定")
    assert "待联席会议审定" in card
    await officer.press("⚖ 记录会议决定")
    await officer.text("2026-11-23")
    await officer.text("联席会议认为该事项符合容错情形，依规认定。")
    await officer.press(outcome)
    said = await officer.press("✅ 确认认定")
    assert f"已对报备 嵩明-2026-0001 作出认定：{outcome}（嵩明容认〔2026〕1号）" in said

    review = await first(runtime, ToleranceReview)
    assert review.status == "decided" and review.decision_number == "嵩明容认〔2026〕1号"  # type: ignore[attr-defined]
    assert (await first(runtime, Filing)).status == "decided"  # type: ignore[attr-defined]
    messages = await cadre_messages(runtime)
    assert any(f"容错认定结果：{outcome}" in m for m in messages)
    assert any("关爱提醒卡" in m for m in messages) is care_card
    async with UnitOfWork(runtime.database) as uow:
        actions = [
            e.action
            for e in (await uow.session.execute(select(AuditEntry).order_by(AuditEntry.id))).scalars()
        ]
    assert actions[-5:] == [
        "review.opened",
        "review.team",
        "review.findings",
        "review.decided",
        "visits.planned",
    ]


async def test_only_officers_of_the_jurisdiction_run_reviews(
    runtime: Runtime, accepted: dict[str, Talker]
) -> None:
    filing = await first(runtime, Filing)
    for who in ("cadre", "foreign"):
        said = await accepted[who].text(f"/openreview {filing.id}")  # type: ignore[attr-defined]
        assert "没有使用" in said or "无权" in said
    assert await first(runtime, ToleranceReview) is None
    # Stages cannot be skipped: no decision while still verifying.
    officer = accepted["officer"]
    await officer.text(f"/openreview {filing.id}")  # type: ignore[attr-defined]
    await officer.press("审计发现")
    await officer.text("审计发现项目资金使用进度滞后于计划。")
    await officer.press("✅ 启动认定")
    review = await first(runtime, ToleranceReview)
    assert "本操作不适用" in await officer.text(f"/decide {review.id}")  # type: ignore[attr-defined]
    assert "无权" in await accepted["foreign"].text(f"/review {review.id}")  # type: ignore[attr-defined]
