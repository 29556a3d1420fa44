"""Quiet hours and reminder points on the official calendar, without a database."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.quiet_hours import QuietHours
from bot.services.reminders import schedule
from bot.workdays import WorkCalendar

TZ = ZoneInfo("Asia/Shanghai")
QUIET = QuietHours(WorkCalendar(), TZ)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        ("2026-11-23 07:59", False),
        ("2026-11-23 08:00", True),
        ("2026-11-23 21:59", True),
        ("2026-11-23 22:00", False),
        ("2026-11-28 10:00", False),  # Saturday
        ("2026-09-20 10:00", True),  # Sunday, an adjusted working day
        ("2026-10-01 10:00", False),  # National Day
        ("2026-10-10 10:00", True),  # Saturday, an adjusted working day
    ],
)
def test_allows(moment: str, allowed: bool) -> None:
    assert QUIET.allows(at(moment)) is allowed


@pytest.mark.parametrize(
    ("moment", "next_allowed"),
    [
        ("2026-11-23 10:00", "2026-11-23 10:00"),
        ("2026-11-23 06:00", "2026-11-23 08:00"),
        ("2026-11-27 22:30", "2026-11-30 08:00"),  # Friday night → Monday morning
        ("2026-09-19 12:00", "2026-09-20 08:00"),  # Saturday → the working Sunday
        ("2026-09-30 23:00", "2026-10-08 08:00"),  # over the National Day week
    ],
)
def test_next_allowed(moment: str, next_allowed: str) -> None:
    assert QUIET.next_allowed(at(moment)) == at(next_allowed)


def test_quiet_hours_are_configurable_and_sane() -> None:
    from datetime import time

    late = QuietHours(WorkCalendar(), TZ, start=time(23), end=time(7))
    assert late.allows(at("2026-11-23 22:30")) and late.allows(at("2026-11-23 07:00"))
    with pytest.raises(ValueError):
        QuietHours(WorkCalendar(), TZ, start=time(7), end=time(23))


def test_a_due_date_on_a_sunday_is_reminded_on_the_friday() -> None:
    points = schedule.rectification(date(2026, 12, 20), WorkCalendar(), TZ)
    assert [(p.label, p.due_at.date().isoformat()) for p in points] == [
        ("T-7", "2026-12-09"),
        ("T-3", "2026-12-15"),
        ("T-1", "2026-12-17"),
        ("T-0", "2026-12-18"),
        ("T+1", "2026-12-21"),
        ("T+7", "2026-12-29"),
    ]


def test_an_unknown_year_falls_back_to_monday_to_friday_unless_overridden(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert WorkCalendar().is_workday(date(2027, 2, 8))  # a Monday in 2027: not published yet
    overrides = tmp_path / "workdays.yaml"
    overrides.write_text("holidays: [2027-02-08]\nworkdays: [2027-02-07]\n", encoding="utf-8")
    calendar = WorkCalendar(overrides)
    assert not calendar.is_workday(date(2027, 2, 8)) and calendar.is_workday(date(2027, 2, 7))
    points = schedule.rectification(date(2027, 2, 9), calendar, TZ)
    assert [p.due_at.date().isoformat() for p in points[:4]] == [
        "2027-01-29",
        "2027-02-04",
        "2027-02-07",
        "2027-02-09",
    ]
