"""`rongcuo selfcheck`: one JSON object on stdout, or exit 2 with one line on stderr."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pytest

from bot import selfcheck_cli
from dialogs.policy import load_pack

ROOT = Path(__file__).resolve().parents[3]
VERSION = load_pack("yunnan").version

TYPHOON = {
    "q_superior_decision": "yes",
    "q_policy_change_or_infeasible": "no",
    "q_urgent_complex_task": "no",
    "q_key_area_work": "yes",
    "q_force_majeure": "yes",
    "q_reform_innovation": "no",
    "q_public_interest_motive": "yes",
    "q_collective_decision": "not_required",
    "q_main_cause": "objective",
    "q_duties_performed": "yes",
    "q_emergency_necessity": "no",
    "q_explicit_prohibition": "no",
    "q_warned_before": "no",
    "q_personal_gain": "no",
    "q_fraud_concealment": "no",
    "q_remedy": "yes",
    "q_serious_consequence": "no",
    "q_eight_point_rules": "no",
    "q_obstruction_or_false_accusation": "no",
    "q_crime_suspected": "no",
}
TYPHOON_RESULT = {
    "verdict": "tolerable",
    "situations": ["S4", "S5"],
    "blockers": [],
    "missing": [],
    "disposition_hint": "exempt",
    "policy": {"id": "yunnan", "version": VERSION},
}


def args(facts: str, policy: str = "yunnan") -> argparse.Namespace:
    return argparse.Namespace(policy=policy, facts=facts)


def facts_file(tmp_path: Path, content: str | bytes) -> str:
    path = tmp_path / "facts.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return str(path)


def test_happy_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert selfcheck_cli.run(args(facts_file(tmp_path, json.dumps(TYPHOON)))) == 0
    out, err = capsys.readouterr()
    assert err == ""
    assert out.count("\n") == 1
    assert json.loads(out) == TYPHOON_RESULT
    assert list(json.loads(out)) == list(TYPHOON_RESULT)


def test_uncertain_output_lists_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    facts = {k: v for k, v in TYPHOON.items() if k != "q_personal_gain"}
    assert selfcheck_cli.run(args(facts_file(tmp_path, json.dumps(facts)))) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["verdict"], result["missing"], result["blockers"]) == (
        "uncertain",
        ["q_personal_gain"],
        ["N1"],
    )


def test_standard_input(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    stream = io.TextIOWrapper(io.BytesIO(json.dumps(TYPHOON).encode("utf-8")), encoding="utf-8")
    monkeypatch.setattr(sys, "stdin", stream)
    assert selfcheck_cli.run(args("-")) == 0
    assert json.loads(capsys.readouterr().out) == TYPHOON_RESULT


def test_policy_by_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pack = tmp_path / "copy.yaml"
    pack.write_text(load_pack("yunnan").content, encoding="utf-8")
    assert selfcheck_cli.run(args(facts_file(tmp_path, json.dumps(TYPHOON)), policy=str(pack))) == 0
    assert json.loads(capsys.readouterr().out)["policy"] == {"id": "yunnan", "version": VERSION}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON at line 1 column 2"),
        ("", "invalid JSON"),
        ('["q_remedy", "yes"]', "expected a JSON object of question id -> answer, found list"),
        ('{"q_remedy": 1}', "the answer to 'q_remedy' must be a string, found 1"),
        ('{"q_remedy": null}', "the answer to 'q_remedy' must be a string, found null"),
        ('{"q_remedy": "yes", "q_remedy": "no"}', "duplicate key 'q_remedy'"),
        ('{"q_unheard_of": "yes"}', "unknown question id 'q_unheard_of'"),
        ('{"q_remedy": "perhaps"}', "q_remedy: invalid answer 'perhaps' (allowed: yes, in_progress"),
        (b'{"q_remedy": "\xff"}', "not UTF-8"),
    ],
)
def test_bad_facts_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str | bytes, message: str
) -> None:
    assert selfcheck_cli.run(args(facts_file(tmp_path, content))) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith("rongcuo selfcheck: ")
    assert err.count("\n") == 1 and err.endswith("\n")
    assert message in err


def test_missing_facts_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert selfcheck_cli.run(args(str(tmp_path / "absent.json"))) == 2
    err = capsys.readouterr().err
    assert err.startswith("rongcuo selfcheck: cannot read ") and err.count("\n") == 1


@pytest.mark.parametrize(
    ("pack_text", "message"),
    [(None, "cannot read the policy pack"), ("id: [", "YAML syntax error"), ("id: x\n", "pack: missing key")],
)
def test_bad_pack_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], pack_text: str | None, message: str
) -> None:
    pack = tmp_path / "bad.yaml"
    if pack_text is not None:
        pack.write_text(pack_text, encoding="utf-8")
    assert selfcheck_cli.run(args(facts_file(tmp_path, "{}"), policy=str(pack))) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.startswith(f"rongcuo selfcheck: {pack}")
    assert err.count("\n") == 1 and message in err


def test_unknown_shipped_pack(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert selfcheck_cli.run(args(facts_file(tmp_path, "{}"), policy="atlantis")) == 2
    assert "no shipped policy pack named 'atlantis'" in capsys.readouterr().err


def test_add_parser_registers_selfcheck() -> None:
    parser = argparse.ArgumentParser(prog="rongcuo")
    sub = parser.add_subparsers(dest="command", required=True)
    selfcheck_cli.add_parser(sub)
    parsed = parser.parse_args(["selfcheck", "--facts", "answers.json"])
    assert (parsed.command, parsed.policy, parsed.facts) == ("selfcheck", "yunnan", "answers.json")
    parsed = parser.parse_args(["selfcheck", "--policy", "my.yaml", "--facts", "-"])
    assert (parsed.policy, parsed.facts) == ("my.yaml", "-")
    with pytest.raises(SystemExit):
        parser.parse_args(["selfcheck"])


def run_module(*argv: str, stdin: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot.selfcheck_cli", *argv],
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_as_a_module_through_stdin() -> None:
    done = run_module("--facts", "-", stdin=json.dumps(TYPHOON))
    assert (done.returncode, done.stderr) == (0, "")
    assert json.loads(done.stdout) == TYPHOON_RESULT


def test_as_a_module_with_a_bad_answer(tmp_path: Path) -> None:
    done = run_module("--policy", "yunnan", "--facts", "-", stdin='{"q_main_cause": "fate"}')
    assert (done.returncode, done.stdout) == (2, "")
    assert done.stderr.startswith("rongcuo selfcheck: q_main_cause: invalid answer 'fate'")
    assert done.stderr.count("\n") == 1
