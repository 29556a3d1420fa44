"""A small fixed data set for the statistics tests, inserted row by row, with every figure the
tests expect worked out by hand below. "Today" is the clock fixture's 2026-11-23 (Monday, 09:30
in Kunming); all times are local (Asia/Shanghai, UTC+8) unless marked UTC.

Jurisdiction 嵩明县 (530127), filings submitted in 2026 (the period "2026"):

  group unit       cat submitted         outcome       n  hours late situations
  A     杨桥 U1    K1  01-15 10:00       accepted     15   3.0  no   S4 S6
  B     杨桥 U1    K1  02-10 10:00       not_accepted  5   6.0  no   S4 S6
  C     杨桥 U1    K6  02-10 10:00       accepted     16  10.0  yes  S4
  D     杨桥 U1    K6  03-05 10:00       not_accepted  2  20.0  yes  S4
  E     杨桥 U1    K6  03-05 10:00       returned      1   2.0  no   S4
  F     杨桥 U1    K6  11-18 10:00       pending       1   —    —    S4   (due 11-19 23:59: past)
  G     嵩阳 U2    K6  01-15 10:00       accepted      2   3.0  no   S4
  H     嵩阳 U2    K6  01-15 10:00       not_accepted  6   6.0  no   S4
  I     嵩阳 U2    K6  03-05 10:00       withdrawn     1   —    —    S4
  J     杨林 U3    K9  01-01 00:30       accepted      1  10.0  no   S3   (2025-12-31 16:30 UTC)
  K     杨林 U3    K9  02-10 10:00       not_accepted  1  20.0  no   S3

Filings: accepted 15+16+2+1 = 34, not accepted 5+2+6+1 = 14, returned 1, pending 1, withdrawn 1,
received 51; acceptance rate 34 / (34+14) = 70.8%. Of group A's 15, three moved on after
acceptance (closed, withdrawn, under review): still accepted.
By category: K1 20 (15 acc, 5 not); K6 16+2+1+1+2+6+1 = 29 (18 acc, 8 not); K9 2 (1 acc, 1 not).
By unit: 杨桥 40 (31 acc, 7 not); 嵩阳 9 (2 acc -> "<3", 6 not); 杨林 2 (1, 1: all "<3").
By month: 2026-01 A+G+H+J = 24 (18 acc, 6 not); 2026-02 B+C+K = 22 (16 acc, 6 not);
  2026-03 D+E+I = 4 (2 not, 1 returned, 1 withdrawn); 2026-11 F = 1 pending; other months 0.
Situations: S4 15+5+16+2+1+1+2+6+1 = 49; S6 15+5 = 20; S3 2; S1 S2 S5 0.
Time to initial review (49 first decisions): 2.0 x1, 3.0 x17, 6.0 x11, 10.0 x17, 20.0 x3;
  the 25th value is 6.0 = the median. Buckets: <=4h 18, 4h-1wd 11, 1-2wd 17, >2wd 3.
  Late decisions 16+2 = 18, waiting past the deadline 1 (F): 19 SLA breaches.

Noise that must not count for 嵩明 in 2026: a 2025-12-31 23:30 filing (15:30 UTC, 2025 locally),
two drafts, and 安宁市 (530181): 4 accepted in 2026-05 with 1.0, 2.0, 3.0, 4.0 hours (median 2.5)
and 1 pending submitted 2026-11-23 09:00 (due 11-24: not late), all claiming S1.

Tolerance reviews of 嵩明 (opened / decided / outcome / self-check verdict):
  R1 2026-04-01 complaint        2026-05-01 exempt        tolerable      match
  R2 2026-04-02 linked_filing    2026-05-02 exempt        tolerable      match
  R3 2026-04-03 complaint        2026-05-03 mitigate      uncertain      not comparable
  R4 2026-04-04 audit            2026-05-04 not_tolerated not_tolerable  match
  R5 2025-11-01 inspection       2026-01-10 not_tolerated tolerable      mismatch
  R6 2025-11-02 self_application 2026-01-11 cleared       tolerable      not comparable
  R7 2026-06-01 complaint        (verifying)
  R8 2026-06-02 linked_filing    (verifying)
  Opened in 2026: complaint 3 (R1 R3 R7), linked_filing 2 (R2 R8), audit 1 (R4): 6.
  Decided in 2026: exempt 2, mitigate 1, not_tolerated 2, cleared 1: 6; matched 3 of 4 comparable
  (75.0%), 2 not comparable. (安宁 has one more decided review, which does not count.)

Rectification items of 嵩明 set in 2026 (due / status / accepted at):
  1 03-31 accepted 03-31 23:00 (15:00 UTC)   on time (the same local day)
  2 03-31 accepted 04-01 00:30 (03-31 16:30 UTC)  late (the next local day)
  3 06-30 accepted 06-20, extended from 05-31  on time
  4 10-31 open                                 overdue now
  5 12-31 open                                 not yet due
  6 11-01 submitted                            handed in: open, not overdue
  7 05-01 closed with the filing               closed, not accepted
  total 7, open 3, closed 4, accepted 3, on time 2 (66.7%), overdue now 1, extended 1.
  (An item set in 2025-12 and one of 安宁 do not count.)

Return visits of 嵩明 due from 2026-01-01 to today:
  03-01 done 02-28 on time; 03-01 done 03-01 on time; 04-01 done 04-10 late; 11-01 planned:
  overdue; 11-23 planned: due today. Not counted: 12-15 (not due yet), 2025-12-20 (2025).
  due 5, on time 2, late 1, overdue 1, due today 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.runtime import Runtime
from storage.models import Filing, RectificationItem, ReturnVisit, ToleranceReview
from storage.models.filing import situation_mask
from storage.uow import UnitOfWork

SHANGHAI = ZoneInfo("Asia/Shanghai")
SONGMING, ANNING = "530127", "530181"
U1, U2, U3, ANNING_UNIT = "530127002", "530127001", "530127003", "530181001"


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@dataclass(frozen=True)
class Group:
    unit: str
    category: str
    submitted: str
    outcome: str
    n: int
    hours: float | None
    late: bool | None
    situations: tuple[str, ...]


SONGMING_2026 = (
    Group(U1, "K1", "2026-01-15 10:00", "accepted", 15, 3.0, False, ("S4", "S6")),
    Group(U1, "K1", "2026-02-10 10:00", "not_accepted", 5, 6.0, False, ("S4", "S6")),
    Group(U1, "K6", "2026-02-10 10:00", "accepted", 16, 10.0, True, ("S4",)),
    Group(U1, "K6", "2026-03-05 10:00", "not_accepted", 2, 20.0, True, ("S4",)),
    Group(U1, "K6", "2026-03-05 10:00", "returned", 1, 2.0, False, ("S4",)),
    Group(U1, "K6", "2026-11-18 10:00", "pending", 1, None, None, ("S4",)),
    Group(U2, "K6", "2026-01-15 10:00", "accepted", 2, 3.0, False, ("S4",)),
    Group(U2, "K6", "2026-01-15 10:00", "not_accepted", 6, 6.0, False, ("S4",)),
    Group(U2, "K6", "2026-03-05 10:00", "withdrawn", 1, None, None, ("S4",)),
    Group(U3, "K9", "2026-01-01 00:30", "accepted", 1, 10.0, False, ("S3",)),
    Group(U3, "K9", "2026-02-10 10:00", "not_accepted", 1, 20.0, False, ("S3",)),
)
NOISE = (
    Group(U1, "K1", "2025-12-31 23:30", "accepted", 1, 3.0, False, ("S4",)),
    Group(ANNING_UNIT, "K2", "2026-05-10 10:00", "accepted", 1, 1.0, False, ("S1",)),
    Group(ANNING_UNIT, "K2", "2026-05-10 10:00", "accepted", 1, 2.0, False, ("S1",)),
    Group(ANNING_UNIT, "K2", "2026-05-10 10:00", "accepted", 1, 3.0, False, ("S1",)),
    Group(ANNING_UNIT, "K2", "2026-05-10 10:00", "accepted", 1, 4.0, False, ("S1",)),
    Group(ANNING_UNIT, "K2", "2026-11-23 09:00", "pending", 1, None, None, ("S1",)),
)
# What an accepted filing's status may have become since; it stays accepted for the statistics.
MOVED_ON = ("closed", "withdrawn", "under_review")
STATUS = {"accepted": "accepted", "not_accepted": "not_accepted", "returned": "returned"}
STATUS |= {"pending": "submitted", "withdrawn": "withdrawn"}


async def seed(runtime: Runtime, cadre_id: int, officer_id: int) -> dict[str, list[int]]:
    """Insert the data set; returns the ids of the accepted filings per jurisdiction."""
    accepted: dict[str, list[int]] = {SONGMING: [], ANNING: []}
    seq: dict[tuple[str, int], int] = {}
    async with UnitOfWork(runtime.database) as uow:
        for group in (*SONGMING_2026, *NOISE):
            county = group.unit[:6]
            submitted = local(group.submitted)
            due_day = runtime.env.calendar.next_workday(submitted.date())
            for i in range(group.n):
                key = (county, submitted.year)
                seq[key] = seq.get(key, 0) + 1
                is_accepted = group.outcome == "accepted"
                status = STATUS[group.outcome]
                if group is SONGMING_2026[0] and i < len(MOVED_ON):
                    status = MOVED_ON[i]
                filing = Filing(
                    user_id=cadre_id,
                    unit_code=group.unit,
                    jurisdiction_code=county,
                    status=status,
                    title=f"{group.category} #{seq[key]}",
                    category=group.category,
                    answers={"situations": list(group.situations)},
                    year=submitted.year,
                    seq=seq[key],
                    number=f"{county}-{submitted.year}-{seq[key]:04d}",
                    created_at=submitted,
                    updated_at=submitted,
                    submitted_at=submitted,
                    review_due_at=datetime.combine(due_day, datetime.max.time(), SHANGHAI),
                    submitted_month=submitted.year * 100 + submitted.month,
                    review_work_hours=group.hours,
                    review_late=group.late,
                    situation_mask=situation_mask(group.situations),
                    decision_seq=seq[key] if is_accepted else None,
                    decision_number=f"{county}容受〔{submitted.year}〕{seq[key]}号" if is_accepted else None,
                )
                uow.session.add(filing)
                await uow.session.flush()
                assert filing.id is not None
                if is_accepted and submitted.year == 2026:
                    accepted[county].append(filing.id)
        for n in range(2):
            now = local("2026-06-01 10:00")
            uow.session.add(
                Filing(user_id=cadre_id, status="draft", title=f"草稿{n}", created_at=now, updated_at=now)
            )
        await _reviews(uow, accepted, officer_id)
        await _rectification(uow, accepted, cadre_id, officer_id)
        await uow.commit()
    return accepted


REVIEWS = (
    # jurisdiction, opened, source, decided, outcome, advisory verdict
    (SONGMING, "2026-04-01", "complaint", "2026-05-01", "exempt", "tolerable"),
    (SONGMING, "2026-04-02", "linked_filing", "2026-05-02", "exempt", "tolerable"),
    (SONGMING, "2026-04-03", "complaint", "2026-05-03", "mitigate", "uncertain"),
    (SONGMING, "2026-04-04", "audit", "2026-05-04", "not_tolerated", "not_tolerable"),
    (SONGMING, "2025-11-01", "inspection", "2026-01-10", "not_tolerated", "tolerable"),
    (SONGMING, "2025-11-02", "self_application", "2026-01-11", "cleared", "tolerable"),
    (SONGMING, "2026-06-01", "complaint", None, None, None),
    (SONGMING, "2026-06-02", "linked_filing", None, None, None),
    (ANNING, "2026-06-01", "audit", "2026-07-01", "exempt", "tolerable"),
)


async def _reviews(uow: UnitOfWork, accepted: dict[str, list[int]], officer_id: int) -> None:
    for i, (county, opened, source, decided, outcome, verdict) in enumerate(REVIEWS):
        review = ToleranceReview(
            filing_id=accepted[county][i % len(accepted[county])],
            jurisdiction_code=county,
            source=source,
            status="decided" if decided else "verifying",
            reason="核查",
            team=[officer_id],
            outcome=outcome,
            decision_number=f"{county}容认〔2026〕{i + 1}号" if decided else None,
            year=2026 if decided else None,
            decision_seq=i + 1 if decided else None,
            opened_by=officer_id,
            opened_at=local(f"{opened} 10:00"),
            decided_at=local(f"{decided} 10:00") if decided else None,
            advisory_verdict=verdict,
        )
        uow.session.add(review)
        await uow.session.flush()
        if county == SONGMING and i == 0:
            await _visits(uow, review, officer_id)


ITEMS = (
    # jurisdiction, created, due, status, accepted at (UTC), extended from
    (SONGMING, "2026-03-01", "2026-03-31", "accepted", datetime(2026, 3, 31, 15, 0, tzinfo=UTC), None),
    (SONGMING, "2026-03-01", "2026-03-31", "accepted", datetime(2026, 3, 31, 16, 30, tzinfo=UTC), None),
    (SONGMING, "2026-04-01", "2026-06-30", "accepted", datetime(2026, 6, 20, 2, 0, tzinfo=UTC), "2026-05-31"),
    (SONGMING, "2026-09-01", "2026-10-31", "open", None, None),
    (SONGMING, "2026-09-01", "2026-12-31", "open", None, None),
    (SONGMING, "2026-09-01", "2026-11-01", "submitted", None, None),
    (SONGMING, "2026-03-01", "2026-05-01", "closed", None, None),
    (SONGMING, "2025-12-01", "2026-01-31", "open", None, None),
    (ANNING, "2026-06-01", "2026-06-30", "open", None, None),
)


async def _rectification(
    uow: UnitOfWork, accepted: dict[str, list[int]], cadre_id: int, officer_id: int
) -> None:
    for i, (county, created, due, status, accepted_at, extended_from) in enumerate(ITEMS):
        uow.session.add(
            RectificationItem(
                filing_id=accepted[county][0],
                jurisdiction_code=county,
                item_no=i + 1,
                problem="问题",
                measure="措施",
                owner_user_id=cadre_id,
                due_date=date.fromisoformat(due),
                original_due_date=date.fromisoformat(extended_from or due),
                status=status,
                extended=extended_from is not None,
                created_by=officer_id,
                created_at=local(f"{created} 10:00"),
                updated_at=local(f"{created} 10:00"),
                accepted_at=accepted_at,
            )
        )


VISITS = (
    # due, status, visited on
    ("2026-03-01", "done", "2026-02-28"),
    ("2026-03-01", "done", "2026-03-01"),
    ("2026-04-01", "done", "2026-04-10"),
    ("2026-11-01", "planned", None),
    ("2026-11-23", "planned", None),
    ("2026-12-15", "planned", None),
    ("2025-12-20", "done", "2025-12-20"),
)


async def _visits(uow: UnitOfWork, review: ToleranceReview, officer_id: int) -> None:
    filing = await uow.filings.get(review.filing_id)
    assert filing is not None and review.id is not None
    for i, (due, status, visited_on) in enumerate(VISITS):
        uow.session.add(
            ReturnVisit(
                review_id=review.id,
                filing_id=review.filing_id,
                jurisdiction_code=review.jurisdiction_code,
                cadre_user_id=filing.user_id,
                officer_user_id=officer_id,
                outcome="exempt",
                seq=i + 1,
                due_date=date.fromisoformat(due),
                status=status,
                visited_on=date.fromisoformat(visited_on) if visited_on else None,
                created_at=local("2026-01-01 10:00") - timedelta(days=30),
            )
        )
