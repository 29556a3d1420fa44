from __future__ import annotations

import pytest

from tests.databases import IN_CI
from tests.seeds import SEEDS, SHARED_SEEDS


def test_seed_copy_matches_shared() -> None:
    if not SHARED_SEEDS.exists():
        if IN_CI:
            pytest.fail(f"CI runs with shared/ beside the checkout, but {SHARED_SEEDS} is missing")
        pytest.skip(f"{SHARED_SEEDS} is not beside this checkout")
    assert SEEDS.read_bytes() == SHARED_SEEDS.read_bytes(), (
        "copy ../shared/selfcheck-seed-cases.json to tests/data/"
    )
