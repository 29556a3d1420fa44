"""What statistics need, written when it happens (in the transaction of the change itself), so that
the /stats queries only count. Migration 0007 fills the same values for older rows."""

from __future__ import annotations

from bot.services.calls import Call
from storage.models import Filing, ToleranceReview
from storage.models.filing import situation_mask


def submitted(call: Call, filing: Filing) -> None:
    """At submission: the local month, and the situations claimed as a bit set."""
    assert filing.submitted_at is not None
    local = filing.submitted_at.astimezone(call.env.tz)
    filing.submitted_month = local.year * 100 + local.month
    filing.situation_mask = situation_mask(str(s) for s in filing.answers.get("situations") or [])


def initial_review_decided(call: Call, filing: Filing) -> None:
    """At an accept / not-accept / return decision: the first one's office hours and lateness.

    Later decisions (on a returned filing answered and decided again) keep the first figures:
    "time to initial review" is how long the cadre waited for the commission's first answer.
    """
    if filing.review_work_hours is not None or filing.submitted_at is None:
        return
    hours = call.env.calendar.work_hours_between(filing.submitted_at, call.now, call.env.tz)
    filing.review_work_hours = round(hours, 2)
    filing.review_late = filing.review_due_at is not None and call.now > filing.review_due_at


async def tolerance_decided(call: Call, review: ToleranceReview, filing: Filing) -> None:
    """At a joint-meeting decision: the advisory verdict of the filing's self-check, if any."""
    if filing.selfcheck_id is None:
        return
    record = await call.uow.selfchecks.get(filing.selfcheck_id)
    review.advisory_verdict = record.verdict if record is not None else None
