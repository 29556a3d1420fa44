"""The advisory self-check verdict (DOMAIN.md §6.2–6.4): pure, deterministic, no I/O.

The verdict is advice for the cadre and the reviewer; only the discipline commission decides.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Final, Literal, TypeAlias

from dialogs.policy.logic import UNSURE, F, T, Truth, U, disj, neg
from dialogs.policy.pack import MODES, NO_SITUATION, Dimension, PolicyPack, Question

__all__ = [
    "NOT_TOLERABLE",
    "TOLERABLE",
    "UNCERTAIN",
    "Evaluation",
    "EvaluationError",
    "InvalidAnswer",
    "UnknownQuestion",
    "Verdict",
    "by_dimension",
    "evaluate",
    "next_question",
    "prefiling_defaults",
    "truth_values",
    "validate_answers",
    "verdict_is_fixed",
]

Verdict: TypeAlias = Literal["tolerable", "not_tolerable", "uncertain"]
TOLERABLE: Final = "tolerable"
NOT_TOLERABLE: Final = "not_tolerable"
UNCERTAIN: Final = "uncertain"


class EvaluationError(ValueError):
    pass


class UnknownQuestion(EvaluationError):
    def __init__(self, question: str, pack: PolicyPack) -> None:
        self.question = question
        super().__init__(f"unknown question id {question!r} in policy pack {pack.id}")


class InvalidAnswer(EvaluationError):
    def __init__(self, question: Question, value: object) -> None:
        self.question = question.id
        self.value = value
        self.allowed = question.values
        super().__init__(f"{question.id}: invalid answer {value!r} (allowed: {', '.join(question.values)})")


@dataclass(frozen=True, slots=True)
class Evaluation:
    verdict: Verdict
    situations: tuple[str, ...]
    blockers: tuple[str, ...]
    missing: tuple[str, ...]
    disposition_hint: str | None
    policy_id: str
    policy_version: str
    # N0 is included (T when every S is F); `blockers` lists it only under rule 2, as §6.4 says.
    situation_values: Mapping[str, Truth] = field(hash=False)
    blocker_values: Mapping[str, Truth] = field(hash=False)

    def to_json(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "situations": list(self.situations),
            "blockers": list(self.blockers),
            "missing": list(self.missing),
            "disposition_hint": self.disposition_hint,
            "policy": {"id": self.policy_id, "version": self.policy_version},
        }


def validate_answers(pack: PolicyPack, answers: Mapping[str, object]) -> None:
    for question_id, value in answers.items():
        if not pack.has_question(question_id):
            raise UnknownQuestion(question_id, pack)
        question = pack.question(question_id)
        if not isinstance(value, str) or value not in question.values:
            raise InvalidAnswer(question, value)


def _natural(item_id: str) -> tuple[str, int]:
    # "N10" must sort after "N9"; the pack guarantees ids of the form letter + number.
    match = re.fullmatch(r"([A-Z])(\d+)", item_id)
    return (match.group(1), int(match.group(2))) if match else (item_id, -1)


def _ascending(ids: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(ids, key=_natural))


def truth_values(pack: PolicyPack, answers: Mapping[str, str]) -> tuple[dict[str, Truth], dict[str, Truth]]:
    """S values and N values (N0 derived: T when every S is F, F when some S is T)."""
    situations = {s.id: s.formula.truth(answers) for s in pack.situations if s.formula is not None}
    blockers: dict[str, Truth] = {}
    for blocker in pack.blockers:
        if blocker.formula is None:
            blockers[blocker.id] = neg(disj(situations.values()))
        else:
            blockers[blocker.id] = blocker.formula.truth(answers)
    return situations, blockers


def evaluate(pack: PolicyPack, answers: Mapping[str, str]) -> Evaluation:
    """The §6.4 combination rule, applied in order; missing answers count as unsure."""
    validate_answers(pack, answers)
    s_values, n_values = truth_values(pack, answers)
    formula_n = {n: v for n, v in n_values.items() if n != NO_SITUATION}

    def result(
        verdict: Verdict,
        situations: Iterable[str] = (),
        blockers: Iterable[str] = (),
        missing: Iterable[str] = (),
        hint: str | None = None,
    ) -> Evaluation:
        return Evaluation(
            verdict=verdict,
            situations=_ascending(situations),
            blockers=_ascending(blockers),
            missing=tuple(sorted(missing)),
            disposition_hint=hint,
            policy_id=pack.id,
            policy_version=pack.version,
            situation_values=MappingProxyType(s_values),
            blocker_values=MappingProxyType(n_values),
        )

    true_blockers = [n for n, v in formula_n.items() if v == T]
    if true_blockers:
        return result(NOT_TOLERABLE, blockers=true_blockers)
    if all(v == F for v in s_values.values()):
        return result(NOT_TOLERABLE, blockers=[NO_SITUATION])
    true_situations = [s for s, v in s_values.items() if v == T]
    if true_situations and all(v == F for v in formula_n.values()):
        return result(TOLERABLE, true_situations, hint=pack.disposition.hint_for(answers))
    undecided = [item for item in pack.formula_items if {**s_values, **formula_n}[item.id] == U]
    asked = {q for q, a in answers.items() if a != UNSURE}
    missing = {q for item in undecided if item.formula is not None for q in item.formula.questions()} - asked
    return result(
        UNCERTAIN,
        situations=[s for s, v in s_values.items() if v != F],
        blockers=[n for n, v in formula_n.items() if v == U],
        missing=missing,
    )


def verdict_is_fixed(s_values: Mapping[str, Truth], n_values: Mapping[str, Truth]) -> bool:
    """Rules 1 and 2 rest on definite values, which stay put as more answers arrive."""
    formula_n = [v for n, v in n_values.items() if n != NO_SITUATION]
    return any(v == T for v in formula_n) or all(v == F for v in s_values.values())


def prefiling_defaults(pack: PolicyPack) -> dict[str, str]:
    """Answers fixed in pre-filing mode (nothing has gone wrong yet); pre-filing sessions start from these."""
    return {q.id: q.prefiling_answer for q in pack.questions if q.prefiling_answer is not None}


def next_question(pack: PolicyPack, answers: Mapping[str, str], *, mode: str = "standalone") -> str | None:
    """The first unanswered question, in pack order, whose answer could still matter.

    Informational questions are always asked (reviewers weigh them). A formula question is
    skipped once the verdict is fixed by rule 1 or 2, or when every S/N formula reading it is
    already definite: by monotonicity neither can change, so asking would only cost the cadre
    time. In pre-filing mode the questions with a fixed pre-filing answer are never asked, and
    their fixed answers are assumed unless `answers` says otherwise.
    """
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r} (allowed: {', '.join(MODES)})")
    validate_answers(pack, answers)
    effective = {**prefiling_defaults(pack), **answers} if mode == "prefiling" else dict(answers)
    s_values, n_values = truth_values(pack, effective)
    fixed = verdict_is_fixed(s_values, n_values)
    values = {**s_values, **n_values}
    informational = set(pack.informational_questions)
    for question in pack.questions:
        if question.id in answers:
            continue
        if mode == "prefiling" and question.prefiling_answer is not None:
            continue
        if question.id in informational:
            return question.id
        if not fixed and any(values[item] == U for item in pack.used_by(question.id)):
            return question.id
    return None


def by_dimension(
    pack: PolicyPack, answers: Mapping[str, str]
) -> list[tuple[Dimension, list[tuple[Question, str]]]]:
    """The given answers grouped by review dimension (R1..R6) for officers, in the dimensions' order."""
    validate_answers(pack, answers)
    return [
        (dimension, [(pack.question(q), answers[q]) for q in dimension.questions if q in answers])
        for dimension in pack.dimensions
    ]
