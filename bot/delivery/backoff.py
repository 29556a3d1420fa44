"""How long a row waits after a transient failure."""

from __future__ import annotations

import random
from datetime import timedelta

MAX_BACKOFF = timedelta(minutes=10)


def backoff(attempts: int, rng: random.Random, cap: timedelta = MAX_BACKOFF) -> timedelta:
    """2^attempts seconds, ±20 %, at most ``cap``.

    The jitter spreads retries of rows that failed together (one outage hits many chats), so
    they do not all return in the same instant and trip the flood limits.
    """
    limit = cap.total_seconds()
    base = min(2.0 ** min(max(attempts, 0), 30), limit)
    return timedelta(seconds=min(limit, base * rng.uniform(0.8, 1.2)))
