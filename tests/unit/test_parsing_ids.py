"""Ids typed in commands: only what can name a record."""

from __future__ import annotations

import pytest

from dialogs.parsing.ids import MAX_ID, record_id


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7", 7),
        ("0007", 7),
        (str(MAX_ID), MAX_ID),
        (str(MAX_ID + 1), None),
        ("99999999999999999999", None),
        ("0", None),
        ("", None),
        ("²", None),  # str.isdigit() says yes, int() says no
        ("٣", None),  # Arabic-Indic three: int() would read 3
        ("１２", 12),  # full-width digits, as a Chinese input method types them
        ("-3", None),
        ("3a", None),
    ],
)
def test_record_id(typed: str, expected: int | None) -> None:
    assert record_id(typed) == expected
