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
