"""Office hours between two instants on the official calendar (time to initial review)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from bot.workdays import HOURS_PER_WORKDAY, WorkCalendar

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


def test_a_working_day_has_seven_office_hours() -> None:
    # 09:00-12:00 (3 h) + 13:30-17:30 (4 h)
    assert HOURS_PER_WORKDAY == 7.0
    calendar = WorkCalendar()
    assert calendar.work_hours_between(at(2026, 11, 23, 0), at(2026, 11, 24, 0), SHANGHAI) == 7.0


def test_across_the_national_day_holiday() -> None:
    # chinesecalendar for 2026: Oct 1-7 are the National Day holiday, Thu Oct 8 and Fri Oct 9 are
    # working days (and Sat Oct 10 is an adjusted working day).
    # Submitted Wed 2026-09-30 16:00, decided Fri 2026-10-09 10:00:
    #   Sep 30: 16:00-17:30             = 1.5 h
    #   Oct 1-7: holiday                = 0
    #   Oct 8: a full working day       = 7 h
    #   Oct 9: 09:00-10:00              = 1 h
    #   total                           = 9.5 h
    calendar = WorkCalendar()
    assert calendar.work_hours_between(at(2026, 9, 30, 16), at(2026, 10, 9, 10), SHANGHAI) == 9.5


def test_an_adjusted_working_saturday_counts_and_sunday_does_not() -> None:
    # Fri 2026-10-09 17:00 -> Mon 2026-10-12 10:00:
    #   Oct 9: 17:00-17:30 = 0.5 h; Sat Oct 10 (adjusted working day) = 7 h; Sun Oct 11 = 0;
    #   Oct 12: 09:00-10:00 = 1 h; total 8.5 h
    calendar = WorkCalendar()
    assert calendar.work_hours_between(at(2026, 10, 9, 17), at(2026, 10, 12, 10), SHANGHAI) == 8.5


@pytest.mark.parametrize(
    ("start", "end", "hours"),
    [
        (at(2026, 11, 23, 11), at(2026, 11, 23, 14), 1.5),  # 11-12 and 13:30-14: lunch is not counted
        (at(2026, 11, 23, 12, 10), at(2026, 11, 23, 13, 20), 0.0),  # wholly within lunch
        (at(2026, 11, 23, 20), at(2026, 11, 24, 8), 0.0),  # overnight
        (at(2026, 11, 27, 17), at(2026, 11, 30, 9, 30), 1.0),  # Fri 17:00 -> Mon 09:30: 0.5 + 0.5
        (at(2026, 11, 23, 10), at(2026, 11, 23, 9), 0.0),  # end before start
    ],
)
def test_nights_lunch_and_weekends_do_not_count(start: datetime, end: datetime, hours: float) -> None:
    assert WorkCalendar().work_hours_between(start, end, SHANGHAI) == hours


def test_instants_in_utc_are_read_in_local_time() -> None:
    # 01:00 UTC is 09:00 in Kunming; 04:00 UTC is 12:00: the whole morning, 3 h.
    start = datetime(2026, 11, 23, 1, 0, tzinfo=ZoneInfo("UTC"))
    end = datetime(2026, 11, 23, 4, 0, tzinfo=ZoneInfo("UTC"))
    assert WorkCalendar().work_hours_between(start, end, SHANGHAI) == 3.0
