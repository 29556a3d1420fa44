"""The pack format: the shipped yunnan pack against DOMAIN.md §5–6, and every kind of malformed pack."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest

from dialogs.policy import LOCALES, Localized, PackError, evaluate, load_pack, shipped_packs, text
from dialogs.policy.pack import parse_pack

PACK = load_pack("yunnan")

# DOMAIN.md §6.1, in order.
QUESTION_ORDER = [
    "q_superior_decision",
    "q_policy_change_or_infeasible",
    "q_urgent_complex_task",
    "q_key_area_work",
    "q_force_majeure",
    "q_reform_innovation",
    "q_public_interest_motive",
    "q_collective_decision",
    "q_main_cause",
    "q_duties_performed",
    "q_emergency_necessity",
    "q_explicit_prohibition",
    "q_warned_before",
    "q_personal_gain",
    "q_fraud_concealment",
    "q_remedy",
    "q_serious_consequence",
    "q_eight_point_rules",
    "q_obstruction_or_false_accusation",
    "q_crime_suspected",
    "q_procedural_flaw",
    "q_prefiled",
    "q_reported_promptly",
]

# DOMAIN.md §6.2–6.3 in the formulas' own notation (M is the shared public-interest motive).
FORMULAS = {
    "S1": "q_superior_decision = yes ∧ q_collective_decision = yes ∧ M ∧ q_main_cause ∈ {objective, mixed}",
    "S2": "q_policy_change_or_infeasible = yes ∧ M ∧ q_main_cause = objective",
    "S3": "q_urgent_complex_task = yes ∧ M ∧ q_main_cause ∈ {objective, mixed}",
    "S4": "q_key_area_work = yes ∧ q_duties_performed = yes ∧ M ∧ q_main_cause = objective",
    "S5": "q_force_majeure = yes ∧ q_duties_performed = yes ∧ M ∧ q_main_cause = objective",
    "S6": "q_reform_innovation = yes ∧ q_explicit_prohibition = no ∧ M ∧ q_main_cause ∈ {objective, mixed}",
    "N1": "q_personal_gain = yes",
    "N2": "q_warned_before = yes ∨ (q_explicit_prohibition = yes ∧ q_emergency_necessity ≠ yes)",
    "N3": "q_fraud_concealment = yes",
    "N4": "q_remedy = no",
    "N5": "q_serious_consequence = yes ∧ q_main_cause = subjective",
    "N6": "q_eight_point_rules = yes",
    "N7": "q_collective_decision = no ∧ q_emergency_necessity ≠ yes",
    "N8": "q_obstruction_or_false_accusation = yes",
    "N9": "q_crime_suspected = yes",
}


def all_texts(pack=PACK) -> list[Localized]:  # type: ignore[no-untyped-def]
    texts: list[Localized] = [pack.name, pack.notices.advisory, pack.notices.not_preapproval]
    texts += [pack.care_card.title, pack.care_card.text]
    for q in pack.questions:
        texts += [q.text, q.why, *(c.label for c in q.choices)]
        texts += [q.prefiling_text] if q.prefiling_text else []
    for item in (*pack.situations, *pack.blockers):
        texts += [item.title, item.summary, item.basis]
    texts += [d.name for d in pack.dimensions] + [c.name for c in pack.categories]
    for d in pack.distinctions:
        texts += [d.tolerable, d.not_tolerable]
    for h in pack.disposition.hints:
        texts += [h.title, h.summary]
    return texts


# -- the shipped pack ------------------------------------------------------------------------------


def test_shipped_packs() -> None:
    assert "yunnan" in shipped_packs()
    assert PACK.id == "yunnan"
    assert PACK.source == "dialogs/policy/packs/yunnan.yaml"


def test_version_is_the_hash_of_the_file_and_content_is_kept() -> None:
    raw = Path(__file__).resolve().parents[3].joinpath("dialogs/policy/packs/yunnan.yaml").read_bytes()
    assert PACK.version == hashlib.sha256(raw).hexdigest()[:16]
    assert re.fullmatch(r"[0-9a-f]{16}", PACK.version)
    assert PACK.content == raw.decode("utf-8")


def test_questions_follow_section_6_1() -> None:
    assert list(PACK.question_ids) == QUESTION_ORDER
    assert PACK.informational_questions == ("q_procedural_flaw", "q_prefiled", "q_reported_promptly")


def test_formulas_are_those_of_section_6() -> None:
    written = {item.id: str(item.formula) for item in PACK.formula_items}
    assert written == FORMULAS
    assert str(PACK.shared["M"]) == "q_public_interest_motive = yes"
    n0 = PACK.blocker("N0")
    assert n0.formula is None
    assert [s.id for s in PACK.situations] == ["S1", "S2", "S3", "S4", "S5", "S6"]
    assert [b.id for b in PACK.blockers] == [f"N{i}" for i in range(10)]


def test_choices() -> None:
    values = {q.id: q.values for q in PACK.questions}
    assert values["q_collective_decision"] == ("yes", "no", "not_required", "unsure")
    assert values["q_main_cause"] == ("objective", "mixed", "subjective", "unsure")
    assert values["q_remedy"] == ("yes", "in_progress", "not_applicable", "no", "unsure")
    assert values["q_prefiled"] == ("yes", "no")
    special = {"q_collective_decision", "q_main_cause", "q_remedy", "q_prefiled"}
    for question in PACK.questions:
        if question.id not in special:
            assert question.values == ("yes", "no", "unsure"), question.id
            assert [c.label["zh_CN"] for c in question.choices] == ["是", "否", "不确定"]
    assert PACK.question("q_main_cause").choice("objective") is not None
    assert PACK.question("q_main_cause").choice("maybe") is None


def test_prefiling_settings() -> None:
    answers = {q.id: q.prefiling_answer for q in PACK.questions if q.prefiling_answer}
    assert answers == {"q_remedy": "not_applicable", "q_serious_consequence": "no", "q_prefiled": "yes"}
    for question_id in ("q_main_cause", "q_duties_performed", "q_reported_promptly"):
        question = PACK.question(question_id)
        assert question.prefiling_text is not None
        assert question.wording("prefiling") == question.prefiling_text
        assert question.wording() == question.text
    urgent = PACK.question("q_urgent_complex_task")
    assert urgent.wording("prefiling") == urgent.text


def test_dimensions_follow_section_5_5() -> None:
    expected = {
        "R1": ("q_public_interest_motive", "q_personal_gain"),
        "R2": ("q_policy_change_or_infeasible", "q_force_majeure", "q_emergency_necessity", "q_main_cause"),
        "R3": (
            "q_collective_decision",
            "q_procedural_flaw",
            "q_reported_promptly",
            "q_prefiled",
            "q_fraud_concealment",
        ),
        "R4": ("q_explicit_prohibition", "q_warned_before", "q_eight_point_rules", "q_crime_suspected"),
        "R5": ("q_serious_consequence",),
        "R6": ("q_remedy",),
    }
    assert {d.id: d.questions for d in PACK.dimensions} == expected
    for dimension_id, questions in expected.items():
        for question_id in questions:
            assert PACK.question(question_id).dimension == dimension_id
    assert PACK.question("q_superior_decision").dimension is None


def test_categories_and_distinctions() -> None:
    assert {c.id: c.situations for c in PACK.categories} == {
        "K1": ("S4", "S6"),
        "K2": ("S3", "S5"),
        "K3": ("S3",),
        "K4": ("S3",),
        "K5": ("S6",),
        "K6": ("S4", "S6"),
        "K7": ("S6",),
        "K8": ("S1", "S2"),
        "K9": ("S3", "S4"),
    }
    assert PACK.category("K1").name["zh_CN"] == "推进项目建设"
    assert PACK.distinction("D2").used_by == ("S6", "N2")
    assert PACK.dimension("R6").questions == ("q_remedy",)
    with pytest.raises(KeyError):
        PACK.category("K10")


def test_every_text_is_complete_in_every_locale() -> None:
    texts = all_texts()
    assert len(texts) > 200
    for localized in texts:
        assert set(localized) == set(LOCALES)
        assert all(value.strip() for value in localized.values())
    # Simplified and Traditional Chinese should differ somewhere, or zh_TW was forgotten.
    assert sum(t["zh_CN"] != t["zh_TW"] for t in texts) > len(texts) // 2


def test_question_texts_fit_a_phone_screen() -> None:
    for question in PACK.questions:
        for wording in filter(None, (question.text, question.prefiling_text)):
            assert len(wording["zh_CN"]) <= 60, question.id
            assert len(wording["en"]) <= 200, question.id


def test_lookups_and_text_fallback() -> None:
    assert PACK.situation("S3").title["zh_CN"] == "急难险重任务中勇于担当"
    assert PACK.blocker("N2").formula is not None
    with pytest.raises(KeyError):
        PACK.situation("N1")
    with pytest.raises(KeyError):
        PACK.blocker("S1")
    title = PACK.situation("S5").title
    assert text(title, "en") == title["en"]
    assert text(title, "fr") == title["zh_CN"]
    assert text(title, None) == title["zh_CN"]
    assert text({"zh_CN": "甲", "en": ""}, "en") == "甲"


def test_the_pack_is_hashable_and_comparable() -> None:
    again = load_pack("yunnan")
    assert again == PACK
    assert hash(again.questions) == hash(PACK.questions)


def test_loading_by_path_gives_the_same_pack(tmp_path: Path) -> None:
    path = tmp_path / "copy.yaml"
    path.write_text(PACK.content, encoding="utf-8")
    copy = load_pack(path)
    assert (copy.id, copy.version, copy.source) == ("yunnan", PACK.version, str(path))
    assert load_pack(str(path)).version == PACK.version
    path.write_text(PACK.content + "# an edit\n", encoding="utf-8")
    assert load_pack(path).version != PACK.version


# -- a small pack and its malformed variants ----------------------------------------------------------

TXT = "{zh_CN: 文字, en: Text, zh_TW: 文字}"
MINI = f"""\
id: mini
name: {TXT}
notices:
  advisory: {TXT}
  not_preapproval: {TXT}
default_choices:
  - {{value: "yes", label: {TXT}}}
  - {{value: "no", label: {TXT}}}
  - {{value: unsure, label: {TXT}}}
shared:
  M: {{eq: [q_motive, "yes"]}}
questions:
  - id: q_motive
    dimension: R1
    text: {TXT}
    why: {TXT}
  - id: q_gain
    dimension: R1
    text: {TXT}
    why: {TXT}
  - id: q_cause
    text: {TXT}
    why: {TXT}
    choices:
      - {{value: objective, label: {TXT}}}
      - {{value: subjective, label: {TXT}}}
      - unsure
  - id: q_note
    choices: ["yes", "no"]
    prefiling_answer: "yes"
    text: {TXT}
    why: {TXT}
situations:
  - id: S1
    title: {TXT}
    summary: {TXT}
    basis: {TXT}
    formula: {{all: [{{ref: M}}, {{eq: [q_cause, objective]}}]}}
blockers:
  - id: N0
    title: {TXT}
    summary: {TXT}
    basis: {TXT}
  - id: N1
    title: {TXT}
    summary: {TXT}
    basis: {TXT}
    formula: {{eq: [q_gain, "yes"]}}
distinctions:
  - {{id: D1, tolerable: {TXT}, not_tolerable: {TXT}, used_by: [S1, N1]}}
dimensions:
  - {{id: R1, name: {TXT}, questions: [q_motive, q_gain]}}
categories:
  - {{id: K1, name: {TXT}, situations: [S1]}}
disposition:
  hints:
    exempt: {{title: {TXT}, summary: {TXT}}}
    mitigate: {{title: {TXT}, summary: {TXT}}}
  rules:
    - hint: exempt
      when: {{eq: [q_cause, objective]}}
  otherwise: mitigate
care_card: {{title: {TXT}, text: {TXT}}}
"""


def write(tmp_path: Path, content: str) -> Path:
    path = tmp_path / "pack.yaml"
    path.write_text(content, encoding="utf-8")
    return path


def line_with(content: str, needle: str, occurrence: int = 1) -> int:
    seen = 0
    for number, line in enumerate(content.splitlines(), start=1):
        if needle in line:
            seen += 1
            if seen == occurrence:
                return number
    raise AssertionError(f"{needle!r} not in the pack")


def mutate(old: str, new: str, occurrence: int = 1) -> str:
    parts = MINI.split(old)
    assert len(parts) > occurrence, old
    return old.join(parts[:occurrence]) + new + old.join(parts[occurrence:])


def test_the_small_pack_is_valid(tmp_path: Path) -> None:
    pack = load_pack(write(tmp_path, MINI))
    assert pack.id == "mini"
    assert pack.informational_questions == ("q_note",)
    assert evaluate(pack, {"q_motive": "yes", "q_cause": "objective", "q_gain": "no"}).verdict == "tolerable"
    assert evaluate(pack, {"q_motive": "no"}).blockers == ("N0",)


BAD = [
    # (text to replace, replacement, which occurrence, the reported line's text [and its occurrence], message)
    ("eq: [q_gain,", "eq: [q_gian,", 1, "q_gian", "blocker N1 formula: unknown question 'q_gian'"),
    ('eq: [q_gain, "yes"]', 'eq: [q_gain, "ja"]', 1, '"ja"', "q_gain has no answer 'ja' (allowed: yes, no)"),
    ("eq: [q_cause, objective]}]", "eq: [q_cause, unsure]}]", 1, "[q_cause, unsure]", "cannot be compared"),
    ("eq: [q_cause, objective]}]", "eq: [q_cause]}]", 1, "[q_cause]}]", "eq takes [question, value]"),
    (f"name: {TXT}", "name: {zh_CN: 文字, en: Text}", 1, "name:", "name: missing locale 'zh_TW'"),
    (
        f"name: {TXT}",
        "name: {zh_CN: 文字, en: Text, zh_TW: 文字, fr: Texte}",
        1,
        "name:",
        "unknown locale 'fr'",
    ),
    (f"name: {TXT}", "name: 文字", 1, "name:", "name: expected texts by locale"),
    (
        f"name: {TXT}",
        "name: {zh_CN: 文字, en: Text, zh_TW: ''}",
        1,
        "name:",
        "name.zh_TW: the value is empty",
    ),
    ("  - id: q_gain", "  - id: q_motive", 1, ("- id: q_motive", 2), "duplicate question id 'q_motive'"),
    ("  - id: N1", "  - id: N0", 1, ("- id: N0", 2), "duplicate blocker id 'N0' (first at line"),
    (
        "  - id: N0\n",
        "  - id: N2\n    formula: {eq: [q_gain, 'no']}\n",
        1,
        "blockers:",
        "blockers: N0 (no positive situation applies) is required",
    ),
    ("    formula: {all:", "    form: {all:", 1, "form:", "situation S1: unknown key 'form'"),
    (
        "    formula: {eq: [q_gain",
        "    # formula: {eq: [q_gain",
        1,
        "- id: N1",
        "blocker N1: missing key 'formula'",
    ),
    (
        "  - id: N0\n",
        "  - id: N0\n    formula: {eq: [q_gain, 'no']}\n",
        1,
        "formula: {eq: [q_gain, 'no']}",
        "N0 is derived",
    ),
    (
        "questions: [q_motive, q_gain]",
        "questions: [q_motive, q_gain, q_nope]",
        1,
        "q_nope",
        "unknown question 'q_nope'",
    ),
    ("situations: [S1]}", "situations: [S1, S9]}", 1, "S9", "category K1 situations: unknown situation 'S9'"),
    ("used_by: [S1, N1]", "used_by: [S1, N7]", 1, "N7", "unknown situation or blocker 'N7'"),
    (
        "{ref: M}",
        "{ref: Q}",
        1,
        "{ref: Q}",
        "situation S1 formula: ref to undefined name 'Q' (shared names: M)",
    ),
    ('M: {eq: [q_motive, "yes"]}', "M: {ref: M}", 1, "M: {ref: M}", "shared M: ref cycle M -> M"),
    ("{ref: M}", "{xor: M}", 1, "{xor: M}", "unknown operator 'xor'"),
    ("{ref: M}", "{ref: M, eq: [q_gain, 'no']}", 1, "{ref: M, eq:", "exactly one operator"),
    ("    text: {", "    hint: x\n    text: {", 1, "hint: x", "question q_motive: unknown key 'hint'"),
    ("id: mini\n", "id: mini\nextra: 1\n", 1, "extra: 1", "pack: unknown key 'extra'"),
    ("id: mini\n", "id: mini\nid: maxi\n", 1, "id: maxi", "duplicate key 'id' (first at line 1)"),
    ("id: mini\n", "id: mini: x\n", 1, "id: mini: x", "YAML syntax error"),
    ("care_card: {", "care_card: [", 1, "care_card:", "YAML syntax error"),
    (
        "    dimension: R1\n",
        "    dimension: R2\n",
        2,
        "dimension: R2",
        "question q_gain: unknown dimension 'R2'",
    ),
    (
        "    dimension: R1\n",
        "",
        2,
        "questions: [q_motive, q_gain]",
        "dimension R1 lists q_gain, but that question says",
    ),
    ('prefiling_answer: "yes"', "prefiling_answer: unsure", 1, "prefiling_answer", "not a definite choice"),
    ("      - unsure", "      - maybe", 1, "- maybe", "'maybe' is not in default_choices"),
    ('  - {value: "no", label', '  - {value: "yes", label', 1, ('{value: "yes"', 2), "duplicate value 'yes'"),
    ("otherwise: mitigate", "otherwise: reprimand", 1, "otherwise", "unknown hint 'reprimand'"),
    ("id: mini", "id: Mini Pack", 1, "id: Mini", "id 'Mini Pack' must be lower-case"),
    ("  - id: S1", "  - id: S0", 1, "- id: S0", "situation id 'S0' does not match"),
    ("  - id: q_cause", "  - id: cause", 1, "- id: cause", "question id 'cause' must look like q_lower_case"),
]


@pytest.mark.parametrize(("old", "new", "occurrence", "needle", "message"), BAD, ids=[b[4][:40] for b in BAD])
def test_malformed_pack_names_file_and_line(
    tmp_path: Path, old: str, new: str, occurrence: int, needle: str | tuple[str, int], message: str
) -> None:
    content = mutate(old, new, occurrence)
    path = write(tmp_path, content)
    with pytest.raises(PackError) as caught:
        load_pack(path)
    error = caught.value
    assert isinstance(error, ValueError)
    text_ = str(error)
    assert "\n" not in text_
    expected_line = line_with(content, *needle) if isinstance(needle, tuple) else line_with(content, needle)
    assert text_.startswith(f"{path}:{expected_line}: "), text_
    assert message in text_, text_
    assert (error.source, error.line) == (str(path), expected_line)


@pytest.mark.parametrize(
    ("content", "line", "message"),
    [
        ("", 1, "the pack is empty"),
        ("# only a comment\n", 1, "the pack is empty"),
        ("- a\n- b\n", 1, "pack: expected a mapping, found a list"),
        ("id: x\n---\nid: y\n", 2, "YAML syntax error"),
    ],
)
def test_malformed_whole_file(tmp_path: Path, content: str, line: int, message: str) -> None:
    path = write(tmp_path, content)
    with pytest.raises(PackError, match=re.escape(f"{path}:{line}: ") + ".*" + re.escape(message)):
        load_pack(path)


def test_missing_top_level_section_is_reported_at_the_top(tmp_path: Path) -> None:
    content = MINI.replace("care_card: {", "kare_card: {")
    with pytest.raises(PackError) as caught:
        load_pack(write(tmp_path, content))
    assert f":{line_with(content, 'kare_card')}: pack: unknown key 'kare_card'" in str(caught.value)
    content = MINI[: MINI.index("care_card:")]
    with pytest.raises(PackError, match=r":1: pack: missing key 'care_card'"):
        load_pack(write(tmp_path, content))


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes(b"id: mini\nname: caf\xe9\n")
    with pytest.raises(PackError, match=re.escape(f"{path}:2: the pack is not UTF-8")):
        load_pack(path)


def test_unreadable_and_unknown_packs(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(PackError, match=re.escape(f"{missing}: cannot read the policy pack")):
        load_pack(missing)
    with pytest.raises(PackError, match=r"no shipped policy pack named 'atlantis' \(shipped: .*yunnan"):
        load_pack("atlantis")


def test_parse_pack_labels_errors_with_the_given_source() -> None:
    with pytest.raises(PackError, match=r"^memory:1: "):
        parse_pack(b"[", "memory")


def test_version_changes_with_content(tmp_path: Path) -> None:
    first = load_pack(write(tmp_path, MINI))
    assert first.version == hashlib.sha256(MINI.encode()).hexdigest()[:16]
    second = load_pack(write(tmp_path, MINI.replace("id: mini", "id: mini2")))
    assert second.version != first.version
    same = load_pack(write(tmp_path, MINI))
    assert same.version == first.version
    assert same.content == MINI


def test_return_visits_default_and_configured(tmp_path: Path) -> None:
    assert dict(load_pack(write(tmp_path, MINI)).return_visits) == {
        "not_tolerated": (30, 180, 335),
        "exempt": (60,),
        "mitigate": (60,),
        "cleared": (30,),
    }
    pack = load_pack(write(tmp_path, MINI + "return_visits: {not_tolerated: [20, 90], exempt: [45]}\n"))
    assert dict(pack.return_visits) == {"not_tolerated": (20, 90), "exempt": (45,)}


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ("{sanctioned: [30]}", "return_visits: unknown outcome 'sanctioned'"),
        ("{exempt: [0]}", "return_visits exempt: '0' is not a number of days"),
        ("{exempt: [thirty]}", "return_visits exempt: 'thirty' is not a number of days"),
        ("{exempt: [60, 30]}", "return_visits exempt: the days must increase (30 after 60)"),
    ],
)
def test_bad_return_visits_are_reported_at_their_line(tmp_path: Path, section: str, message: str) -> None:
    content = MINI + f"return_visits: {section}\n"
    path = write(tmp_path, content)
    with pytest.raises(
        PackError, match=re.escape(f"{path}:{line_with(content, 'return_visits')}: {message}")
    ):
        load_pack(path)
