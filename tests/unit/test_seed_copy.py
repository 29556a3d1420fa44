from __future__ import annotations

import pytest

from tests.seeds import SEEDS, SHARED_SEEDS


def test_seed_copy_matches_shared() -> None:
    # The copy in tests/data is what the seed tests read; this keeps it equal to the source
    # wherever the source is beside the checkout (a bare clone elsewhere has no ../shared).
    if not SHARED_SEEDS.exists():
        pytest.skip(f"{SHARED_SEEDS} is not beside this checkout")
    assert SEEDS.read_bytes() == SHARED_SEEDS.read_bytes(), (
        "copy ../shared/selfcheck-seed-cases.json to tests/data/"
    )
