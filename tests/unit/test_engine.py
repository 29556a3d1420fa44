"""Engine behaviour every flow inherits, checked on a small dialog made for the test."""

from __future__ import annotations

from dialogs import engine
from dialogs.context import Context, Viewer
from dialogs.directory import OrgDirectory
from dialogs.engine import Dialog
from dialogs.events import Press, Text
from dialogs.replies import Outcome, Reply
from dialogs.steps import TextStep
from dialogs.texts import Texts
from tests.unit.chat import NOW

FINISHED: list[dict[str, object]] = []


def _finish(ctx: Context, answers: dict[str, object]) -> Outcome:
    FINISHED.append(answers)
    return Outcome(replies=[Reply("done")])


SAMPLE = Dialog(
    name="sample",
    title_key="reg.title",
    finish=_finish,
    steps=(
        TextStep("a", "reg.ask_name", "reg.field.name", min_len=1, max_len=10),
        TextStep("b", "reg.ask_position", "reg.field.position", optional=True, min_len=1, max_len=10),
        TextStep("c", "reg.ask_name", "reg.field.name", min_len=1, max_len=10),
    ),
)
CTX = Context(texts=Texts(), viewer=Viewer(), directory=OrgDirectory([]))


def press(result: engine.Result, label: str) -> engine.Result:
    assert result.state is not None
    action = next(
        b.action for r in result.outcome.replies for row in r.buttons for b in row if b.label == label
    )
    return engine.handle(SAMPLE, result.state, Press(NOW, action), CTX)


def labels(result: engine.Result) -> list[str]:
    return [b.label for r in result.outcome.replies for row in r.buttons for b in row]


def test_skip_is_offered_only_on_optional_steps_and_stores_no_answer() -> None:
    result = engine.start(SAMPLE, CTX)
    assert "跳过" not in labels(result)
    assert result.state is not None
    result = engine.handle(SAMPLE, result.state, Text(NOW, "x"), CTX)
    assert "跳过" in labels(result)
    result = press(result, "跳过")
    assert result.state is not None and result.state.step == "c"
    assert result.state.answers == {"a": "x", "b": None}


def test_a_forged_skip_on_a_required_step_does_nothing() -> None:
    result = engine.start(SAMPLE, CTX)
    assert result.state is not None
    forged = Press(NOW, f"{result.state.instance}:a:!skip")
    result = engine.handle(SAMPLE, result.state, forged, CTX)
    assert result.state is not None and result.state.step == "a" and result.state.answers == {}


def test_finishing_hands_every_answer_to_the_flow_and_ends_the_state() -> None:
    FINISHED.clear()
    result = engine.start(SAMPLE, CTX)
    for text in ("x", "y", "z"):
        assert result.state is not None
        result = engine.handle(SAMPLE, result.state, Text(NOW, text), CTX)
    assert result.state is None
    assert FINISHED == [{"a": "x", "b": "y", "c": "z"}]
    assert [r.text for r in result.outcome.replies] == ["done"]


def test_back_on_the_first_step_says_so() -> None:
    result = engine.start(SAMPLE, CTX)
    assert result.state is not None
    back = Press(NOW, f"{result.state.instance}:a:!back")
    result = engine.handle(SAMPLE, result.state, back, CTX)
    assert "已经是第一步" in result.outcome.replies[0].text
