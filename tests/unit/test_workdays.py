from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.workdays import WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_official_holidays_and_adjusted_working_weekends() -> None:
    calendar = WorkCalendar()
    assert not calendar.is_workday(date(2026, 10, 1))  # National Day
    assert calendar.is_workday(date(2026, 11, 23))  # an ordinary Monday
    assert not calendar.is_workday(date(2026, 11, 22))  # an ordinary Sunday
    # Spring Festival 2026: the holiday runs Feb 15-23 and Sat Feb 28 is an adjusted working day.
    assert not calendar.is_workday(date(2026, 2, 17))
    assert calendar.is_workday(date(2026, 2, 28))


def test_next_workday_skips_the_national_day_week() -> None:
    calendar = WorkCalendar()
    assert calendar.next_workday(date(2026, 9, 30)) == date(2026, 10, 8)


def test_initial_review_is_due_at_the_end_of_the_next_working_day() -> None:
    calendar = WorkCalendar()
    friday_evening = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)  # 20:00 in Kunming
    due = calendar.initial_review_due(friday_evening, SHANGHAI)
    assert due == datetime(2026, 11, 30, 23, 59, 59, tzinfo=SHANGHAI)
    # Submitted late on Friday in UTC but already Saturday in Kunming: still due Monday.
    assert calendar.initial_review_due(datetime(2026, 11, 27, 17, 0, tzinfo=UTC), SHANGHAI).date() == date(
        2026, 11, 30
    )


def test_unknown_year_falls_back_to_monday_to_friday_without_failing() -> None:
    calendar = WorkCalendar()
    assert calendar.is_workday(date(2031, 1, 6))  # a Monday
    assert not calendar.is_workday(date(2031, 1, 5))  # a Sunday


def test_overrides_file_covers_years_the_package_does_not_know(tmp_path: Path) -> None:
    overrides = tmp_path / "workdays.yaml"
    overrides.write_text("holidays: [2031-01-01]\nworkdays: [2031-01-04]\n", encoding="utf-8")
    calendar = WorkCalendar(overrides)
    assert not calendar.is_workday(date(2031, 1, 1))  # a Wednesday made a holiday
    assert calendar.is_workday(date(2031, 1, 4))  # a Saturday made a working day
