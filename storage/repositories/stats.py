"""The SQL of /stats and `rongcuo stats`: GROUP BY aggregations only, each answered from an index.

Every query returns small grouped rows (counts per month, per unit, per status ...); the service
(bot/services/stats/compute.py) folds them into the figures. What a query would otherwise have to
compute per row (the local month, office hours to initial review, the jurisdiction of a
rectification item, the advisory verdict of a decision) is stored when it happens.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Integer,
    and_,
    case,
    cast,
    delete,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    tuple_,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from storage.models import (
    Filing,
    FilingReviewRollup,
    FilingRollup,
    FilingUnitRollup,
    RectificationItem,
    ReturnVisit,
    RollupState,
    ToleranceReview,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
F = Filing


@dataclass(frozen=True, slots=True)
class StatsQuery:
    """A period of local calendar days (inclusive; None = unbounded) and the jurisdictions to count.

    `jurisdictions` None means every jurisdiction; an empty tuple matches nothing. `now` fixes
    what "overdue now" means, so one computation is consistent with itself.
    """

    first_day: date | None
    last_day: date | None
    jurisdictions: tuple[str, ...] | None
    now: datetime
    tz: ZoneInfo = SHANGHAI

    @property
    def start(self) -> datetime | None:
        """The first instant of the period, in UTC (inclusive)."""
        return None if self.first_day is None else _utc_midnight(self.first_day, self.tz)

    @property
    def end(self) -> datetime | None:
        """The instant after the period, in UTC (exclusive)."""
        return None if self.last_day is None else _utc_midnight(self.last_day + timedelta(days=1), self.tz)

    @property
    def today(self) -> date:
        return self.now.astimezone(self.tz).date()


def _utc_midnight(day: date, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, time(0), tz).astimezone(ZoneInfo("UTC"))


@dataclass(frozen=True, slots=True)
class StatsRow:
    """One group: the grouping values in order, and how many rows fell into it."""

    keys: tuple[Any, ...]
    count: int


@dataclass(frozen=True, slots=True)
class FilingRow:
    """One group of filings: how many, and how many of them were ever accepted (decision_seq set)."""

    keys: tuple[Any, ...]
    count: int
    accepted: int


@dataclass(frozen=True, slots=True)
class FilingGroups:
    by_month_category: list[FilingRow]  # keys: (submitted_month YYYYMM, category, situation_mask, status)
    by_unit: list[FilingRow]  # keys: (unit_code, status)
    by_review_hours: list[StatsRow]  # keys: (review_work_hours, review_late), decided filings only


# The rollup (storage/models/rollup.py). A refresh also recomputes the slices of filings changed
# up to ROLLUP_MARGIN before the watermark: a transaction stamps updated_at before it commits, and
# one that commits after a refresh read past its stamp is caught by the next refresh.
ROLLUP = "filing"
ROLLUP_MARGIN = timedelta(minutes=2)
ROLLUP_MONTHS_PER_STATEMENT = 12
ROLLUP_REBUILD_SLICES = 100
# filing_review_rollup buckets: quarter hours (fine enough that the one or two buckets the median
# falls in hold few filings, coarse enough that a slice has a few dozen, not hundreds).
REVIEW_BUCKET_CENTI = 25
REVIEW_BUCKETS_PER_HOUR = 100 // REVIEW_BUCKET_CENTI
FIRST_MONTH = 190001  # months before this are not real ones (no UTC range is derived for them)


def review_bucket(hours: Any) -> ColumnElement[int]:
    """Bucket b holds (b-1)/4 < hours <= b/4; hours are stored to the hundredth, so counting in
    whole hundredths (rounded) is exact. As migration 0009 writes it."""
    centi = cast(func.round(hours * 100), Integer)
    return (centi + (REVIEW_BUCKET_CENTI - 1)) // REVIEW_BUCKET_CENTI  # type: ignore[no-any-return]


def rollup_answers(q: StatsQuery) -> bool:
    """Whether the rollup holds this period: whole months (or unbounded) only."""
    return (q.first_day is None or q.first_day.day == 1) and (
        q.last_day is None or (q.last_day + timedelta(days=1)).day == 1
    )


@dataclass(frozen=True, slots=True)
class ReviewBucket:
    bucket: int
    decided: int
    late: int


@dataclass(frozen=True, slots=True)
class RollupRefresh:
    rebuilt: bool  # the whole rollup was built again
    slices: int  # (jurisdiction, month) slices recomputed (when not rebuilt)


class StatsRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def _grouped(
        self, columns: Sequence[Any], where: Sequence[ColumnElement[bool]], table: Any
    ) -> list[StatsRow]:
        query = select(*columns, func.count().label("n")).select_from(table).where(*where).group_by(*columns)
        result = await self.session.execute(query)
        return [StatsRow(tuple(row[:-1]), int(row[-1])) for row in result.all()]

    async def prepare(self) -> None:
        """Session settings for one statistics computation (PostgreSQL).

        Just-in-time compilation costs more than it saves on these short aggregations (it would
        start above jit_above_cost with a million filings); SET LOCAL ends with the transaction.
        """
        if self._dialect == "postgresql":
            await self.session.execute(select(func.set_config("jit", "off", True)))

    # Filings (by submission time)

    def _filings_where(self, q: StatsQuery) -> list[ColumnElement[bool]]:
        where = [_in_period(Filing.submitted_at, q)]
        if q.jurisdictions is not None:
            where.append(_in(Filing.jurisdiction_code, q.jurisdictions))
        return where

    async def filing_groups(self, q: StatsQuery) -> FilingGroups:
        """The filings of the period counted three ways, in as few passes as the engine allows."""
        if self._dialect == "postgresql":
            return await self._filing_groups_in_one_pass(q)
        where = self._filings_where(q)
        # SQLite has no GROUPING SETS; each GROUP BY streams through an index in its own order
        # (ix_filing_stats_month / _unit / _hours), so no pass sorts a million rows.
        return FilingGroups(
            by_month_category=await self._counted(
                [F.submitted_month, F.category, F.situation_mask, F.status],
                where,
                group_by=[F.submitted_month, F.category, F.status, F.situation_mask],  # the index's order
            ),
            by_unit=await self._counted([F.unit_code, F.status], where),
            by_review_hours=await self._grouped(
                [F.review_work_hours, F.review_late], [*where, F.review_work_hours.is_not(None)], Filing
            ),
        )

    async def _counted(
        self,
        columns: Sequence[Any],
        where: Sequence[ColumnElement[bool]],
        group_by: Sequence[Any] | None = None,
    ) -> list[FilingRow]:
        query = (
            select(*columns, func.count(), func.count(F.decision_seq))
            .where(*where)
            .group_by(*(group_by or columns))
        )
        rows = (await self.session.execute(query)).all()
        return [FilingRow(tuple(r[:-2]), int(r[-2]), int(r[-1])) for r in rows]

    async def _filing_groups_in_one_pass(self, q: StatsQuery) -> FilingGroups:
        # One index-only scan of ix_filing_stats feeds three hash tables; GROUPING() tells the
        # sets apart (a bit is set for each of its arguments the row's set does not group by).
        which = func.grouping(F.submitted_month, F.unit_code, F.review_work_hours)
        sets = func.grouping_sets(
            tuple_(F.submitted_month, F.category, F.status, F.situation_mask),
            tuple_(F.unit_code, F.status),
            tuple_(F.review_work_hours, F.review_late),
        )
        columns = [
            F.submitted_month,
            F.category,
            F.situation_mask,
            F.unit_code,
            F.status,
            F.review_work_hours,
            F.review_late,
        ]
        query = (
            select(which, *columns, func.count(), func.count(F.decision_seq))
            .where(*self._filings_where(q))
            .group_by(sets)
        )
        groups = FilingGroups([], [], [])
        for grouping, month, category, mask, unit, status, hours, late, n, accepted in (
            await self.session.execute(query)
        ).all():
            if grouping == 0b011:
                groups.by_month_category.append(FilingRow((month, category, mask, status), n, accepted))
            elif grouping == 0b101:
                groups.by_unit.append(FilingRow((unit, status), n, accepted))
            elif hours is not None:
                groups.by_review_hours.append(StatsRow((hours, late), n))
        return groups

    async def waiting_past_deadline(self, q: StatsQuery) -> int:
        """Filings of the period still without a first initial-review decision after its deadline
        (ix_filing_awaiting_review holds only the filings awaiting review)."""
        query = select(func.count()).where(
            *self._filings_where(q),
            # A literal, not a parameter: only then may the planners use the partial index.
            F.status == literal_column("'submitted'"),
            F.review_work_hours.is_(None),  # type: ignore[union-attr]
            F.review_due_at < q.now,  # type: ignore[operator]
        )
        return int((await self.session.execute(query)).scalar_one())

    async def review_hours(self, q: StatsQuery) -> list[StatsRow]:
        """keys: (review_work_hours, review_late) of the period's decided filings (live)."""
        where = [*self._filings_where(q), F.review_work_hours.is_not(None)]  # type: ignore[union-attr]
        return await self._grouped([F.review_work_hours, F.review_late], where, Filing)

    # The rollup: read

    def _rollup_where(self, table: Any, q: StatsQuery) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if q.first_day is not None:
            where.append(table.month >= q.first_day.year * 100 + q.first_day.month)
        if q.last_day is not None:
            where.append(table.month <= q.last_day.year * 100 + q.last_day.month)
        if q.jurisdictions is not None:
            where.append(_in(table.jurisdiction_code, q.jurisdictions))
        return where

    async def rollup_groups(self, q: StatsQuery) -> FilingGroups:
        """As filing_groups, from the rollup (a whole-month period: see rollup_answers); the review
        hours come by bucket from rollup_review_buckets instead."""
        r, u = FilingRollup, FilingUnitRollup
        keys = [r.month, r.category, r.situation_mask, r.status]
        by_month = select(*keys, func.sum(r.filings), func.sum(r.accepted)).where(*self._rollup_where(r, q))
        by_unit = select(u.unit_code, u.status, func.sum(u.filings), func.sum(u.accepted))
        by_unit = by_unit.where(*self._rollup_where(u, q)).group_by(u.unit_code, u.status)
        return FilingGroups(
            by_month_category=[
                FilingRow(tuple(row[:-2]), int(row[-2]), int(row[-1]))
                for row in (await self.session.execute(by_month.group_by(*keys))).all()
            ],
            by_unit=[
                FilingRow(tuple(row[:-2]), int(row[-2]), int(row[-1]))
                for row in (await self.session.execute(by_unit)).all()
            ],
            by_review_hours=[],
        )

    async def rollup_review_buckets(self, q: StatsQuery) -> list[ReviewBucket]:
        """First initial-review decisions by bucket, in bucket order."""
        h = FilingReviewRollup
        query = (
            select(h.bucket, func.sum(h.decided), func.sum(h.late))
            .where(*self._rollup_where(h, q))
            .group_by(h.bucket)
            .order_by(h.bucket)
        )
        return [
            ReviewBucket(int(b), int(n), int(late))
            for b, n, late in (await self.session.execute(query)).all()
        ]

    async def review_hours_in_bucket(self, q: StatsQuery, bucket: int) -> list[tuple[float, int]]:
        """The exact hours (and how many filings took them) of the period's decisions in one
        bucket: a range scan of ix_filing_review_hours (PostgreSQL) / ix_filing_stats_hours."""
        # Half a hundredth inside the bucket's edges: stored hours are hundredths, floats are not exact.
        low = ((bucket - 1) * REVIEW_BUCKET_CENTI + 0.5) / 100
        high = (bucket * REVIEW_BUCKET_CENTI + 0.5) / 100
        hours = F.review_work_hours
        query = (
            select(hours, func.count())
            .where(*self._filings_where(q), hours.is_not(None), hours >= low, hours < high)  # type: ignore[union-attr,operator]
            .group_by(hours)
        )
        return [(float(value), int(n)) for value, n in (await self.session.execute(query)).all()]

    # The rollup: refresh

    async def refresh_rollup(
        self, now: datetime, *, margin: timedelta = ROLLUP_MARGIN, rebuild: bool = False
    ) -> RollupRefresh:
        """Bring the rollup up to date in this transaction: recompute (DELETE + INSERT ... SELECT)
        the slices whose filings changed since the watermark, or everything when `rebuild` or
        never built. Nothing is written (and no lock taken) when nothing changed."""
        if not rebuild:
            watermark = await self._watermark(lock=False)
            if watermark is not None and not (await self._changed(watermark - margin))[0]:
                # The watermark stays: advancing it would be a write (and a lock) for nothing.
                return RollupRefresh(rebuilt=False, slices=0)
        # One refresh at a time: two interleaved DELETE + INSERTs of one slice would both insert.
        # (SQLite: every transaction here begins IMMEDIATE, which serializes writers already.)
        watermark = await self._watermark(lock=True)
        slices, latest = ([], None) if watermark is None else await self._changed(watermark - margin)
        # Past a point, recomputing slice by slice costs more than counting everything once.
        if rebuild or watermark is None or len(slices) > ROLLUP_REBUILD_SLICES:
            latest = (await self.session.execute(select(func.max(F.updated_at)))).scalar_one_or_none()
            for table in (FilingRollup, FilingUnitRollup, FilingReviewRollup):
                await self.session.execute(delete(table))
            for statement in self._rollup_inserts([]):
                await self.session.execute(statement)
            await self._set_watermark(max(latest or now, now), now)
            return RollupRefresh(rebuilt=True, slices=0)
        # Grouped by month: one condition per month (its jurisdictions in a list) keeps the OR short
        # and each of its parts a range scan of ix_filing_stats / the rollup's primary key.
        by_month: dict[int, list[str]] = defaultdict(list)
        for jurisdiction, month in slices:
            by_month[month].append(jurisdiction)
        months = sorted(by_month)
        for start in range(0, len(months), ROLLUP_MONTHS_PER_STATEMENT):
            chunk = {
                month: tuple(by_month[month]) for month in months[start : start + ROLLUP_MONTHS_PER_STATEMENT]
            }
            for table in (FilingRollup, FilingUnitRollup, FilingReviewRollup):
                await self.session.execute(
                    delete(table).where(
                        or_(
                            *(
                                and_(table.month == m, _in(table.jurisdiction_code, js))
                                for m, js in chunk.items()
                            )
                        )
                    )
                )
            for statement in self._rollup_inserts([_slices_of_filings(chunk)]):
                await self.session.execute(statement)
        # Up to now (what committed later with an older stamp is the margin's business), or past
        # it when a clock elsewhere runs ahead: the watermark never goes back.
        await self._set_watermark(max(watermark, now, latest or now), now)
        return RollupRefresh(rebuilt=False, slices=len(slices))

    async def _watermark(self, *, lock: bool) -> datetime | None:
        query = select(RollupState.watermark).where(RollupState.name == ROLLUP)
        found = (await self.session.execute(query.with_for_update() if lock else query)).first()
        if found is None:  # the row migration 0009 made is gone: start again from nothing
            self.session.add(RollupState(name=ROLLUP))
            await self.session.flush()
            return None
        return found[0]

    async def _set_watermark(self, watermark: datetime | None, now: datetime) -> None:
        await self.session.execute(
            update(RollupState)
            .where(RollupState.name == ROLLUP)
            .values(watermark=watermark, refreshed_at=now)
        )

    async def _changed(self, since: datetime) -> tuple[list[tuple[str, int]], datetime | None]:
        """The slices with a filing changed after `since`, and the latest change among all
        filings (drafts too) read by the same statement. Grouped here, not by the database: a
        GROUP BY lets SQLite's planner scan a whole index in group order instead of the few
        entries of ix_filing_updated past `since`."""
        query = select(F.jurisdiction_code, F.submitted_month, F.updated_at).where(F.updated_at > since)  # type: ignore[operator]
        slices: set[tuple[str, int]] = set()
        latest: datetime | None = None
        for jurisdiction, month, at in (await self.session.execute(query)).all():
            if jurisdiction is not None and month is not None:
                slices.add((jurisdiction, month))
            latest = at if latest is None or at > latest else latest
        return sorted(slices), latest

    def _rollup_inserts(self, where: list[ColumnElement[bool]]) -> list[Any]:
        """INSERT ... SELECT of the three rollup tables from the filings matching `where`."""
        submitted = [
            F.submitted_at.is_not(None),  # type: ignore[union-attr]
            F.submitted_month.is_not(None),  # type: ignore[union-attr]
            F.jurisdiction_code.is_not(None),  # type: ignore[union-attr]
            *where,
        ]
        category, mask = func.coalesce(F.category, ""), func.coalesce(F.situation_mask, 0)
        unit, bucket = func.coalesce(F.unit_code, ""), review_bucket(F.review_work_hours)
        late = func.sum(case((F.review_late.is_(True), 1), else_=0))  # type: ignore[union-attr]
        by_category = [F.jurisdiction_code, F.submitted_month, category, mask, F.status]
        by_unit = [F.jurisdiction_code, F.submitted_month, unit, F.status]
        by_bucket = [F.jurisdiction_code, F.submitted_month, bucket]
        r, u, h = FilingRollup, FilingUnitRollup, FilingReviewRollup
        return [
            insert(r).from_select(
                ["jurisdiction_code", "month", "category", "situation_mask", "status", "filings", "accepted"],
                select(*by_category, func.count(), func.count(F.decision_seq))
                .where(*submitted)
                .group_by(*by_category),
            ),
            insert(u).from_select(
                ["jurisdiction_code", "month", "unit_code", "status", "filings", "accepted"],
                select(*by_unit, func.count(), func.count(F.decision_seq))
                .where(*submitted)
                .group_by(*by_unit),
            ),
            insert(h).from_select(
                ["jurisdiction_code", "month", "bucket", "decided", "late"],
                select(*by_bucket, func.count(), late)
                .where(*submitted, F.review_work_hours.is_not(None))  # type: ignore[union-attr]
                .group_by(*by_bucket),
            ),
        ]

    # Tolerance reviews (opened and decided in the period)

    async def reviews_by_source(self, q: StatsQuery) -> list[StatsRow]:
        """keys: (source,) of reviews opened in the period."""
        where = [_in_period(ToleranceReview.opened_at, q)]
        if q.jurisdictions is not None:
            where.append(_in(ToleranceReview.jurisdiction_code, q.jurisdictions))
        return await self._grouped([ToleranceReview.source], where, ToleranceReview)

    async def decisions(self, q: StatsQuery) -> list[StatsRow]:
        """keys: (outcome, advisory_verdict) of reviews decided in the period."""
        where = [_in_period(ToleranceReview.decided_at, q), ToleranceReview.outcome.is_not(None)]  # type: ignore[union-attr]
        if q.jurisdictions is not None:
            where.append(_in(ToleranceReview.jurisdiction_code, q.jurisdictions))
        return await self._grouped(
            [ToleranceReview.outcome, ToleranceReview.advisory_verdict], where, ToleranceReview
        )

    # Rectification items (set in the period) and return visits (due in the period)

    async def rectification(self, q: StatsQuery) -> list[StatsRow]:
        """keys: (status, extended, accepted by its due date?, open past its due date now?)."""
        r = RectificationItem
        on_time = and_(r.accepted_at.is_not(None), self._local_date(r.accepted_at, q.tz) <= r.due_date)  # type: ignore[union-attr]
        overdue = and_(r.status == "open", r.due_date < q.today)  # type: ignore[operator]
        where = [_in_period(r.created_at, q)]
        if q.jurisdictions is not None:
            where.append(_in(r.jurisdiction_code, q.jurisdictions))
        flags = [case((on_time, 1), else_=0), case((overdue, 1), else_=0)]
        return await self._grouped([r.status, r.extended, *flags], where, r)

    async def visits(self, q: StatsQuery) -> list[StatsRow]:
        """keys: (status, made by its due date?, due date passed?) of visits due in the period up
        to today (later ones are not due yet)."""
        v = ReturnVisit
        last = q.today if q.last_day is None else min(q.last_day, q.today)
        where: list[ColumnElement[bool]] = [v.due_date <= last]  # type: ignore[list-item]
        if q.first_day is not None:
            where.append(v.due_date >= q.first_day)  # type: ignore[arg-type]
        if q.jurisdictions is not None:
            where.append(_in(v.jurisdiction_code, q.jurisdictions))
        on_time = case((and_(v.visited_on.is_not(None), v.visited_on <= v.due_date), 1), else_=0)  # type: ignore[union-attr,operator]
        passed = case((v.due_date < q.today, 1), else_=0)  # type: ignore[operator]
        return await self._grouped([v.status, on_time, passed], where, v)

    def _local_date(self, column: Any, tz: ZoneInfo) -> ColumnElement[Any]:
        if self._dialect == "postgresql":
            return cast(func.timezone(tz.key, column), Date)
        # SQLite has no time zones; the offset is fixed for zones without summer time (China's).
        offset = datetime.now(tz).utcoffset() or timedelta(0)
        return func.date(column, f"{int(offset.total_seconds())} seconds")


def _in_period(column: Any, q: StatsQuery) -> ColumnElement[bool]:
    conditions = [column.is_not(None)]
    if q.start is not None:
        conditions.append(column >= q.start)
    if q.end is not None:
        conditions.append(column < q.end)
    return and_(*conditions)


def _in(column: Any, values: tuple[str, ...]) -> ColumnElement[bool]:
    if not values:
        return literal(False)  # type: ignore[return-value]
    return column.in_(values) if len(values) > 1 else column == values[0]


def _slices_of_filings(by_month: dict[int, tuple[str, ...]]) -> ColumnElement[bool]:
    """The filings of some (jurisdiction, month) slices, through ix_filing_stats: the UTC range
    of each month widened by a day either way (whatever the time zone the month was taken in),
    the month itself then exact."""
    conditions = []
    for month, jurisdictions in by_month.items():
        year, number = divmod(month, 100)
        condition = and_(_in(F.jurisdiction_code, jurisdictions), F.submitted_month == month)
        if FIRST_MONTH <= month and 1 <= number <= 12:
            first = datetime(year, number, 1, tzinfo=ZoneInfo("UTC"))
            following = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=ZoneInfo("UTC"))
            condition = and_(
                condition,
                F.submitted_at >= first - timedelta(days=1),  # type: ignore[operator]
                F.submitted_at < following + timedelta(days=1),  # type: ignore[operator]
            )
        conditions.append(condition)
    return or_(*conditions)
