"""The self-check dialog on the pure engine, with the shipped yunnan pack."""

from __future__ import annotations

import json

import pytest

from bot.services.directory import read_directory_file
from dialogs.context import Context, Viewer
from dialogs.flows import selfcheck
from dialogs.policy.evaluator import evaluate
from dialogs.policy.pack import PolicyPack, load_pack
from dialogs.replies import RecordSelfCheck
from dialogs.texts import Texts
from tests.seeds import SEEDS as SEED_COPY
from tests.unit.chat import PureChat

CADRE = Viewer(user_id=1, registered=True, name="张三", unit_code="530127002", roles=frozenset({"cadre"}))
SEEDS = SEED_COPY


@pytest.fixture(scope="module")
def pack() -> PolicyPack:
    return load_pack("yunnan")


@pytest.fixture
def chat(pack: PolicyPack) -> PureChat:
    chat = PureChat(read_directory_file(None), policy=pack, viewer=CADRE)
    chat.text("/selfcheck")
    return chat


def label_for(pack: PolicyPack, question: str, value: str) -> str:
    return next(c.label["zh_CN"] for c in pack.question(question).choices if c.value == value)


def answer_all(chat: PureChat, pack: PolicyPack, facts: dict[str, str]) -> list[str]:
    """Answer whatever is asked from `facts` (unsure when absent); returns the question ids asked."""
    asked = []
    while chat.state is not None:
        question = chat.state.step
        asked.append(question)
        values = [c.value for c in pack.question(question).choices]
        # Unanswered facts are "unsure"; yes/no-only questions (informational) take their first choice.
        default = "unsure" if "unsure" in values else values[0]
        chat.press(label_for(pack, question, facts.get(question, default)))
    return asked


def test_intro_and_first_question_with_why_button(chat: PureChat) -> None:
    assert "开始容错自查" in chat.said and "仅供参考" in chat.said
    assert "第 1/23 题" in chat.said and "是否在执行上级决策部署" in chat.said
    assert {"是", "否", "不确定", "❔ 为什么问这个"} <= set(chat.labels())
    chat.press("❔ 为什么问这个")
    assert "为什么问这个：" in chat.said
    assert chat.state is not None and chat.state.step == "q_superior_decision"


def test_when_no_situation_can_apply_the_remaining_formula_questions_are_skipped(
    chat: PureChat, pack: PolicyPack
) -> None:
    for _ in range(6):  # the six situation triggers
        chat.press("否")
    assert chat.state is not None
    # Every S is false: nothing can change the verdict; only informational questions remain.
    assert chat.state.step in pack.informational_questions


def test_back_lets_the_cadre_change_an_answer(chat: PureChat) -> None:
    chat.press("是")
    chat.press("⬅ 上一步")
    assert chat.state is not None and chat.state.step == "q_superior_decision"
    assert "当前已填：是" in chat.said
    chat.press("否")
    assert chat.state is not None and chat.state.answers["q_superior_decision"] == "no"


@pytest.mark.skipif(not SEEDS.exists(), reason=f"{SEEDS} not found")
@pytest.mark.parametrize(
    "case", json.loads(SEEDS.read_text(encoding="utf-8")) if SEEDS.exists() else [], ids=lambda c: c["id"]
)
def test_seed_cases_answered_by_chat_give_the_expected_verdict(pack: PolicyPack, case: dict) -> None:
    chat = PureChat(read_directory_file(None), policy=pack, viewer=CADRE)
    chat.text("/selfcheck")
    answer_all(chat, pack, case["facts"])
    (effect,) = chat.effects
    assert isinstance(effect, RecordSelfCheck)
    result = evaluate(pack, effect.answers)
    assert result.verdict == case["expected"]["verdict"]
    assert list(result.situations) == case["expected"]["situations"]
    assert list(result.blockers) == case["expected"]["blockers"]


def test_result_screen_says_what_it_must(pack: PolicyPack) -> None:
    ctx = Context(texts=Texts(), viewer=CADRE, directory=read_directory_file(None), policy=pack)
    tolerable = evaluate(
        pack,
        {
            "q_superior_decision": "yes",
            "q_collective_decision": "yes",
            "q_public_interest_motive": "yes",
            "q_main_cause": "objective",
            **{
                q: "no"
                for q in (
                    "q_personal_gain",
                    "q_warned_before",
                    "q_explicit_prohibition",
                    "q_fraud_concealment",
                    "q_remedy",
                    "q_serious_consequence",
                    "q_eight_point_rules",
                    "q_obstruction_or_false_accusation",
                    "q_crime_suspected",
                )
            },
            "q_remedy": "yes",
        },
    )
    reply = selfcheck.result_reply(ctx, pack, tolerable, record_id=7)
    assert "可能符合容错情形" in reply.text and "S1 " in reply.text
    assert "可能免责" in reply.text
    assert "由纪委监委依规依纪依法认定" in reply.text and "报备不是事前审批" in reply.text
    assert f"版本 {pack.version}" in reply.text
    actions = [b.action for row in reply.buttons for b in row]
    assert actions == ["/new sc7", "/savecheck 7", "/selfcheck"]

    blocked = evaluate(pack, {"q_personal_gain": "yes", "q_eight_point_rules": "yes"})
    text = selfcheck.result_text(ctx, pack, blocked)
    assert "可能不属于容错范围" in text and "N1 " in text and "N6 " in text

    uncertain = evaluate(pack, {"q_superior_decision": "yes"})
    text = selfcheck.result_text(ctx, pack, uncertain)
    assert "尚不确定" in text and "还需要明确的问题" in text
