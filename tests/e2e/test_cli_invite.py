"""`rongcuo admin invite` as an operator runs it, on the embedded SQLite default."""

from __future__ import annotations

import re
from pathlib import Path

from tests.e2e.test_cli import rongcuo


def test_admin_invite_prints_a_one_time_link(tmp_path: Path) -> None:
    env = {"RONGCUO_PUBLIC_URL": "https://rongcuo.example.gov.cn", "RONGCUO_INVITE_HOURS": "24"}
    done = rongcuo(
        "admin", "invite", "--name", "张三", "--unit", "530127002", "--role", "officer",
        "--jurisdiction", "530127", cwd=tmp_path, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"^https://rongcuo\.example\.gov\.cn/invite/[A-Za-z0-9_-]{32}$", done.stdout, re.M)
    assert "valid once, until" in done.stdout

    refused = rongcuo("admin", "invite", "--name", "张三", "--unit", "530127", cwd=tmp_path, env=env)
    assert refused.returncode == 2 and "not a unit code" in refused.stderr
