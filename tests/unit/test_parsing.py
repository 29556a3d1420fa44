from __future__ import annotations

from datetime import date

import pytest

from dialogs.parsing.amounts import format_amount, parse_amount
from dialogs.parsing.dates import format_date, parse_date

MONDAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("2026-12-01", date(2026, 12, 1)),
        ("2026/12/1", date(2026, 12, 1)),
        ("2026.12.1", date(2026, 12, 1)),
        ("12月1日", date(2026, 12, 1)),
        ("12月1号", date(2026, 12, 1)),
        ("2026年12月1日", date(2026, 12, 1)),
        ("２０２６年１２月１日", date(2026, 12, 1)),
        ("今天", MONDAY),
        ("明天", date(2026, 11, 24)),
        ("后天", date(2026, 11, 25)),
        ("下周一", date(2026, 11, 30)),
        ("下星期五", date(2026, 12, 4)),
        ("周三", date(2026, 11, 25)),
        ("3天后", date(2026, 11, 26)),
        ("1月5日", date(2027, 1, 5)),  # a month already past this year means next year
        ("11月1日", date(2026, 11, 1)),  # recent past stays this year (and is questioned as past)
    ],
)
def test_dates_people_type(typed: str, expected: date) -> None:
    assert parse_date(typed, MONDAY) == expected


@pytest.mark.parametrize("typed", ["2026-02-30", "13月1日", "明年", "soon", "", "2026-12"])
def test_not_dates(typed: str) -> None:
    assert parse_date(typed, MONDAY) is None


def test_dates_are_echoed_with_the_weekday() -> None:
    assert format_date(date(2026, 12, 1)) == "2026年12月1日（星期二）"


@pytest.mark.parametrize(
    ("typed", "yuan"),
    [
        ("50万", 500_000),
        ("500000", 500_000),
        ("50.5万元", 505_000),
        ("1.2亿", 120_000_000),
        ("3,000元", 3_000),
        ("￥12.5万", 125_000),
        ("8千", 8_000),
        ("无", 0),
        ("不涉及", 0),
        ("0", 0),
    ],
)
def test_amounts_people_type(typed: str, yuan: int) -> None:
    assert parse_amount(typed) == yuan


@pytest.mark.parametrize("typed", ["很多", "5万美元", "-5", "1e9", "99999999亿"])
def test_not_amounts(typed: str) -> None:
    assert parse_amount(typed) is None


@pytest.mark.parametrize(
    ("yuan", "shown"),
    [
        (0, "不涉及资金"),
        (500_000, "50万元"),
        (505_000, "50.5万元"),
        (120_000_000, "1.2亿元"),
        (3_000, "3,000元"),
    ],
)
def test_amounts_are_shown_in_chinese_units(yuan: int, shown: str) -> None:
    assert format_amount(yuan) == shown
