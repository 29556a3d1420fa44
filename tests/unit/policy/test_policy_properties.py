"""Properties of the evaluator over random answer maps.

Everything here follows from one fact: Kleene logic is monotone, so making an unknown answer
known can turn U into T or F but never T into F. Answers are "unknown" when unsure or missing.
"""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dialogs.policy import evaluate, load_pack, next_question, prefiling_defaults
from dialogs.policy.evaluator import truth_values
from dialogs.policy.logic import UNSURE

PACK = load_pack("yunnan")
QUESTIONS = PACK.questions
FORMULA_QUESTIONS = {q.id for q in QUESTIONS} - set(PACK.informational_questions)
SETTINGS = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

complete_answers = st.fixed_dictionaries({q.id: st.sampled_from(q.values) for q in QUESTIONS})
partial_answers = st.fixed_dictionaries({}, optional={q.id: st.sampled_from(q.values) for q in QUESTIONS})

# Uniformly random maps are nearly always not_tolerable (nine blockers, each a coin toss away), so
# the strategies also start from tolerable cases and disturb a few answers.
_NO_BLOCKERS = {
    "q_superior_decision": "no",
    "q_policy_change_or_infeasible": "no",
    "q_urgent_complex_task": "no",
    "q_key_area_work": "no",
    "q_force_majeure": "no",
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
TOLERABLE_CASES = [
    {**_NO_BLOCKERS, "q_superior_decision": "yes", "q_collective_decision": "yes"},
    {**_NO_BLOCKERS, "q_policy_change_or_infeasible": "yes", "q_remedy": "in_progress"},
    {**_NO_BLOCKERS, "q_urgent_complex_task": "yes", "q_main_cause": "mixed"},
    {**_NO_BLOCKERS, "q_key_area_work": "yes", "q_force_majeure": "yes"},
    {**_NO_BLOCKERS, "q_reform_innovation": "yes", "q_remedy": "not_applicable"},
]


@st.composite
def disturbed_cases(draw: st.DrawFn) -> dict[str, str]:
    answers = dict(draw(st.sampled_from(TOLERABLE_CASES)))
    for question in draw(st.lists(st.sampled_from(QUESTIONS), max_size=4)):
        if draw(st.booleans()):
            answers.pop(question.id, None)
        else:
            answers[question.id] = draw(st.sampled_from(question.values))
    return answers


any_answers = st.one_of(complete_answers, partial_answers, disturbed_cases())


def definite(question_id: str) -> list[str]:
    return [v for v in PACK.question(question_id).values if v != UNSURE]


def unknown(answers: dict[str, str]) -> list[str]:
    return [q.id for q in QUESTIONS if answers.get(q.id, UNSURE) == UNSURE]


@st.composite
def refinements(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    """An answer map and a more informed one: some unknown answers made definite."""
    answers = draw(any_answers)
    more = dict(answers)
    for question in unknown(answers):
        if draw(st.booleans()):
            more[question] = draw(st.sampled_from(definite(question)))
    return answers, more


@SETTINGS
@given(any_answers, st.randoms())
def test_evaluation_is_deterministic_and_order_free(answers: dict[str, str], rnd: random.Random) -> None:
    items = list(answers.items())
    rnd.shuffle(items)
    first = evaluate(PACK, answers)
    assert evaluate(PACK, answers) == first
    assert evaluate(PACK, dict(items)) == first
    assert evaluate(PACK, dict(answers)).to_json() == first.to_json()


@SETTINGS
@given(any_answers)
def test_result_is_well_formed(answers: dict[str, str]) -> None:
    result = evaluate(PACK, answers)
    unknown_ids = set(unknown(answers))
    assert list(result.missing) == sorted(set(result.missing))
    assert set(result.missing) <= unknown_ids & FORMULA_QUESTIONS
    # Rule 4 always has something to ask, and only rule 4 lists missing answers.
    assert bool(result.missing) == (result.verdict == "uncertain")
    if result.verdict == "tolerable":
        assert result.situations and not result.blockers
        assert result.disposition_hint in ("exempt", "mitigate")
    else:
        assert result.disposition_hint is None
    if result.verdict == "not_tolerable":
        assert result.situations == ()
        assert result.blockers
    natural = sorted(result.blockers, key=lambda b: int(b[1:]))
    assert list(result.blockers) == natural
    assert list(result.situations) == sorted(result.situations, key=lambda s: int(s[1:]))


@SETTINGS
@given(refinements())
def test_formula_values_are_monotone(pair: tuple[dict[str, str], dict[str, str]]) -> None:
    before, after = pair
    for old, new in zip(truth_values(PACK, before), truth_values(PACK, after), strict=True):
        for item, value in old.items():
            if value != "U":
                assert new[item] == value, item


@SETTINGS
@given(refinements())
def test_definite_verdicts_survive_more_answers(pair: tuple[dict[str, str], dict[str, str]]) -> None:
    """Stronger than "unsure -> definite never turns not_tolerable into tolerable unless the question fed
    the blockers": it never changes a not_tolerable verdict (nor its blockers, under rule 2), because
    the blockers that decided it are T (rule 1) or every S is F (rule 2), and both stay so."""
    before, after = evaluate(PACK, pair[0]), evaluate(PACK, pair[1])
    if before.verdict == "not_tolerable":
        assert after.verdict == "not_tolerable"
        # Rule 1 can gain further T blockers, never lose one; rule 2 becomes rule 1 at most.
        if before.blockers == ("N0",):
            assert after.blockers == ("N0",) or "N0" not in after.blockers
        else:
            assert set(before.blockers) <= set(after.blockers)
    if before.verdict == "tolerable":
        assert after.verdict == "tolerable"
        assert set(before.situations) <= set(after.situations)
        assert after.disposition_hint == before.disposition_hint


@SETTINGS
@given(refinements())
def test_a_true_blocker_verdict_never_changes(pair: tuple[dict[str, str], dict[str, str]]) -> None:
    before = evaluate(PACK, pair[0])
    if before.verdict == "not_tolerable" and before.blockers != ("N0",):
        after = evaluate(PACK, pair[1])
        assert after.verdict == "not_tolerable"
        assert after.situations == ()


@SETTINGS
@given(any_answers, st.data())
def test_changing_an_answer_lifts_not_tolerable_only_through_the_blocking_formulas(
    answers: dict[str, str], data: st.DataObject
) -> None:
    """If changing question q's answer (to anything, unsure included) turns not_tolerable into
    tolerable, then q occurs in the formula of every blocker that was T, or, for N0, in some S."""
    before = evaluate(PACK, answers)
    question = data.draw(st.sampled_from([q.id for q in QUESTIONS]))
    value = data.draw(st.sampled_from(PACK.question(question).values))
    after = evaluate(PACK, {**answers, question: value})
    if before.verdict == "not_tolerable" and after.verdict == "tolerable":
        if before.blockers == ("N0",):
            assert any(question in s.formula.questions() for s in PACK.situations if s.formula)
        else:
            for blocker in before.blockers:
                formula = PACK.blocker(blocker).formula
                assert formula is not None and question in formula.questions()


@SETTINGS
@given(any_answers, st.sampled_from(["standalone", "prefiling"]), st.data())
def test_next_question_is_a_relevant_unanswered_question(
    answers: dict[str, str], mode: str, data: st.DataObject
) -> None:
    fixed = prefiling_defaults(PACK) if mode == "prefiling" else {}
    chosen = next_question(PACK, answers, mode=mode)
    if chosen is not None:
        assert chosen not in answers
        if mode == "prefiling":
            assert PACK.question(chosen).prefiling_answer is None
    effective = {**fixed, **answers}
    verdict = evaluate(PACK, effective).verdict
    # Every formula question passed over (all of them when the result is None) is one whose
    # every answer leaves the verdict as it is.
    order = list(PACK.question_ids)
    horizon = order.index(chosen) if chosen is not None else len(order)
    skipped = [q for q in order[:horizon] if q not in effective and q in FORMULA_QUESTIONS]
    for question in skipped:
        for value in PACK.question(question).values:
            assert evaluate(PACK, {**effective, question: value}).verdict == verdict, (question, value)
    if chosen is None:
        # Joint completions of everything still open.
        for _ in range(5):
            completion = {
                q: data.draw(st.sampled_from(PACK.question(q).values), label=q)
                for q in order
                if q not in effective
            }
            assert evaluate(PACK, {**effective, **completion}).verdict == verdict


@SETTINGS
@given(any_answers)
def test_next_question_asks_the_first_informational_gap(answers: dict[str, str]) -> None:
    chosen = next_question(PACK, answers)
    open_informational = [q for q in PACK.informational_questions if q not in answers]
    if chosen is None:
        assert not open_informational
    elif chosen in PACK.informational_questions:
        assert chosen == open_informational[0]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(["standalone", "prefiling"]), st.randoms())
def test_a_dialog_driven_by_next_question_always_ends(mode: str, rnd: random.Random) -> None:
    answers: dict[str, str] = {}
    steps = 0
    while (question := next_question(PACK, answers, mode=mode)) is not None:
        answers[question] = rnd.choice(PACK.question(question).values)
        steps += 1
        assert steps <= len(QUESTIONS)
    effective = {**(prefiling_defaults(PACK) if mode == "prefiling" else {}), **answers}
    result = evaluate(PACK, effective)
    # When the dialog stops on an open verdict, every missing answer was given as unsure.
    assert all(answers.get(q) == UNSURE for q in result.missing)
