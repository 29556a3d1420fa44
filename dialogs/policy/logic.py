"""Kleene three-valued logic over questionnaire answers (DOMAIN.md §6.2).

Truth values are the strings "T", "F" and "U" because they are stored and shown as such.
Every connective here is monotone in the information order (U below T and F): turning an
unknown atom into a known one can only turn U results into T or F, never flip T and F.
The evaluator's skipping of questions and its stability guarantees rest on that.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final, Literal, TypeAlias

Truth: TypeAlias = Literal["T", "F", "U"]
T: Final = "T"
F: Final = "F"
U: Final = "U"

# The answer that means "I do not know"; it is never compared, it makes an atom unknown.
UNSURE: Final = "unsure"

Answers: TypeAlias = Mapping[str, str]


def conj(values: Iterable[Truth]) -> Truth:
    result: Truth = T
    for value in values:
        if value == F:
            return F
        if value == U:
            result = U
    return result


def disj(values: Iterable[Truth]) -> Truth:
    result: Truth = F
    for value in values:
        if value == T:
            return T
        if value == U:
            result = U
    return result


def neg(value: Truth) -> Truth:
    return F if value == T else T if value == F else U


def known_answer(answers: Answers, question: str) -> str | None:
    """The answer as far as logic is concerned: unsure and unanswered are both unknown."""
    answer = answers.get(question)
    return None if answer is None or answer == UNSURE else answer


@dataclass(frozen=True, slots=True)
class Eq:
    question: str
    value: str

    def truth(self, answers: Answers) -> Truth:
        answer = known_answer(answers, self.question)
        return U if answer is None else T if answer == self.value else F

    def questions(self) -> frozenset[str]:
        return frozenset((self.question,))

    def __str__(self) -> str:
        return f"{self.question} = {self.value}"


@dataclass(frozen=True, slots=True)
class Ne:
    question: str
    value: str

    def truth(self, answers: Answers) -> Truth:
        answer = known_answer(answers, self.question)
        return U if answer is None else F if answer == self.value else T

    def questions(self) -> frozenset[str]:
        return frozenset((self.question,))

    def __str__(self) -> str:
        return f"{self.question} ≠ {self.value}"


@dataclass(frozen=True, slots=True)
class In:
    question: str
    values: tuple[str, ...]

    def truth(self, answers: Answers) -> Truth:
        answer = known_answer(answers, self.question)
        return U if answer is None else T if answer in self.values else F

    def questions(self) -> frozenset[str]:
        return frozenset((self.question,))

    def __str__(self) -> str:
        return f"{self.question} ∈ {{{', '.join(self.values)}}}"


@dataclass(frozen=True, slots=True)
class All:
    items: tuple[Formula, ...]

    def truth(self, answers: Answers) -> Truth:
        return conj(item.truth(answers) for item in self.items)

    def questions(self) -> frozenset[str]:
        return frozenset().union(*(item.questions() for item in self.items))

    def __str__(self) -> str:
        return " ∧ ".join(_grouped(item) for item in self.items)


@dataclass(frozen=True, slots=True)
class AnyOf:
    items: tuple[Formula, ...]

    def truth(self, answers: Answers) -> Truth:
        return disj(item.truth(answers) for item in self.items)

    def questions(self) -> frozenset[str]:
        return frozenset().union(*(item.questions() for item in self.items))

    def __str__(self) -> str:
        return " ∨ ".join(_grouped(item) for item in self.items)


@dataclass(frozen=True, slots=True)
class Not:
    item: Formula

    def truth(self, answers: Answers) -> Truth:
        return neg(self.item.truth(answers))

    def questions(self) -> frozenset[str]:
        return self.item.questions()

    def __str__(self) -> str:
        return f"¬{_grouped(self.item)}"


@dataclass(frozen=True, slots=True)
class Ref:
    """A named shared sub-formula (such as M); the name is kept so explanations can show it."""

    name: str
    target: Formula

    def truth(self, answers: Answers) -> Truth:
        return self.target.truth(answers)

    def questions(self) -> frozenset[str]:
        return self.target.questions()

    def __str__(self) -> str:
        return self.name


Formula: TypeAlias = Eq | Ne | In | All | AnyOf | Not | Ref


def _grouped(formula: Formula) -> str:
    return f"({formula})" if isinstance(formula, All | AnyOf) else str(formula)
