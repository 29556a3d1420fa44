"""Reliability drills: a reduced size in CI, the full size the issue names with RONGCUO_DRILLS=full.

    RONGCUO_DRILLS=full .venv/bin/pytest tests/drills -q

Each drill reads its sizes from `drill_size`, so the two runs exercise the same code.
"""

from __future__ import annotations

import os

import pytest

FULL = os.environ.get("RONGCUO_DRILLS", "").strip().lower() == "full"


def pick(reduced: int, full: int) -> int:
    """The CI size, or the issue's size under RONGCUO_DRILLS=full."""
    return full if FULL else reduced


@pytest.fixture
def drill_full() -> bool:
    return FULL
