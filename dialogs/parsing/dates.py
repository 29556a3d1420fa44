"""Dates as people type them in Chinese: 2026-12-01, 2026/12/1, 12月1日, 2026年12月1日, 明天, 下周一 ..."""

from __future__ import annotations

import re
from datetime import date, timedelta

_WEEKDAYS = {"一": 0, "二": 1, "三": 2, "四": 3, "五": 4, "六": 5, "日": 6, "天": 6}
_RELATIVE = {"今天": 0, "今日": 0, "明天": 1, "明日": 1, "后天": 2, "大后天": 3}
_FULL = re.compile(r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_MONTH_DAY = re.compile(r"^(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号]?$")
_WEEKDAY = re.compile(r"^(本|这|下下|下)?(?:周|星期|礼拜)([一二三四五六日天])$")
_IN_DAYS = re.compile(r"^(\d{1,3})\s*天后$")
WEEKDAY_NAMES = ("星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日")


def parse_date(raw: str, today: date) -> date | None:
    """The date meant, or None if the text is not a date we understand.

    A month and day without a year means the next such date from today (typing 1月5日 in
    December means next January).
    """
    text = raw.strip().replace("　", "").replace(" ", "")
    text = text.translate(str.maketrans("０１２３４５６７８９／－．", "0123456789/-."))
    if text in _RELATIVE:
        return today + timedelta(days=_RELATIVE[text])
    if match := _IN_DAYS.match(text):
        return today + timedelta(days=int(match.group(1)))
    if match := _FULL.match(text):
        return _safe(int(match.group(1)), int(match.group(2)), int(match.group(3)))
    if match := _MONTH_DAY.match(text):
        month, day = int(match.group(1)), int(match.group(2))
        candidate = _safe(today.year, month, day)
        if candidate is not None and candidate < today - timedelta(days=31):
            candidate = _safe(today.year + 1, month, day)
        return candidate
    if match := _WEEKDAY.match(text):
        prefix, name = match.group(1) or "", match.group(2)
        monday = today - timedelta(days=today.weekday())
        weeks = {"": 0, "本": 0, "这": 0, "下": 1, "下下": 2}[prefix]
        candidate = monday + timedelta(weeks=weeks, days=_WEEKDAYS[name])
        if not prefix and candidate < today:
            candidate += timedelta(weeks=1)
        return candidate
    return None


def _safe(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def format_date(value: date) -> str:
    return f"{value.year}年{value.month}月{value.day}日（{WEEKDAY_NAMES[value.weekday()]}）"
