"""`rongcuo selfcheck`: evaluate a JSON file of answers against a policy pack, for auditors.

Prints one JSON object (the evaluation) on stdout. Anything wrong with the input or the pack
exits with status 2 and one line on stderr, so that scripts can tell bad input from a verdict.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from dialogs.policy import EvaluationError, PackError, evaluate, load_pack

PROG = "rongcuo selfcheck"


class _FactsError(ValueError):
    pass


def _add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--policy",
        default="yunnan",
        metavar="NAME_OR_PATH",
        help="a shipped policy pack name or a pack YAML file (default: yunnan)",
    )
    parser.add_argument(
        "--facts",
        required=True,
        metavar="FILE",
        help="JSON object of question id -> answer ('-' reads standard input)",
    )


def add_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = subparsers.add_parser(
        "selfcheck",
        help="evaluate self-check answers against a policy pack (advisory)",
        description="Print the advisory self-check evaluation of a JSON object of answers.",
    )
    _add_arguments(parser)


def _reject_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last duplicate silently; for answers that would hide a contradiction.
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _FactsError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _read_facts(name: str) -> dict[str, str]:
    label = "standard input" if name == "-" else name
    try:
        if name == "-":
            raw = sys.stdin.buffer.read() if hasattr(sys.stdin, "buffer") else sys.stdin.read().encode()
        else:
            with open(name, "rb") as handle:
                raw = handle.read()
        text = raw.decode("utf-8-sig")
    except OSError as exc:
        raise _FactsError(f"cannot read {label}: {exc.strerror or exc}") from exc
    except UnicodeDecodeError as exc:
        raise _FactsError(f"{label}: not UTF-8 text") from exc
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicates)
    except json.JSONDecodeError as exc:
        raise _FactsError(
            f"{label}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}"
        ) from exc
    except _FactsError as exc:
        raise _FactsError(f"{label}: {exc}") from exc
    if not isinstance(data, dict):
        raise _FactsError(
            f"{label}: expected a JSON object of question id -> answer, found {type(data).__name__}"
        )
    for question, answer in data.items():
        if not isinstance(answer, str):
            raise _FactsError(
                f"{label}: the answer to {question!r} must be a string, found {json.dumps(answer)}"
            )
    return data


def run(args: argparse.Namespace) -> int:
    try:
        facts = _read_facts(args.facts)
        pack = load_pack(args.policy)
        evaluation = evaluate(pack, facts)
    except (_FactsError, PackError, EvaluationError) as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(evaluation.to_json(), ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=PROG, description="Advisory self-check evaluation.")
    _add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
