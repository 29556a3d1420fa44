"""When reminders may be sent: working days on the official calendar, outside the night hours.

Reminders are not urgent; a cadre's phone should not buzz at 23:00 or on a holiday about a
deadline that is days away. Messages a person triggers (a reply, a review decision) are not held.
"""

from __future__ import annotations

from datetime import datetime, time
from zoneinfo import ZoneInfo

from bot.workdays import WorkCalendar


class QuietHours:
    def __init__(
        self, calendar: WorkCalendar, tz: ZoneInfo, *, start: time = time(22), end: time = time(8)
    ) -> None:
        if not end < start:
            raise ValueError("quiet hours must start in the evening and end in the morning")
        self.calendar, self.tz, self.start, self.end = calendar, tz, start, end

    def allows(self, moment: datetime) -> bool:
        local = moment.astimezone(self.tz)
        return self.calendar.is_workday(local.date()) and self.end <= local.time() < self.start

    def next_allowed(self, moment: datetime) -> datetime:
        """`moment` itself if sending is allowed then, else the start of the next allowed period."""
        if self.allows(moment):
            return moment
        local = moment.astimezone(self.tz)
        day = local.date()
        if not (self.calendar.is_workday(day) and local.time() < self.end):
            day = self.calendar.next_workday(day)
        return datetime.combine(day, self.end, self.tz).astimezone(moment.tzinfo)
