"""Reminders around the 2026 Mid-Autumn and National Day holidays on the official calendar: Sunday
20 September is a working day, 1–7 October are not (with 25 September), Saturday 10 October is."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import Filing, RectificationItem
from storage.uow import UnitOfWork
from tests.db.reminder_helpers import Reminders, local
from tests.db.talker import Talker
from tests.db.test_rectification import create_item


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(local("2026-09-14 09:30"))  # a Monday


async def test_a_holiday_week_with_an_adjusted_working_sunday(
    runtime: Runtime, clock: ManualClock, accepted: dict[str, Talker]
) -> None:
    reminders = Reminders(runtime, clock)
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
    await create_item(accepted["officer"], filing.id, due="2026-09-30")
    # T-7 counts back over the weekend of 19–20 September, of which only the Sunday is worked;
    # T+1 and T+7 count forward over the National Day week and include Saturday 10 October.
    assert await reminders.plan("rectification_item") == [
        ("rect_due", "2026-09-20 09:00", "T-7"),
        ("rect_due", "2026-09-24 09:00", "T-3"),
        ("rect_due", "2026-09-29 09:00", "T-1"),
        ("rect_due", "2026-09-30 09:00", "T-0"),
        ("rect_overdue_officer", "2026-10-08 09:00", "T+1"),
        ("rect_overdue_lead", "2026-10-15 09:00", "T+7"),
    ]
    sent = await reminders.at("2026-09-20 09:00")  # a Sunday, but a working one
    assert [s.chat_id for s in sent] == ["1001"] and "还有 7 个工作日到期" in sent[0].text
    for when in ("2026-09-24 09:00", "2026-09-29 09:00", "2026-09-30 09:00"):
        assert len(await reminders.at(when)) == 1

    # A milestone report due on a holiday waits for the first working morning after it.
    async with UnitOfWork(runtime.database) as uow:
        await uow.reminders.plan(
            kind="milestone_report",
            due_at=local("2026-10-02 09:00"),
            target_user_id=filing.user_id,
            subject_type="filing",
            subject_id=filing.id or 0,
            now=clock.now(),
            payload={"date": "2026-10-02", "what": "完成场地平整", "number": filing.number},
            dedupe_key=f"milestone:{filing.id}:2026-10-02",
        )
        await uow.commit()
    for when in ("2026-10-02 09:00", "2026-10-04 10:00", "2026-10-07 21:00", "2026-10-08 07:59"):
        assert await reminders.at(when) == [], when
    sent = await reminders.at("2026-10-08 08:00")
    assert [s.chat_id for s in sent] == ["1001"] and "完成场地平整" in sent[0].text
    sent = await reminders.at("2026-10-08 09:00")
    assert [s.chat_id for s in sent] == ["2001"] and "整改逾期" in sent[0].text
    assert await reminders.at("2026-10-14 09:00") == []
    sent = await reminders.at("2026-10-15 09:00")  # no lead officer configured: the county's officers
    assert [s.chat_id for s in sent] == ["2001"] and "整改逾期 7 个工作日" in sent[0].text
    item = (await reminders.rows("rectification_item"))[-1]
    assert item.status == "sent"
    async with UnitOfWork(runtime.database) as uow:
        assert (await uow.session.execute(select(RectificationItem))).scalars().one().status == "open"
