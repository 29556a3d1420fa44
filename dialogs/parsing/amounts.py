"""Amounts of money as people type them: 50万, 500000, 50.5万元, 1.2亿, 3,000元, 无."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

_NONE = {"0", "无", "没有", "不涉及", "零", "无资金", "不涉及资金"}
_UNITS = {
    "": 1,
    "元": 1,
    "千": 1_000,
    "千元": 1_000,
    "万": 10_000,
    "万元": 10_000,
    "亿": 100_000_000,
    "亿元": 100_000_000,
}
_AMOUNT = re.compile(r"^(\d+(?:\.\d+)?)\s*(千元|千|万元|万|亿元|亿|元)?$")
MAX_YUAN = 10**14  # 100 trillion yuan: anything larger is a typing slip


def parse_amount(raw: str) -> int | None:
    """Whole yuan, or None if not understood. Fractions of a yuan are rounded half up."""
    text = raw.strip().replace(",", "").replace("，", "").replace(" ", "").replace("人民币", "").lstrip("¥￥")
    text = text.translate(str.maketrans("０１２３４５６７８９．", "0123456789."))
    if text in _NONE:
        return 0
    match = _AMOUNT.match(text)
    if not match:
        return None
    try:
        value = Decimal(match.group(1)) * _UNITS[match.group(2) or ""]
    except InvalidOperation:
        return None
    yuan = int(value.quantize(Decimal(1), rounding="ROUND_HALF_UP"))
    return yuan if yuan <= MAX_YUAN else None


def format_amount(yuan: int) -> str:
    if yuan == 0:
        return "不涉及资金"
    if yuan >= 100_000_000 and yuan % 1_000_000 == 0:
        return f"{Decimal(yuan) / 100_000_000:f}亿元".replace(".0亿", "亿")
    if yuan >= 10_000 and yuan % 100 == 0:
        text = f"{Decimal(yuan) / 10_000:f}"
        return (text.rstrip("0").rstrip(".") if "." in text else text) + "万元"
    return f"{yuan:,}元"
