"""Property test: random sequences of inputs never break the pre-filing dialog or corrupt its answers."""

from __future__ import annotations

from datetime import date
from itertools import pairwise
from typing import Any

from hypothesis import HealthCheck, given, settings, target
from hypothesis import strategies as st

from bot.services.directory import read_directory_file
from dialogs.events import Attachment, Press, Unsupported
from dialogs.flows import prefiling
from dialogs.policy.pack import load_pack
from dialogs.replies import SubmitFiling
from dialogs.steps import (
    AmountStep,
    ChoiceStep,
    ConfirmStep,
    DateStep,
    FilesStep,
    MilestonesStep,
    MultiChoiceStep,
    TextStep,
)
from tests.unit.chat import NOW, PureChat
from tests.unit.test_prefiling_flow import CADRE, DESCRIPTIONS

DIRECTORY = read_directory_file(None)
PACK = load_pack("yunnan")

texts = st.sampled_from(
    [
        *DESCRIPTIONS.values(),
        "杨桥片区批而未供土地盘活项目",
        "短",
        "长" * 2500,
        "2026-12-01",
        "明天",
        "下周一",
        "2020-01-01",
        "50万",
        "1.2亿",
        "无",
        "很多",
        "2026-12-15 完成招标",
        "乱七八糟 ###",
        "🙂🙂🙂",
        "K1 推进项目建设",
        "个人报备",
        "",
    ]
)
commands = st.sampled_from(["/cancel", "/start", "/help", "/frobnicate", "/me"])
# Progress (a plausible answer to the current question) is weighted up, so sequences get deep
# into the form and the noise lands on every kind of step.
_progress = st.tuples(st.just("progress"), st.integers(min_value=0, max_value=3))
event_kinds = st.one_of(
    _progress,
    _progress,
    _progress,
    _progress,
    _progress,
    st.tuples(st.just("text"), texts),
    st.tuples(st.just("command"), commands),
    st.tuples(st.just("press"), st.integers(min_value=0, max_value=40)),
    st.tuples(st.just("forged"), st.text(max_size=70)),
    st.tuples(st.just("sticker"), st.none()),
    st.tuples(st.just("file"), st.integers(min_value=1, max_value=40 * 1024 * 1024)),
)


GOOD_TEXT = {
    **DESCRIPTIONS,
    "title": "杨桥片区批而未供土地盘活项目",
    "meeting_name": "街道党工委会议",
    "meeting_date": "2026-11-20",
    "conflict_detail": "本人亲属在相关企业任职，已申请回避。",
    "start_date": "2026-12-01",
    "end_date": "2027-03-31",
    "milestones": "2026-12-15 完成场地平整",
    "funds": "50万",
}


def progress(chat: PureChat, pick: int) -> list[Any] | None:
    """A plausible answer to whatever is asked now (a button for button steps)."""
    state = chat.state
    if state is None or state.paused:
        return chat.text("/start")
    if state.step in GOOD_TEXT and pick != 3:
        return chat.text(GOOD_TEXT[state.step])
    buttons = [
        b for r in chat.last for row in r.buttons for b in row if not b.action.endswith(("!back", "!exit"))
    ]
    # A user moving on presses "done" / "confirm" rather than ticking boxes forever.
    buttons.sort(key=lambda b: not b.action.endswith(("!done", "!ok")))
    if not buttons:
        return None
    return chat.send(Press(NOW, buttons[pick % len(buttons)].action))


def step_accepts(name: str, value: Any, answers: dict[str, Any], chat: PureChat) -> bool:
    """Whether a stored value is one the step could have accepted."""
    step = prefiling.FIELD_STEPS[name]
    if value is None:
        return step.optional
    from dialogs.context import Context
    from dialogs.texts import Texts

    ctx = Context(texts=Texts(), viewer=CADRE, directory=DIRECTORY, policy=PACK)
    if isinstance(step, TextStep):
        return isinstance(value, str) and step.min_len <= len(value) <= step.max_len
    if isinstance(step, MultiChoiceStep):
        allowed = {o.value for o in step.choices(ctx, answers)}
        return isinstance(value, list) and set(value) <= allowed and len(value) >= step.min_selected
    if isinstance(step, ChoiceStep):
        return value in {o.value for o in step.choices(ctx, answers)}
    if isinstance(step, DateStep):
        parsed = date.fromisoformat(value)
        return not (
            step.not_before
            and answers.get(step.not_before)
            and parsed < date.fromisoformat(answers[step.not_before])
        )
    if isinstance(step, AmountStep):
        return isinstance(value, int) and value >= 0
    if isinstance(step, FilesStep):
        return isinstance(value, list) and all(f["size"] <= step.max_bytes for f in value)
    if isinstance(step, MilestonesStep):
        return isinstance(value, list) and all(date.fromisoformat(m["date"]) and m["what"] for m in value)
    if isinstance(step, ConfirmStep):
        return value is True
    raise AssertionError(f"unknown step kind for {name}")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(event_kinds, min_size=1, max_size=80))
def test_random_input_never_breaks_the_dialog(events: list[tuple[str, Any]]) -> None:
    chat = PureChat(DIRECTORY, policy=PACK, viewer=CADRE)
    chat.new_filing()
    draft = chat.state.answers[prefiling.DRAFT_KEY] if chat.state else None
    for kind, value in events:
        if kind == "progress":
            replies = progress(chat, value)
            if replies is None:
                continue
        elif kind == "text":
            if not value:
                continue  # channels never deliver an empty text
            replies = chat.text(value)
        elif kind == "command":
            replies = chat.text(value)
        elif kind == "press":
            buttons = [b for r in chat.last for row in r.buttons for b in row]
            if not buttons:
                continue
            replies = chat.send(Press(NOW, buttons[value % len(buttons)].action))
        elif kind == "forged":
            replies = chat.send(Press(NOW, value or "x"))
        elif kind == "sticker":
            replies = chat.send(Unsupported(NOW, "sticker"))
        else:
            replies = chat.send(Attachment(NOW, "document", f"f{value}", "a.pdf", "application/pdf", value))
        # Never silent, never an empty message. (Submitting is answered by the service, which
        # numbers the filing; the pure engine hands it the SubmitFiling effect instead.)
        submitted = any(isinstance(e, SubmitFiling) for e in chat.effects)
        assert (replies or submitted) and all(r.text.strip() for r in replies)
        if submitted:
            break
        state = chat.state
        if state is None or state.dialog != prefiling.NAME:
            continue
        assert state.answers[prefiling.DRAFT_KEY] == draft  # the draft keeps its identity
        answers = state.answers
        path = prefiling.field_path(answers)
        # The path follows the route, and every answer on it is one its step accepts.
        for before, after in pairwise(path):
            assert prefiling.next_field(before, answers) == after
        for name in path:
            assert step_accepts(name, answers[name], answers, chat), (name, answers[name])
        # Nothing unknown is stored.
        known = set(prefiling.FIELD_ORDER) | {prefiling.DRAFT_KEY}
        for key in answers:
            assert key in known or key.startswith(("~", prefiling.SELFCHECK_PREFIX)), key
    # Steer the search towards sequences that get far into the form, where most steps live.
    if chat.state is not None and chat.state.dialog == prefiling.NAME:
        target(float(len(prefiling.field_path(chat.state.answers))), label="fields answered")
