"""Statistics periods: named ones around today, typed months, quarters, years and ranges, and polite
errors for everything else (every error id exists in all three languages)."""

from __future__ import annotations

from datetime import date

import pytest

from bot.services.stats.period import Period, PeriodError, named, parse_period
from bot.services.stats.render import period_label
from dialogs.texts import LOCALES, Texts

TODAY = date(2026, 11, 23)


@pytest.mark.parametrize(
    ("text", "first", "last", "token"),
    [
        ("month", date(2026, 11, 1), date(2026, 11, 30), "month"),
        ("本月", date(2026, 11, 1), date(2026, 11, 30), "month"),
        ("quarter", date(2026, 10, 1), date(2026, 12, 31), "quarter"),
        ("本季度", date(2026, 10, 1), date(2026, 12, 31), "quarter"),
        ("year", date(2026, 1, 1), date(2026, 12, 31), "year"),
        ("今年", date(2026, 1, 1), date(2026, 12, 31), "year"),
        ("", date(2026, 1, 1), date(2026, 12, 31), "year"),  # the default
        ("all", None, None, "all"),
        ("全部", None, None, "all"),
        ("2026-01..2026-06", date(2026, 1, 1), date(2026, 6, 30), "2026-01..2026-06"),
        ("2025-11 ~ 2026-02", date(2025, 11, 1), date(2026, 2, 28), "2025-11..2026-02"),
        ("2024-02", date(2024, 2, 1), date(2024, 2, 29), "2024-02"),  # a leap year
        ("2026年3月", date(2026, 3, 1), date(2026, 3, 31), "2026-03"),
        ("2026-3", date(2026, 3, 1), date(2026, 3, 31), "2026-03"),
        ("2026", date(2026, 1, 1), date(2026, 12, 31), "2026"),
        ("2025..2026", date(2025, 1, 1), date(2026, 12, 31), "2025-01..2026-12"),
        ("2026Q2", date(2026, 4, 1), date(2026, 6, 30), "2026-04..2026-06"),
        ("2026年第三季度", date(2026, 7, 1), date(2026, 9, 30), "2026-07..2026-09"),
        ("2026－01", date(2026, 1, 1), date(2026, 1, 31), "2026-01"),  # a full-width dash
    ],
)
def test_periods_people_type(text: str, first: date | None, last: date | None, token: str) -> None:
    assert parse_period(text, TODAY) == Period(first, last, token)


def test_quarters_around_the_year() -> None:
    assert named("quarter", date(2026, 1, 1)) == Period(date(2026, 1, 1), date(2026, 3, 31), "quarter")
    assert named("quarter", date(2026, 6, 30)) == Period(date(2026, 4, 1), date(2026, 6, 30), "quarter")
    assert named("month", date(2026, 12, 31)) == Period(date(2026, 12, 1), date(2026, 12, 31), "month")


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("2026-13", "stats.period.bad_month"),
        ("2026-00..2026-03", "stats.period.bad_month"),
        ("1999", "stats.period.bad_year"),
        ("2026-06..2026-01", "stats.period.reversed"),
        ("2027..2026", "stats.period.reversed"),
        ("last week", "stats.period.bad"),
        ("2026-01..", "stats.period.bad"),
        ("26-01", "stats.period.bad"),
        ("2026-01..2026-02..2026-03", "stats.period.bad"),
    ],
)
def test_bad_periods_are_explained(text: str, key: str) -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period(text, TODAY)
    assert caught.value.key == key
    for locale in LOCALES:
        said = Texts(locale)(caught.value.key, **caught.value.params)
        assert said and "{" not in said


def test_the_error_says_what_to_type() -> None:
    with pytest.raises(PeriodError) as caught:
        parse_period("上个月", TODAY)
    said = Texts()(caught.value.key, **caught.value.params)
    assert said.startswith("抱歉，看不懂“上个月”这个时间。")
    assert "2026-01..2026-06" in said


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ("2026", "2026年", "2026"),
        ("quarter", "2026年第4季度", "Q4 2026"),
        ("month", "2026年11月", "11/2026"),
        ("2026-01..2026-06", "2026年1月至2026年6月", "1/2026 to 6/2026"),
        ("all", "全部时间", "all time"),
    ],
)
def test_period_labels(text: str, zh: str, en: str) -> None:
    period = parse_period(text, TODAY)
    assert period_label(Texts("zh_CN"), period.first, period.last) == zh
    assert period_label(Texts("en"), period.first, period.last) == en
