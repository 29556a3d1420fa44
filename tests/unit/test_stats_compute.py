"""The pure parts of the statistics: the median from a frequency table, outcomes, small cells."""

from __future__ import annotations

import pytest

from bot.services.stats.compute import filing_outcome, median, review_time
from bot.services.stats.model import FilingCounts, suppressed
from storage.repositories.stats import StatsRow


@pytest.mark.parametrize(
    ("frequency", "expected"),
    [
        ([], None),
        ([(5.0, 1)], 5.0),
        ([(1.0, 1), (2.0, 1), (3.0, 1), (4.0, 1)], 2.5),  # even: the mean of the middle two
        ([(4.0, 1), (1.0, 1), (3.0, 1)], 3.0),  # any order
        ([(2.0, 1), (3.0, 17), (6.0, 11), (10.0, 17), (20.0, 3)], 6.0),  # 49 values: the 25th
        ([(1.0, 2), (9.0, 2)], 5.0),  # the middle two in different groups
        ([(7.0, 0), (1.0, 3)], 1.0),  # empty groups do not count
    ],
)
def test_median_of_a_frequency_table(frequency: list[tuple[float, int]], expected: float | None) -> None:
    assert median(frequency) == expected


def test_review_time_buckets_and_breaches() -> None:
    # 4.0 is "up to 4 h"; 7.0 is "4 h to 1 working day" (7 office hours); 14.0 "1 to 2 working days".
    rows = [
        StatsRow((4.0, False), 2),
        StatsRow((4.01, False), 1),
        StatsRow((7.0, False), 1),
        StatsRow((14.0, True), 3),
        StatsRow((14.5, True), 1),
    ]
    figures = review_time(rows, waiting=2)
    assert figures.histogram == (("le_4h", 2), ("4h_1d", 2), ("1d_2d", 3), ("gt_2d", 1))
    assert (figures.decided, figures.late_decisions, figures.sla_breaches) == (8, 4, 6)
    assert figures.median_work_hours == 10.5  # 8 values: the 4th (7.0) and 5th (14.0)


@pytest.mark.parametrize(
    ("status", "accepted", "outcome"),
    [
        ("withdrawn", True, "accepted"),  # withdrawn after acceptance: it was accepted
        ("withdrawn", False, "withdrawn"),
        ("closed", True, "accepted"),
        ("decided", False, "accepted"),  # only accepted filings get there, whatever decision_seq says
        ("submitted", False, "pending"),
        ("returned", False, "returned"),
        ("not_accepted", False, "not_accepted"),
    ],
)
def test_outcomes(status: str, accepted: bool, outcome: str) -> None:
    assert filing_outcome(status, accepted) == outcome


def test_acceptance_rate_counts_decided_filings_only() -> None:
    counts = FilingCounts(accepted=34, not_accepted=17, pending=5)
    assert counts.received == 56
    assert counts.acceptance_rate == 34 / 51
    assert FilingCounts(pending=3).acceptance_rate is None


@pytest.mark.parametrize(("count", "shown"), [(0, 0), (1, "<3"), (2, "<3"), (3, 3), (40, 40)])
def test_small_unit_cells_are_hidden(count: int, shown: int | str) -> None:
    assert suppressed(count) == shown
