"""When each reminder is due. Pure date arithmetic on the official calendar; no database here.

Deadlines count in working days (T-7 means seven working days before the due date), because an
officer's "three days" never includes a National Day holiday. Reminders go out at a fixed local
hour; the quiet hours hold anything that would land at night or on a holiday.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.workdays import WorkCalendar

REMINDER_HOUR = time(9)
# "Half of the working day": the due day's working hours are about 08:30–17:30.
SLA_HALF_TIME = time(12)
RECTIFICATION_BEFORE = (7, 3, 1, 0)  # working days before the due date
RECTIFICATION_OVERDUE = ((1, "rect_overdue_officer"), (7, "rect_overdue_lead"))
VISIT_OFFICER_BEFORE = (7, 1)  # calendar days before a return visit
VISIT_ESCALATE_AFTER = 14  # calendar days overdue
DRAFT_NUDGE_AFTER = (timedelta(days=3), timedelta(days=14))


@dataclass(frozen=True, slots=True)
class Planned:
    kind: str
    due_at: datetime
    label: str  # stable within a subject: part of the row's dedupe key


def at_hour(day: date, tz: ZoneInfo, hour: time = REMINDER_HOUR) -> datetime:
    return datetime.combine(day, hour, tz)


def rectification(due: date, calendar: WorkCalendar, tz: ZoneInfo) -> list[Planned]:
    """T-7, T-3, T-1 and T-0 to the owner; T+1 to the officer; T+7 to the lead officer."""
    planned: list[Planned] = []
    last_workday = calendar.on_or_before(due)  # T-0 of a due date on a Sunday is the Friday
    for before in RECTIFICATION_BEFORE:
        day = calendar.subtract_workdays(last_workday, before)
        planned.append(Planned("rect_due", at_hour(day, tz), f"T-{before}"))
    for after, kind in RECTIFICATION_OVERDUE:
        planned.append(Planned(kind, at_hour(calendar.add_workdays(due, after), tz), f"T+{after}"))
    return planned


def review_sla(review_due_at: datetime, tz: ZoneInfo) -> list[Planned]:
    """Half-way through the due working day to the officers; at the deadline to the lead officer."""
    due_day = review_due_at.astimezone(tz).date()
    return [
        Planned("review_sla_half", at_hour(due_day, tz, SLA_HALF_TIME), "half"),
        Planned("review_sla_breach", review_due_at, "breach"),
    ]


def return_visit(visit_day: date, tz: ZoneInfo) -> list[Planned]:
    planned = [
        Planned("visit_officer", at_hour(visit_day - timedelta(days=days), tz), f"D-{days}")
        for days in VISIT_OFFICER_BEFORE
    ]
    planned.append(Planned("visit_questionnaire", at_hour(visit_day, tz), "D-0"))
    escalate = visit_day + timedelta(days=VISIT_ESCALATE_AFTER)
    planned.append(Planned("visit_overdue", at_hour(escalate, tz), f"D+{VISIT_ESCALATE_AFTER}"))
    return planned


def visit_days(decided: date, offsets: tuple[int, ...]) -> list[date]:
    return [decided + timedelta(days=days) for days in offsets]
