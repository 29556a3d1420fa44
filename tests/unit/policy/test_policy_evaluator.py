"""Hand-made cases for every blocker, every uncertain path and the disposition hint (DOMAIN.md §6)."""

from __future__ import annotations

import pytest

from dialogs.policy import (
    InvalidAnswer,
    UnknownQuestion,
    by_dimension,
    evaluate,
    load_pack,
    next_question,
    prefiling_defaults,
)

PACK = load_pack("yunnan")

# The bullfrog case: S1 holds and every blocker is false.
S1_CLEAN: dict[str, str] = {
    "q_superior_decision": "yes",
    "q_policy_change_or_infeasible": "no",
    "q_urgent_complex_task": "no",
    "q_key_area_work": "no",
    "q_force_majeure": "no",
    "q_reform_innovation": "no",
    "q_public_interest_motive": "yes",
    "q_collective_decision": "yes",
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

# An S3 emergency without a collective decision at issue: S1 is false here, S3 carries the case.
S3_CLEAN = {
    **S1_CLEAN,
    "q_superior_decision": "no",
    "q_urgent_complex_task": "yes",
    "q_collective_decision": "not_required",
    "q_remedy": "not_applicable",
}


def run(base: dict[str, str], **changes: str) -> dict[str, object]:
    return evaluate(PACK, {**base, **changes}).to_json()


def verdict_of(base: dict[str, str], **changes: str) -> tuple[str, list[str], list[str]]:
    result = run(base, **changes)
    return result["verdict"], result["situations"], result["blockers"]  # type: ignore[return-value]


def test_the_baselines_are_tolerable() -> None:
    assert verdict_of(S1_CLEAN) == ("tolerable", ["S1"], [])
    assert verdict_of(S3_CLEAN) == ("tolerable", ["S3"], [])


FIRES = [
    ("N1", S1_CLEAN, {"q_personal_gain": "yes"}),
    ("N2", S1_CLEAN, {"q_warned_before": "yes"}),
    ("N2", S1_CLEAN, {"q_explicit_prohibition": "yes", "q_emergency_necessity": "no"}),
    ("N2", S3_CLEAN, {"q_warned_before": "yes", "q_emergency_necessity": "yes"}),
    ("N3", S1_CLEAN, {"q_fraud_concealment": "yes"}),
    ("N4", S1_CLEAN, {"q_remedy": "no"}),
    ("N5", S1_CLEAN, {"q_serious_consequence": "yes", "q_main_cause": "subjective"}),
    ("N6", S1_CLEAN, {"q_eight_point_rules": "yes"}),
    ("N7", S3_CLEAN, {"q_collective_decision": "no", "q_emergency_necessity": "no"}),
    ("N8", S1_CLEAN, {"q_obstruction_or_false_accusation": "yes"}),
    ("N9", S1_CLEAN, {"q_crime_suspected": "yes"}),
]


@pytest.mark.parametrize(
    ("blocker", "base", "changes"), FIRES, ids=[f"{b}-{i}" for i, (b, _, _) in enumerate(FIRES)]
)
def test_each_blocker_fires_alone(blocker: str, base: dict[str, str], changes: dict[str, str]) -> None:
    result = run(base, **changes)
    assert result["verdict"] == "not_tolerable"
    assert result["blockers"] == [blocker]
    assert result["situations"] == []
    assert result["missing"] == []
    assert result["disposition_hint"] is None


NEAR_MISSES = [
    # An explicit ban broken to save a life (the S3 pass case).
    ("N2", S3_CLEAN, {"q_explicit_prohibition": "yes", "q_emergency_necessity": "yes"}, ["S3"]),
    ("N4", S1_CLEAN, {"q_remedy": "in_progress"}, ["S1"]),
    # Serious harm with an objective cause is not N5; S1 allows an objective or mixed cause.
    ("N5", S1_CLEAN, {"q_serious_consequence": "yes", "q_main_cause": "objective"}, ["S1"]),
    ("N5", S1_CLEAN, {"q_serious_consequence": "yes", "q_main_cause": "mixed"}, ["S1"]),
    ("N7", S3_CLEAN, {"q_collective_decision": "not_required"}, ["S3"]),
    ("N7", S3_CLEAN, {"q_collective_decision": "no", "q_emergency_necessity": "yes"}, ["S3"]),
    ("N1", S1_CLEAN, {"q_personal_gain": "no"}, ["S1"]),
    ("N3", S1_CLEAN, {"q_fraud_concealment": "no"}, ["S1"]),
    ("N6", S1_CLEAN, {"q_eight_point_rules": "no"}, ["S1"]),
    ("N8", S1_CLEAN, {"q_obstruction_or_false_accusation": "no"}, ["S1"]),
    ("N9", S1_CLEAN, {"q_crime_suspected": "no"}, ["S1"]),
]


@pytest.mark.parametrize(
    ("blocker", "base", "changes", "situations"),
    NEAR_MISSES,
    ids=[f"{b}-{i}" for i, (b, *_) in enumerate(NEAR_MISSES)],
)
def test_near_miss_does_not_block(
    blocker: str, base: dict[str, str], changes: dict[str, str], situations: list[str]
) -> None:
    evaluation = evaluate(PACK, {**base, **changes})
    assert evaluation.blocker_values[blocker] == "F"
    assert (evaluation.verdict, list(evaluation.situations), list(evaluation.blockers)) == (
        "tolerable",
        situations,
        [],
    )


def test_several_blockers_are_listed_in_ascending_order() -> None:
    changes = {
        "q_crime_suspected": "yes",
        "q_remedy": "no",
        "q_personal_gain": "yes",
        "q_fraud_concealment": "yes",
        "q_collective_decision": "no",
    }
    assert verdict_of(S1_CLEAN, **changes) == ("not_tolerable", [], ["N1", "N3", "N4", "N7", "N9"])


def test_a_true_blocker_wins_over_unknowns_and_over_n0() -> None:
    # Every S false and N8 true: rule 1 comes first, so N0 is not listed.
    no_situation = {**S1_CLEAN, "q_superior_decision": "no", "q_obstruction_or_false_accusation": "yes"}
    result = evaluate(PACK, no_situation)
    assert (result.verdict, result.blockers) == ("not_tolerable", ("N8",))
    assert result.blocker_values["N0"] == "T"
    # Only one answer given, and it is a blocker.
    assert verdict_of({}, q_crime_suspected="yes") == ("not_tolerable", [], ["N9"])


def test_n0_when_every_situation_is_false() -> None:
    assert verdict_of(S1_CLEAN, q_superior_decision="no") == ("not_tolerable", [], ["N0"])
    assert verdict_of(S1_CLEAN, q_public_interest_motive="no") == ("not_tolerable", [], ["N0"])
    # Every situation false on its own trigger question, everything else unknown.
    triggers = {
        "q_superior_decision": "no",
        "q_policy_change_or_infeasible": "no",
        "q_urgent_complex_task": "no",
        "q_key_area_work": "no",
        "q_force_majeure": "no",
        "q_reform_innovation": "no",
    }
    result = run(triggers)
    assert (result["verdict"], result["blockers"], result["missing"]) == ("not_tolerable", ["N0"], [])


def test_uncertain_because_of_an_unsure_situation_atom() -> None:
    result = run(S1_CLEAN, q_superior_decision="unsure")
    assert result == {
        "verdict": "uncertain",
        "situations": ["S1"],
        "blockers": [],
        "missing": ["q_superior_decision"],
        "disposition_hint": None,
        "policy": {"id": "yunnan", "version": PACK.version},
    }


def test_uncertain_because_of_an_unsure_blocker_atom() -> None:
    result = run(S1_CLEAN, q_personal_gain="unsure")
    assert (result["verdict"], result["situations"], result["blockers"], result["missing"]) == (
        "uncertain",
        ["S1"],
        ["N1"],
        ["q_personal_gain"],
    )


def test_uncertain_because_of_an_unanswered_question() -> None:
    answers = {k: v for k, v in S1_CLEAN.items() if k != "q_remedy"}
    result = run(answers)
    assert (result["verdict"], result["situations"], result["blockers"], result["missing"]) == (
        "uncertain",
        ["S1"],
        ["N4"],
        ["q_remedy"],
    )


def test_unknown_emergency_keeps_n2_and_n7_open() -> None:
    changes = {
        "q_explicit_prohibition": "yes",
        "q_collective_decision": "no",
        "q_emergency_necessity": "unsure",
    }
    # "q_emergency_necessity ≠ yes" is U while the emergency is unknown, so neither blocker is T yet.
    result = run(S3_CLEAN, **changes)
    assert (result["verdict"], result["situations"], result["blockers"], result["missing"]) == (
        "uncertain",
        ["S3"],
        ["N2", "N7"],
        ["q_emergency_necessity"],
    )


def test_main_cause_unsure_touches_situations_but_not_a_false_n5() -> None:
    result = run(S1_CLEAN, q_main_cause="unsure")
    assert (result["verdict"], result["situations"], result["blockers"], result["missing"]) == (
        "uncertain",
        ["S1"],
        [],
        ["q_main_cause"],
    )


def test_missing_lists_only_questions_of_undecided_formulas() -> None:
    # q_duties_performed is unsure but S4 and S5 are already false, so it is not missing.
    result = run(S1_CLEAN, q_superior_decision="unsure", q_duties_performed="unsure")
    assert result["missing"] == ["q_superior_decision"]
    # And a tolerable verdict has nothing missing even with an unsure answer.
    assert run(S1_CLEAN, q_duties_performed="unsure")["verdict"] == "tolerable"
    assert run(S1_CLEAN, q_duties_performed="unsure")["missing"] == []


def test_nothing_answered() -> None:
    result = run({})
    formula_questions = sorted(set(PACK.question_ids) - set(PACK.informational_questions))
    assert result["verdict"] == "uncertain"
    assert result["situations"] == ["S1", "S2", "S3", "S4", "S5", "S6"]
    assert result["blockers"] == ["N1", "N2", "N3", "N4", "N5", "N6", "N7", "N8", "N9"]
    assert result["missing"] == formula_questions
    assert len(formula_questions) == 20


def test_candidates_exclude_false_situations() -> None:
    answers = {**S1_CLEAN, "q_superior_decision": "unsure", "q_reform_innovation": "unsure"}
    result = run(answers)
    assert result["situations"] == ["S1", "S6"]
    assert result["missing"] == ["q_reform_innovation", "q_superior_decision"]


@pytest.mark.parametrize(
    ("changes", "hint"),
    [
        ({}, "exempt"),
        ({"q_remedy": "not_applicable"}, "exempt"),
        ({"q_remedy": "in_progress"}, "mitigate"),
        ({"q_main_cause": "mixed"}, "mitigate"),
        ({"q_main_cause": "mixed", "q_remedy": "not_applicable"}, "mitigate"),
    ],
)
def test_disposition_hint(changes: dict[str, str], hint: str) -> None:
    result = run(S1_CLEAN, **changes)
    assert result["verdict"] == "tolerable"
    assert result["disposition_hint"] == hint


def test_values_are_reported_per_item() -> None:
    evaluation = evaluate(PACK, S1_CLEAN)
    assert dict(evaluation.situation_values) == {
        "S1": "T",
        "S2": "F",
        "S3": "F",
        "S4": "F",
        "S5": "F",
        "S6": "F",
    }
    assert dict(evaluation.blocker_values) == {f"N{i}": "F" for i in range(10)}
    assert evaluation.policy_id == "yunnan"
    assert evaluation.policy_version == PACK.version


def test_to_json_shape() -> None:
    data = evaluate(PACK, S1_CLEAN).to_json()
    assert list(data) == ["verdict", "situations", "blockers", "missing", "disposition_hint", "policy"]
    assert all(isinstance(data[key], list) for key in ("situations", "blockers", "missing"))


def test_unknown_question_is_rejected() -> None:
    with pytest.raises(UnknownQuestion, match="q_nonexistent") as caught:
        evaluate(PACK, {"q_nonexistent": "yes"})
    assert caught.value.question == "q_nonexistent"
    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    ("question", "value"),
    [("q_main_cause", "yes"), ("q_prefiled", "unsure"), ("q_personal_gain", "YES"), ("q_remedy", "")],
)
def test_invalid_answer_names_value_and_allowed(question: str, value: str) -> None:
    with pytest.raises(InvalidAnswer) as caught:
        evaluate(PACK, {question: value})
    message = str(caught.value)
    assert question in message and repr(value) in message
    assert ", ".join(PACK.question(question).values) in message


def test_non_string_answer_is_invalid() -> None:
    with pytest.raises(InvalidAnswer):
        evaluate(PACK, {"q_personal_gain": True})  # type: ignore[dict-item]


def test_next_question_starts_at_the_top_and_ends_with_none() -> None:
    assert next_question(PACK, {}) == "q_superior_decision"
    complete = {**S1_CLEAN, "q_procedural_flaw": "no", "q_prefiled": "no", "q_reported_promptly": "yes"}
    assert next_question(PACK, complete) is None


def test_next_question_skips_questions_whose_formulas_are_decided() -> None:
    order = list(PACK.question_ids)
    first_nine = {q: S1_CLEAN[q] for q in order[:9]}
    # S4 and S5 are already false (no key-area work, no force majeure): duties no longer matter.
    assert next_question(PACK, first_nine) == "q_emergency_necessity"


def test_next_question_after_a_blocker_asks_only_informational_questions() -> None:
    asked = {"q_crime_suspected": "yes"}
    assert next_question(PACK, asked) == "q_procedural_flaw"
    asked.update({"q_procedural_flaw": "no", "q_prefiled": "no"})
    assert next_question(PACK, asked) == "q_reported_promptly"
    asked["q_reported_promptly"] = "no"
    assert next_question(PACK, asked) is None


def test_next_question_after_every_situation_is_false() -> None:
    none_apply = {q: "no" for q in PACK.question_ids[:6]}
    assert next_question(PACK, none_apply) == "q_procedural_flaw"


def test_prefiling_mode_never_asks_fixed_questions() -> None:
    assert prefiling_defaults(PACK) == {
        "q_remedy": "not_applicable",
        "q_serious_consequence": "no",
        "q_prefiled": "yes",
    }
    answers: dict[str, str] = {}
    asked: list[str] = []
    while (question := next_question(PACK, answers, mode="prefiling")) is not None:
        asked.append(question)
        answers[question] = "unsure"
    assert not {"q_remedy", "q_serious_consequence", "q_prefiled"} & set(asked)
    assert set(asked) == set(PACK.question_ids) - set(prefiling_defaults(PACK))
    # Standalone asks them.
    answers = {}
    asked = []
    while (question := next_question(PACK, answers)) is not None:
        asked.append(question)
        answers[question] = "no" if question == "q_prefiled" else "unsure"
    assert asked == list(PACK.question_ids)


def test_prefiling_defaults_count_as_answers_for_relevance() -> None:
    answers = {**{q: S1_CLEAN[q] for q in S1_CLEAN if q not in ("q_remedy", "q_serious_consequence")}}
    assert next_question(PACK, answers) == "q_remedy"
    assert next_question(PACK, answers, mode="prefiling") == "q_procedural_flaw"


def test_next_question_validates() -> None:
    with pytest.raises(ValueError, match="mode"):
        next_question(PACK, {}, mode="later")
    with pytest.raises(UnknownQuestion):
        next_question(PACK, {"q_x": "yes"})


def test_by_dimension_groups_given_answers() -> None:
    grouped = by_dimension(PACK, {**S1_CLEAN, "q_prefiled": "no"})
    assert [dimension.id for dimension, _ in grouped] == ["R1", "R2", "R3", "R4", "R5", "R6"]
    table = {dimension.id: [(q.id, a) for q, a in rows] for dimension, rows in grouped}
    assert table["R1"] == [("q_public_interest_motive", "yes"), ("q_personal_gain", "no")]
    assert table["R3"] == [
        ("q_collective_decision", "yes"),
        ("q_prefiled", "no"),
        ("q_fraud_concealment", "no"),
    ]
    assert table["R6"] == [("q_remedy", "yes")]
    assert by_dimension(PACK, {})[0][1] == []
    with pytest.raises(InvalidAnswer):
        by_dimension(PACK, {"q_remedy": "maybe"})
