"""Statistics periods: this month / quarter / year, everything, or months typed as people write them.

Pure. A period is a span of whole local calendar days; `token` is how a button or a typed
/stats names it again (relative tokens like "quarter" mean the current one when pressed).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

MONTH, QUARTER, YEAR, ALL = "month", "quarter", "year", "all"
NAMED = (MONTH, QUARTER, YEAR, ALL)
DEFAULT = YEAR

# What people type for the named periods, besides the English tokens.
_WORDS = {
    "本月": MONTH,
    "当月": MONTH,
    "本季度": QUARTER,
    "本季": QUARTER,
    "当季": QUARTER,
    "本年": YEAR,
    "今年": YEAR,
    "本年度": YEAR,
    "全年": YEAR,
    "全部": ALL,
    "所有": ALL,
    "累计": ALL,
    "this month": MONTH,
    "this quarter": QUARTER,
    "this year": YEAR,
}
_RANGE_SEPARATORS = re.compile(r"\s*(?:\.\.|～|~|至|到|—|–)\s*")
_MONTH = re.compile(r"(\d{4})\s*(?:[-/.年])\s*(\d{1,2})\s*月?")
_QUARTER = re.compile(r"(\d{4})\s*[-年]?\s*(?:q|Q|第)\s*([1-4一二三四])\s*(?:季度?)?")
_YEAR = re.compile(r"(\d{4})\s*年?")
_CHINESE_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
FIRST_YEAR, LAST_YEAR = 2000, 2099


class PeriodError(ValueError):
    """Input that names no period: a message id and its parameters, for the user's language."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


@dataclass(frozen=True, slots=True)
class Period:
    first: date | None  # inclusive; None = from the beginning
    last: date | None  # inclusive; None = up to now
    token: str

    @property
    def is_all(self) -> bool:
        return self.first is None and self.last is None


def _month_end(year: int, month: int) -> date:
    following = date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)
    return following - timedelta(days=1)


def named(token: str, today: date) -> Period:
    """One of NAMED, around `today` (local)."""
    if token == MONTH:
        return Period(today.replace(day=1), _month_end(today.year, today.month), MONTH)
    if token == QUARTER:
        first_month = (today.month - 1) // 3 * 3 + 1
        return Period(date(today.year, first_month, 1), _month_end(today.year, first_month + 2), QUARTER)
    if token == YEAR:
        return Period(date(today.year, 1, 1), date(today.year, 12, 31), YEAR)
    if token == ALL:
        return Period(None, None, ALL)
    raise ValueError(f"not a named period: {token!r}")


def _year(text: str, raw: str) -> int:
    year = int(text)
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError("stats.period.bad_year", year=year, value=raw)
    return year


def _bound(part: str, raw: str) -> tuple[date, date]:
    """The first and last day of one month, quarter or year as typed."""
    if match := _MONTH.fullmatch(part):
        year, month = _year(match.group(1), raw), int(match.group(2))
        if not 1 <= month <= 12:
            raise PeriodError("stats.period.bad_month", value=raw)
        return date(year, month, 1), _month_end(year, month)
    if match := _QUARTER.fullmatch(part):
        year = _year(match.group(1), raw)
        digit = match.group(2)
        quarter = _CHINESE_DIGITS.get(digit) or int(digit)
        return date(year, quarter * 3 - 2, 1), _month_end(year, quarter * 3)
    if match := _YEAR.fullmatch(part):
        year = _year(match.group(1), raw)
        return date(year, 1, 1), date(year, 12, 31)
    raise PeriodError("stats.period.bad", value=raw)


def _canonical(first: date, last: date) -> str:
    if first == date(first.year, 1, 1) and last == date(first.year, 12, 31):
        return str(first.year)
    if first.day == 1 and last == _month_end(first.year, first.month):
        return f"{first:%Y-%m}"
    return f"{first:%Y-%m}..{last:%Y-%m}"


def parse_period(text: str, today: date) -> Period:
    """`2026-01..2026-06`, `2026-03`, `2026`, `2026Q2`, a named period in English or Chinese, or
    nothing (the default). Raises PeriodError with a message id for anything else."""
    raw = text.strip()
    cleaned = raw.translate(str.maketrans("－／．：", "-/.:")).strip().lower()
    if not cleaned:
        return named(DEFAULT, today)
    if cleaned in NAMED:
        return named(cleaned, today)
    if cleaned in _WORDS:
        return named(_WORDS[cleaned], today)
    parts = _RANGE_SEPARATORS.split(cleaned)
    if len(parts) == 1:
        first, last = _bound(parts[0], raw)
    elif len(parts) == 2 and all(parts):
        first, _ = _bound(parts[0], raw)
        begin_of_last, last = _bound(parts[1], raw)
        if begin_of_last < first:
            raise PeriodError("stats.period.reversed", first=parts[0], last=parts[1])
    else:
        raise PeriodError("stats.period.bad", value=raw)
    return Period(first, last, _canonical(first, last))
