"""Working days on the official Chinese calendar (holidays and adjusted working weekends).

`chinesecalendar` knows the years the State Council has published. Years it does not know come
from an overrides file when the operator supplies one; otherwise they fall back to Monday–Friday
with one warning per year, never an error.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import chinese_calendar
import structlog
import yaml

log = structlog.get_logger(__name__)

# Office hours of a working day (local time): the clock that "hours to initial review" runs on.
# Morning 09:00-12:00 and afternoon 13:30-17:30 make 7 hours a working day.
OFFICE_HOURS: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 30)))
HOURS_PER_WORKDAY = sum(
    (datetime.combine(date.min, end) - datetime.combine(date.min, start)).total_seconds() / 3600
    for start, end in OFFICE_HOURS
)


class WorkCalendar:
    def __init__(self, overrides: Path | None = None) -> None:
        self._workdays: set[date] = set()
        self._holidays: set[date] = set()
        self._warned: set[int] = set()
        if overrides is not None:
            data = yaml.safe_load(overrides.read_text(encoding="utf-8")) or {}
            self._workdays = {date.fromisoformat(str(d)) for d in data.get("workdays", [])}
            self._holidays = {date.fromisoformat(str(d)) for d in data.get("holidays", [])}

    def is_workday(self, day: date) -> bool:
        if day in self._workdays:
            return True
        if day in self._holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if day.year not in self._warned:
                self._warned.add(day.year)
                log.warning("workdays.unknown_year", year=day.year, fallback="Monday-Friday")
            return day.weekday() < 5

    def next_workday(self, day: date) -> date:
        """The first working day strictly after `day`."""
        day += timedelta(days=1)
        while not self.is_workday(day):
            day += timedelta(days=1)
        return day

    def add_workdays(self, day: date, count: int) -> date:
        for _ in range(count):
            day = self.next_workday(day)
        return day

    def initial_review_due(self, submitted: datetime, tz: ZoneInfo) -> datetime:
        """One working day: by the end of the next working day after the local submission date."""
        local_day = submitted.astimezone(tz).date()
        due_day = self.next_workday(local_day)
        return datetime.combine(due_day, time(23, 59, 59), tz)

    def previous_workday(self, day: date) -> date:
        """The last working day strictly before `day`."""
        day -= timedelta(days=1)
        while not self.is_workday(day):
            day -= timedelta(days=1)
        return day

    def on_or_before(self, day: date) -> date:
        """`day` if it is a working day, else the working day before it."""
        return day if self.is_workday(day) else self.previous_workday(day)

    def subtract_workdays(self, day: date, count: int) -> date:
        for _ in range(count):
            day = self.previous_workday(day)
        return day

    def work_hours_between(self, start: datetime, end: datetime, tz: ZoneInfo) -> float:
        """Office hours (OFFICE_HOURS on working days, local time `tz`) between two instants.

        What falls at night, over lunch, on weekends or on holidays does not count, and adjusted
        working weekends do; 0 when `end` is not after `start`.
        """
        if end <= start:
            return 0.0
        start_local, end_local = start.astimezone(tz), end.astimezone(tz)
        seconds = 0.0
        day = start_local.date()
        while day <= end_local.date():
            if self.is_workday(day):
                for opens, closes in OFFICE_HOURS:
                    lo = max(start_local, datetime.combine(day, opens, tz))
                    hi = min(end_local, datetime.combine(day, closes, tz))
                    if hi > lo:
                        seconds += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return seconds / 3600
