"""Fold the grouped rows of storage/repositories/stats.py into the figures of model.py."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable, Iterable
from typing import Any

from bot.services.stats.model import (
    COMPARABLE_OUTCOMES,
    OUTCOMES,
    REVIEW_TIME_BUCKETS,
    VERDICT_MATCHES,
    FilingCounts,
    GroupCounts,
    Rectification,
    Reviews,
    ReviewTime,
    Stats,
    VerdictMatch,
    Visits,
)
from dialogs.flows.tolerance import OUTCOMES as REVIEW_OUTCOMES
from dialogs.flows.tolerance import SOURCES as REVIEW_SOURCES
from storage.models.filing import situations_of
from storage.repositories.stats import (
    REVIEW_BUCKETS_PER_HOUR,
    FilingRow,
    ReviewBucket,
    StatsQuery,
    StatsRepository,
    StatsRow,
    rollup_answers,
)
from storage.uow import UnitOfWork

# Filing status (after submission) -> outcome, for filings never accepted (see model.py).
_NOT_ACCEPTED_OUTCOME = {"not_accepted": "not_accepted", "returned": "returned", "submitted": "pending"}
RECTIFICATION_CLOSED = ("accepted", "closed")


# Statuses only an accepted filing reaches (decision_seq is set on acceptance; this is the fallback).
_ACCEPTED_STATUSES = frozenset({"accepted", "in_progress", "under_review", "decided", "closed"})


_OUTCOME_INDEX = {outcome: i for i, outcome in enumerate(OUTCOMES)}
_ACCEPTED = _OUTCOME_INDEX["accepted"]


def filing_outcome(status: str, accepted: bool) -> str:
    if accepted or status in _ACCEPTED_STATUSES:
        return "accepted"
    return _NOT_ACCEPTED_OUTCOME.get(status, "withdrawn")


def _month_label(month: int | None) -> str:
    return "—" if month is None else f"{month // 100:04d}-{month % 100:02d}"


def _fold(rows: Iterable[FilingRow], key_of: Callable[[tuple[Any, ...]], Any]) -> dict[Any, FilingCounts]:
    """Outcome counts per key; each row's keys end with the status."""
    folded: dict[Any, list[int]] = defaultdict(lambda: [0] * len(OUTCOMES))
    for row in rows:
        counts = folded[key_of(row.keys)]
        counts[_ACCEPTED] += row.accepted
        counts[_OUTCOME_INDEX[filing_outcome(row.keys[-1], False)]] += row.count - row.accepted
    return {key: FilingCounts(*counts) for key, counts in folded.items()}


def median(frequency: Iterable[tuple[float, int]]) -> float | None:
    """The median of values given with their counts (the mean of the middle two for an even total),
    as percentile_cont(0.5) gives it."""
    ordered = sorted((value, count) for value, count in frequency if count > 0)
    total = sum(count for _, count in ordered)
    if total == 0:
        return None
    wanted = ((total - 1) // 2, total // 2)  # 0-based positions of the middle value(s)
    found: list[float] = []
    seen = 0
    for value, count in ordered:
        found += [value for position in wanted if seen <= position < seen + count]
        seen += count
    return (found[0] + found[1]) / 2


def _months_between(first: int, last: int) -> list[int]:
    months, month = [], first
    while month <= last:
        months.append(month)
        month = month + 89 if month % 100 == 12 else month + 1
    return months


def _ordered(folded: dict[str, FilingCounts], order: Iterable[str]) -> tuple[GroupCounts, ...]:
    known = [k for k in order if k in folded]
    rest = sorted(k for k in folded if k not in set(known))
    return tuple(GroupCounts(k, folded[k]) for k in [*known, *rest])


def review_time(rows: Iterable[StatsRow], waiting: int) -> ReviewTime:
    counts = dict.fromkeys((key for key, _ in REVIEW_TIME_BUCKETS), 0)
    decided = late = 0
    frequency: list[tuple[float, int]] = []
    for row in rows:
        hours, was_late = row.keys
        decided += row.count
        late += row.count if was_late else 0
        frequency.append((float(hours), row.count))
        for key, upper in REVIEW_TIME_BUCKETS:
            if upper is None or hours <= upper:
                counts[key] += row.count
                break
    return ReviewTime(
        decided=decided,
        median_work_hours=median(frequency),
        sla_breaches=late + waiting,
        late_decisions=late,
        waiting_past_deadline=waiting,
        histogram=tuple(counts.items()),
    )


def verdict_match(rows: Iterable[StatsRow]) -> VerdictMatch:
    decided = comparable = matched = 0
    for row in rows:
        outcome, verdict = row.keys
        decided += row.count
        if outcome in COMPARABLE_OUTCOMES and verdict in VERDICT_MATCHES:
            comparable += row.count
            matched += row.count if outcome in VERDICT_MATCHES[verdict] else 0
    return VerdictMatch(decided=decided, comparable=comparable, matched=matched)


def rectification(rows: Iterable[StatsRow]) -> Rectification:
    open_ = closed = accepted = on_time = overdue = extended = 0
    for row in rows:
        status, was_extended, accepted_on_time, overdue_now = row.keys
        if status in RECTIFICATION_CLOSED:
            closed += row.count
        else:
            open_ += row.count
        accepted += row.count if status == "accepted" else 0
        on_time += row.count if status == "accepted" and accepted_on_time else 0
        overdue += row.count if overdue_now else 0
        extended += row.count if was_extended else 0
    return Rectification(
        open=open_,
        closed=closed,
        accepted=accepted,
        accepted_on_time=on_time,
        overdue_now=overdue,
        extended=extended,
    )


def visits(rows: Iterable[StatsRow]) -> Visits:
    due = on_time = late = overdue = today = 0
    for row in rows:
        status, made_on_time, passed = row.keys
        due += row.count
        if status == "done":
            on_time += row.count if made_on_time else 0
            late += 0 if made_on_time else row.count
        elif passed:
            overdue += row.count
        else:
            today += row.count
    return Visits(due=due, done_on_time=on_time, done_late=late, overdue=overdue, due_today=today)


# Each histogram bound as the last rollup bucket below it (None: the bounds are not bucket edges,
# and the review figures are counted live).
_BUCKET_BOUNDS: tuple[tuple[str, int | None], ...] | None = (
    tuple(
        (key, None if upper is None else round(upper * REVIEW_BUCKETS_PER_HOUR))
        for key, upper in REVIEW_TIME_BUCKETS
    )
    if all(
        upper is None or (upper * REVIEW_BUCKETS_PER_HOUR).is_integer() for _, upper in REVIEW_TIME_BUCKETS
    )
    else None
)


async def _rollup_review_time(repo: StatsRepository, query: StatsQuery, waiting: int) -> ReviewTime:
    """review_time from the rollup's buckets; the exact median from the filings of the one or
    two buckets it falls in."""
    if _BUCKET_BOUNDS is None:
        return review_time(await repo.review_hours(query), waiting)
    buckets = await repo.rollup_review_buckets(query)
    counts = dict.fromkeys((key for key, _ in REVIEW_TIME_BUCKETS), 0)
    for row in buckets:
        key = next(key for key, last in _BUCKET_BOUNDS if last is None or row.bucket <= last)
        counts[key] += row.decided
    decided = sum(row.decided for row in buckets)
    late = sum(row.late for row in buckets)
    return ReviewTime(
        decided=decided,
        median_work_hours=await _bucketed_median(repo, query, buckets, decided),
        sla_breaches=late + waiting,
        late_decisions=late,
        waiting_past_deadline=waiting,
        histogram=tuple(counts.items()),
    )


async def _bucketed_median(
    repo: StatsRepository, query: StatsQuery, buckets: list[ReviewBucket], total: int
) -> float | None:
    wanted = ((total - 1) // 2, total // 2)
    frequency: list[tuple[float, int]] = []
    seen = 0
    for row in buckets:
        if any(seen <= position < seen + row.decided for position in wanted):
            exact = await repo.review_hours_in_bucket(query, row.bucket)
            if sum(n for _, n in exact) != row.decided:
                # The filings moved on since the refresh (or lie outside any slice): count live.
                return median((float(r.keys[0]), r.count) for r in await repo.review_hours(query))
            frequency += exact
        else:
            # Any value inside the bucket keeps the order; the median never picks it.
            frequency.append((row.bucket / REVIEW_BUCKETS_PER_HOUR, row.decided))
        seen += row.decided
    return median(frequency)


async def compute_stats(
    uow: UnitOfWork,
    query: StatsQuery,
    *,
    categories: Iterable[str] = (),
    situations: Iterable[str] = (),
    use_rollup: bool = True,
) -> Stats:
    """Every figure of /stats for one period and set of jurisdictions, in one transaction.

    `categories` and `situations` (the policy pack's ids) fix the order they are listed in and
    make the ones nobody chose show as 0. Whole-month periods are counted from the rollup,
    brought up to date first (only the slices changed since the last refresh, usually none or a
    few); other periods, and `use_rollup=False`, count the filings themselves. Both give the same
    figures; what depends on the time now (waiting past the deadline) is always counted live.
    """
    # Counting a million filings takes SQLite most of a second in one statement: off the loop.
    with uow.long_running():
        return await _compute_stats(
            uow, query, categories=categories, situations=situations, use_rollup=use_rollup
        )


async def _compute_stats(
    uow: UnitOfWork,
    query: StatsQuery,
    *,
    categories: Iterable[str],
    situations: Iterable[str],
    use_rollup: bool,
) -> Stats:
    repo = uow.stats
    # Reviews, rectification items and visits are separate, smaller tables: on PostgreSQL they are
    # counted on other connections while this one counts the filings (the machine's cores work
    # side by side). SQLite gains nothing: its transactions take turns for the write lock.
    side = None if uow.database.is_sqlite else asyncio.create_task(_side_figures_apart(uow, query))
    try:
        await repo.prepare()
        waiting = await repo.waiting_past_deadline(query)
        if use_rollup and rollup_answers(query):
            await repo.refresh_rollup(query.now)
            groups = await repo.rollup_groups(query)
            review = await _rollup_review_time(repo, query, waiting)
        else:
            groups = await repo.filing_groups(query)
            review = review_time(groups.by_review_hours, waiting)
        by_category = _fold(groups.by_month_category, lambda keys: keys[1] or "—")
        categories = list(categories)
        for category in categories:
            by_category.setdefault(category, FilingCounts())
        by_month_raw = _fold(groups.by_month_category, lambda keys: keys[0])
        months: list[int] = sorted(m for m in by_month_raw if m is not None)
        bounded = query.first_day is not None and query.last_day is not None
        if bounded:
            # A bounded period lists each of its months, the empty ones too (charts need them).
            assert query.first_day is not None and query.last_day is not None
            months.append(query.first_day.year * 100 + query.first_day.month)
            months.append(query.last_day.year * 100 + query.last_day.month)
        if months:
            months = _months_between(min(months), max(months))
        total = FilingCounts()
        for counts in by_category.values():
            for outcome in OUTCOMES:
                total = total.plus(outcome, getattr(counts, outcome))
        units = _fold(groups.by_unit, lambda keys: keys[0] or "—")
        claimed: dict[str, int] = defaultdict(int)
        for row in groups.by_month_category:
            for situation in situations_of(row.keys[2] or 0):
                claimed[situation] += row.count
        ordered_situations = list(situations)
        situation_rows = tuple(
            (s, claimed.get(s, 0))
            for s in [*ordered_situations, *sorted(set(claimed) - set(ordered_situations))]
        )
    except BaseException:
        # A failed count must not leave the other connections' queries running unowned.
        if side is not None:
            side.cancel()
        raise
    by_source, decisions, items, visit_rows = (
        await side if side is not None else await _side_figures(repo, query)
    )
    opened = {row.keys[0]: row.count for row in by_source}
    decided: dict[str, int] = defaultdict(int)
    for row in decisions:
        decided[row.keys[0]] += row.count
    return Stats(
        first_day=query.first_day,
        last_day=query.last_day,
        jurisdictions=query.jurisdictions,
        filings=total,
        categories=_ordered(by_category, categories),
        situations=situation_rows,
        units=tuple(
            sorted(
                (GroupCounts(k, v) for k, v in units.items()),
                key=lambda g: (-g.counts.received, g.key),
            )
        ),
        by_month=tuple(GroupCounts(_month_label(m), by_month_raw.get(m, FilingCounts())) for m in months),
        review_time=review,
        reviews=Reviews(
            by_source=_with_zeros(opened, REVIEW_SOURCES),
            by_outcome=_with_zeros(decided, REVIEW_OUTCOMES),
        ),
        verdict_match=verdict_match(decisions),
        rectification=rectification(items),
        visits=visits(visit_rows),
        generated_at=query.now.astimezone(query.tz).isoformat(timespec="seconds"),
    )


async def _side_figures(repo: StatsRepository, query: StatsQuery) -> tuple[Any, Any, Any, Any]:
    return (
        await repo.reviews_by_source(query),
        await repo.decisions(query),
        await repo.rectification(query),
        await repo.visits(query),
    )


async def _side_figures_apart(uow: UnitOfWork, query: StatsQuery) -> tuple[Any, Any, Any, Any]:
    """The same, each query in its own short read-only transaction, all at once.

    Each sees its own snapshot, a few milliseconds apart from the filing figures': for counts
    that people read by the dozen this is no loss, and it is what keeps /stats quick.
    """

    async def one(fetch: Callable[[StatsRepository], Any]) -> Any:
        async with uow.database.sessions() as session:
            repo = StatsRepository(session)
            await repo.prepare()
            return await fetch(repo)

    by_source, decisions, items, visit_rows = await asyncio.gather(
        one(lambda r: r.reviews_by_source(query)),
        one(lambda r: r.decisions(query)),
        one(lambda r: r.rectification(query)),
        one(lambda r: r.visits(query)),
    )
    return by_source, decisions, items, visit_rows


def _with_zeros(counts: dict[str, int], known: Iterable[str]) -> tuple[tuple[str, int], ...]:
    known = list(known)
    return tuple((k, counts.get(k, 0)) for k in [*known, *sorted(set(counts) - set(known))])
