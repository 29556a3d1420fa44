"""The seed test vectors (DOMAIN.md §6.5).

A copy lives in tests/data so the contract tests always run; `test_seed_copy_matches_shared`
fails as soon as ../shared/selfcheck-seed-cases.json changes and the copy does not.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

SEEDS = Path(__file__).resolve().parent / "data" / "selfcheck-seed-cases.json"
SHARED_SEEDS = Path(__file__).resolve().parents[2] / "shared" / "selfcheck-seed-cases.json"


def seed_cases() -> list[dict[str, Any]]:
    return json.loads(SEEDS.read_text(encoding="utf-8"))
