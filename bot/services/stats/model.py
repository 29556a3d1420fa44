"""The figures of /stats as plain frozen data, and their JSON shape (`Stats.to_dict`).

Definitions (one place; render, export and charts all read these):
- A filing counts in the period of its submission. Its outcome is exactly one of: accepted
  (正式受理: it was accepted at some point, even if later closed or withdrawn), not accepted
  (不予受理), returned (退回补正, waiting for the cadre), pending (awaiting initial review) or
  withdrawn before any acceptance. received = the sum of the five.
- Acceptance rate = accepted / (accepted + not accepted): of the filings decided either way.
- Time to initial review: office hours (bot/workdays.py OFFICE_HOURS, 7 a working day) from
  submission to the first decision (accept, not accept or return). An SLA breach is a first
  decision after its deadline (end of the next working day), or a filing still without one past it.
- Reviews count by source when opened in the period and by outcome when decided in it.
- The self-check's advisory verdict matches a decision as VERDICT_MATCHES says; decisions whose
  verdict is uncertain or missing, and 澄清正名 decisions (no fault was found, so the tolerance
  question did not arise), are not comparable and stay out of the share.
- Rectification items count when set in the period; on time = accepted by the officer on or
  before the due date in force (after the one extension, if granted), of the accepted items.
  Items closed together with their filing are closed but not accepted. Overdue now = open (not
  handed in) with the due date passed.
- Return visits count when due in the period, up to today: done on time, done late, overdue
  (not done, due date passed) or due today.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from bot.workdays import HOURS_PER_WORKDAY

# The self-check verdict (dialogs/policy/evaluator.py) and the review outcomes
# (dialogs/flows/tolerance.py OUTCOMES) it agrees with.
VERDICT_MATCHES: dict[str, frozenset[str]] = {
    "tolerable": frozenset({"exempt", "mitigate"}),
    "not_tolerable": frozenset({"not_tolerated"}),
}
COMPARABLE_OUTCOMES = frozenset({"exempt", "mitigate", "not_tolerated"})

OUTCOMES = ("accepted", "not_accepted", "returned", "pending", "withdrawn")

# Working hours to the first initial-review decision: (key, upper bound in hours, inclusive).
REVIEW_TIME_BUCKETS: tuple[tuple[str, float | None], ...] = (
    ("le_4h", 4.0),
    ("4h_1d", HOURS_PER_WORKDAY),
    ("1d_2d", 2 * HOURS_PER_WORKDAY),
    ("gt_2d", None),
)

# Unit-level cells below this are shown as "<3": a unit with one or two filings is a person.
SMALL_CELL = 3


def suppressed(count: int) -> int | str:
    """A unit-level cell as it may be shown: 1 and 2 become "<3" (0 identifies nobody)."""
    return f"<{SMALL_CELL}" if 0 < count < SMALL_CELL else count


def rate(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


@dataclass(frozen=True, slots=True)
class FilingCounts:
    # In OUTCOMES order (compute.py builds these positionally).
    accepted: int = 0
    not_accepted: int = 0
    returned: int = 0
    pending: int = 0
    withdrawn: int = 0

    @property
    def received(self) -> int:
        return self.accepted + self.not_accepted + self.returned + self.pending + self.withdrawn

    @property
    def acceptance_rate(self) -> float | None:
        return rate(self.accepted, self.accepted + self.not_accepted)

    def plus(self, outcome: str, count: int) -> FilingCounts:
        values = {name: getattr(self, name) for name in OUTCOMES}
        values[outcome] += count
        return FilingCounts(**values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "received": self.received,
            **{name: getattr(self, name) for name in OUTCOMES},
            "acceptance_rate": _rounded(self.acceptance_rate),
        }


@dataclass(frozen=True, slots=True)
class GroupCounts:
    """Filing outcomes of one category, unit or month."""

    key: str
    counts: FilingCounts

    def to_dict(self, name: str) -> dict[str, Any]:
        return {name: self.key, **self.counts.to_dict()}


@dataclass(frozen=True, slots=True)
class ReviewTime:
    decided: int  # filings with a first initial-review decision
    median_work_hours: float | None
    sla_breaches: int  # late_decisions + waiting_past_deadline
    late_decisions: int
    waiting_past_deadline: int
    histogram: tuple[tuple[str, int], ...]  # REVIEW_TIME_BUCKETS keys, in order

    def to_dict(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "median_work_hours": _rounded(self.median_work_hours, 2),
            "sla_breaches": self.sla_breaches,
            "late_decisions": self.late_decisions,
            "waiting_past_deadline": self.waiting_past_deadline,
            "histogram": [{"bucket": key, "count": count} for key, count in self.histogram],
        }


@dataclass(frozen=True, slots=True)
class Reviews:
    by_source: tuple[tuple[str, int], ...]  # opened in the period
    by_outcome: tuple[tuple[str, int], ...]  # decided in the period

    @property
    def opened(self) -> int:
        return sum(n for _, n in self.by_source)

    @property
    def decided(self) -> int:
        return sum(n for _, n in self.by_outcome)

    def to_dict(self) -> dict[str, Any]:
        return {
            "opened": self.opened,
            "decided": self.decided,
            "by_source": dict(self.by_source),
            "by_outcome": dict(self.by_outcome),
        }


@dataclass(frozen=True, slots=True)
class VerdictMatch:
    decided: int  # decisions in the period
    comparable: int  # of which with a comparable verdict and outcome
    matched: int

    @property
    def share(self) -> float | None:
        return rate(self.matched, self.comparable)

    def to_dict(self) -> dict[str, Any]:
        return {
            "decided": self.decided,
            "comparable": self.comparable,
            "matched": self.matched,
            "share": _rounded(self.share),
        }


@dataclass(frozen=True, slots=True)
class Rectification:
    open: int  # not yet accepted: open or handed in
    closed: int  # accepted, or closed with the filing
    accepted: int
    accepted_on_time: int
    overdue_now: int
    extended: int

    @property
    def total(self) -> int:
        return self.open + self.closed

    @property
    def on_time_rate(self) -> float | None:
        return rate(self.accepted_on_time, self.accepted)

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total,
            "open": self.open,
            "closed": self.closed,
            "accepted": self.accepted,
            "accepted_on_time": self.accepted_on_time,
            "on_time_rate": _rounded(self.on_time_rate),
            "overdue_now": self.overdue_now,
            "extended": self.extended,
        }


@dataclass(frozen=True, slots=True)
class Visits:
    due: int
    done_on_time: int
    done_late: int
    overdue: int
    due_today: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "due": self.due,
            "done_on_time": self.done_on_time,
            "done_late": self.done_late,
            "overdue": self.overdue,
            "due_today": self.due_today,
        }


@dataclass(frozen=True, slots=True)
class Stats:
    first_day: date | None  # the period, local days, inclusive; None = unbounded
    last_day: date | None
    jurisdictions: tuple[str, ...] | None  # None = every jurisdiction
    filings: FilingCounts
    categories: tuple[GroupCounts, ...]  # by category K, in pack order then any others
    situations: tuple[tuple[str, int], ...]  # claimed situation S -> received filings claiming it
    units: tuple[GroupCounts, ...]  # by unit code, most filings first (raw: suppress when shown)
    by_month: tuple[GroupCounts, ...]  # 'YYYY-MM', every month of the period with filings between
    review_time: ReviewTime
    reviews: Reviews
    verdict_match: VerdictMatch
    rectification: Rectification
    visits: Visits
    generated_at: str = field(default="")  # ISO time the figures were computed at

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, with stable English keys; counts are raw (see `suppressed` for unit views)."""
        return {
            "period": {
                "from": self.first_day.isoformat() if self.first_day else None,
                "to": self.last_day.isoformat() if self.last_day else None,
            },
            "jurisdictions": list(self.jurisdictions) if self.jurisdictions is not None else None,
            "generated_at": self.generated_at,
            "filings": self.filings.to_dict(),
            "categories": [c.to_dict("category") for c in self.categories],
            "situations": [{"situation": s, "claimed": n} for s, n in self.situations],
            "units": [u.to_dict("unit_code") for u in self.units],
            "by_month": [m.to_dict("month") for m in self.by_month],
            "review_time": self.review_time.to_dict(),
            "reviews": self.reviews.to_dict(),
            "verdict_match": self.verdict_match.to_dict(),
            "rectification": self.rectification.to_dict(),
            "visits": self.visits.to_dict(),
        }


def _rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)
