"""The `rongcuo` command line as an operator or auditor runs it (real subprocesses)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def rongcuo(
    *args: str, cwd: Path, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("RONGCUO_")}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        cwd=cwd,
        env={**clean, "PYTHONPATH": str(ROOT), **(env or {})},
        input=stdin,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_selfcheck_prints_the_evaluation_as_json(tmp_path: Path) -> None:
    facts = {"q_personal_gain": "yes", "q_superior_decision": "yes"}
    result = rongcuo("selfcheck", "--policy", "yunnan", "--facts", "-", cwd=tmp_path, stdin=json.dumps(facts))
    assert result.returncode == 0, result.stderr
    output = json.loads(result.stdout)
    assert output["verdict"] == "not_tolerable" and output["blockers"] == ["N1"]
    assert output["policy"]["id"] == "yunnan" and len(output["policy"]["version"]) == 16
    assert set(output) == {"verdict", "situations", "blockers", "missing", "disposition_hint", "policy"}


def test_selfcheck_rejects_unknown_ids_with_exit_status_2(tmp_path: Path) -> None:
    (tmp_path / "facts.json").write_text('{"q_no_such_question": "yes"}', encoding="utf-8")
    result = rongcuo("selfcheck", "--facts", str(tmp_path / "facts.json"), cwd=tmp_path)
    assert result.returncode == 2
    assert (
        result.stdout == ""
        and "q_no_such_question" in result.stderr
        and len(result.stderr.strip().splitlines()) == 1
    )


def test_a_malformed_policy_pack_stops_the_program_at_start(tmp_path: Path) -> None:
    pack = (ROOT / "dialogs" / "policy" / "packs" / "yunnan.yaml").read_text(encoding="utf-8")
    broken = pack.replace('eq: [q_personal_gain, "yes"]', 'eq: [q_personal_gainz, "yes"]', 1)
    assert broken != pack
    (tmp_path / "broken.yaml").write_text(broken, encoding="utf-8")
    result = rongcuo("run", cwd=tmp_path, env={"RONGCUO_POLICY_PACK": str(tmp_path / "broken.yaml")})
    assert result.returncode == 2
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"rongcuo: {tmp_path / 'broken.yaml'}:") and "q_personal_gainz" in line
    assert not (tmp_path / "data").exists()  # refused before touching the database


def test_a_bad_setting_is_one_line_and_exit_status_2(tmp_path: Path) -> None:
    result = rongcuo("run", cwd=tmp_path, env={"RONGCUO_HTTP_PORT": "eighty"})
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "rongcuo: configuration error: RONGCUO_HTTP_PORT: Input should be a valid integer, unable to parse string as an integer"
    )


def test_admin_commands_bootstrap_roles_on_the_embedded_database(tmp_path: Path) -> None:
    granted = rongcuo(
        "admin", "grant", "--telegram-id", "42", "--role", "officer", "--jurisdiction", "530127", cwd=tmp_path
    )
    assert granted.returncode == 0, granted.stderr
    assert "granted officer to Telegram user 42" in granted.stdout
    listing = rongcuo("admin", "list", "--role", "officer", cwd=tmp_path)
    assert "telegram=42" in listing.stdout and "officer@530127" in listing.stdout
    wrong = rongcuo(
        "admin",
        "grant",
        "--telegram-id",
        "43",
        "--role",
        "officer",
        "--jurisdiction",
        "530127002",
        cwd=tmp_path,
    )
    assert wrong.returncode == 2 and "is not a county or district" in wrong.stderr
    revoked = rongcuo("admin", "revoke", "--telegram-id", "42", "--role", "officer", cwd=tmp_path)
    assert revoked.returncode == 0 and "revoked officer" in revoked.stdout
    assert "no users" in rongcuo("admin", "list", "--role", "officer", cwd=tmp_path).stdout


def test_other_databases_must_be_migrated_explicitly(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'other.sqlite3'}"
    refused = rongcuo("admin", "list", cwd=tmp_path, env={"RONGCUO_DATABASE_URL": url})
    assert refused.returncode == 2 and "Run: rongcuo db upgrade" in refused.stderr
    upgraded = rongcuo("db", "upgrade", cwd=tmp_path, env={"RONGCUO_DATABASE_URL": url})
    assert upgraded.returncode == 0 and "empty ->" in upgraded.stdout
    assert rongcuo("admin", "list", cwd=tmp_path, env={"RONGCUO_DATABASE_URL": url}).returncode == 0


def test_a_county_group_chat_and_lead_officer_are_configured(tmp_path: Path) -> None:
    assert (
        rongcuo(
            "admin",
            "grant",
            "--telegram-id",
            "42",
            "--role",
            "officer",
            "--jurisdiction",
            "530127",
            cwd=tmp_path,
        ).returncode
        == 0
    )
    done = rongcuo(
        "admin",
        "jurisdiction",
        "--code",
        "530127",
        "--group-chat-id",
        "-1001234567890",
        "--lead-telegram-id",
        "42",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "嵩明县: group chat -1001234567890, lead officer #1" in done.stdout
    not_officer = rongcuo(
        "admin", "jurisdiction", "--code", "530127", "--lead-telegram-id", "7", cwd=tmp_path
    )
    assert not_officer.returncode == 2 and "is not an officer of 530127" in not_officer.stderr
    bad = rongcuo("admin", "jurisdiction", "--code", "530127", "--group-chat-id", "general", cwd=tmp_path)
    assert bad.returncode == 2 and "must be a Telegram chat id" in bad.stderr
