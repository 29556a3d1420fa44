"""The dialog engine: a pure function from (state, event) to (new state, replies, effects).

Back, skip, exit and resume are the engine's business, so every flow gets them the same way.
No clock, no database, no channel types here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dialogs import actions
from dialogs.context import Context
from dialogs.events import Event, Press
from dialogs.replies import Button, Outcome, Reply
from dialogs.state import DialogState
from dialogs.steps import Accepted, Answers, Pending, Step, scratch_key

Finish = Callable[[Context, Answers], Outcome]


@dataclass(frozen=True)
class Dialog:
    name: str
    steps: tuple[Step, ...]
    finish: Finish
    title_key: str
    # Decides the step after `current`; None ends the dialog. Default: the declared order.
    route: Callable[[str, Answers], str | None] | None = None
    # Edit-from-summary: the editor step's answer names a step to change; afterwards the dialog
    # returns to the summary step, asking on the way only what the change made necessary.
    summary_step: str | None = None
    editor_step: str | None = None
    _index: dict[str, Step] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", {s.name: s for s in self.steps})

    def step(self, name: str) -> Step:
        return self._index[name]

    def has_step(self, name: str) -> bool:
        return name in self._index

    @property
    def first(self) -> str:
        return self.steps[0].name

    def path(self, answers: Answers) -> list[str]:
        """The steps the current answers lead through, in order, up to the first unanswered one."""
        visited: list[str] = []
        name: str | None = self.first
        # A skipped optional step is answered (with None): only a missing key is still open.
        while name is not None and name not in visited and name in answers:
            visited.append(name)
            name = self.next_after(name, answers)
        return visited

    def next_after(self, current: str, answers: Answers) -> str | None:
        if self.route is not None:
            return self.route(current, answers)
        names = [s.name for s in self.steps]
        position = names.index(current)
        return names[position + 1] if position + 1 < len(names) else None


@dataclass(slots=True)
class Result:
    state: DialogState | None  # None: the dialog has finished
    outcome: Outcome


def start(
    dialog: Dialog, ctx: Context, *, intro: str | None = None, context: dict[str, Any] | None = None
) -> Result:
    """Start `dialog`; `context` seeds private `_` answers (the filing or item it is about)."""
    state = DialogState(dialog=dialog.name, step=dialog.first)
    state.answers.update(context or {})
    return Result(state, Outcome(replies=[prompt(dialog, state, ctx, notice=intro)]))


def prompt(dialog: Dialog, state: DialogState, ctx: Context, *, notice: str | None = None) -> Reply:
    step = dialog.step(state.step)
    parts = [notice] if notice else []
    parts.append(step.question(ctx, state.answers))
    if state.answers.get(step.name) is not None:
        shown = step.display(ctx, state.answers, state.answers[step.name])
        parts.append(ctx.texts("engine.current_value", value=shown))
    rows: list[tuple[Button, ...]] = [
        tuple(Button(o.label, actions.step_action(state.instance, step.name, o.value)) for o in row)
        for row in step.options(ctx, state.answers)
    ]
    nav: list[Button] = []
    if state.history:
        nav.append(
            Button(ctx.texts("nav.back"), actions.step_action(state.instance, step.name, actions.BACK))
        )
    if step.optional:
        nav.append(
            Button(ctx.texts("nav.skip"), actions.step_action(state.instance, step.name, actions.SKIP))
        )
    nav.append(Button(ctx.texts("nav.exit"), actions.step_action(state.instance, step.name, actions.EXIT)))
    rows.append(tuple(nav))
    return Reply("\n\n".join(parts), tuple(rows))


def resume(dialog: Dialog, state: DialogState, ctx: Context) -> Result:
    state.paused = False
    notice = ctx.texts("engine.resumed", title=ctx.texts(dialog.title_key))
    return Result(state, Outcome(replies=[prompt(dialog, state, ctx, notice=notice)]))


def pause(dialog: Dialog, state: DialogState, ctx: Context) -> Result:
    """Leave the dialog but keep every answer, and say exactly what was kept."""
    state.paused = True
    kept = kept_summary(dialog, state, ctx)
    title = ctx.texts(dialog.title_key)
    if kept:
        text = ctx.texts("engine.paused_kept", title=title, kept=kept)
    else:
        text = ctx.texts("engine.paused_nothing", title=title)
    return Result(state, Outcome(replies=[Reply(text)]))


def kept_summary(dialog: Dialog, state: DialogState, ctx: Context) -> str:
    lines = []
    for step in dialog.steps:
        value = state.answers.get(step.name)
        if value is not None:
            lines.append(f"· {ctx.texts(step.label_key)}：{step.display(ctx, state.answers, value)}")
    return "\n".join(lines)


def handle(dialog: Dialog, state: DialogState, event: Event, ctx: Context) -> Result:
    """Apply one event to an active dialog."""
    step = dialog.step(state.step)
    choice: str | None = None
    if isinstance(event, Press):
        parsed = actions.parse_step_action(event.action)
        if parsed is None or parsed.instance != state.instance or parsed.step != state.step:
            return Result(
                state, Outcome(replies=[prompt(dialog, state, ctx, notice=ctx.texts("engine.stale"))])
            )
        if parsed.value == actions.BACK:
            return _back(dialog, state, ctx)
        if parsed.value == actions.EXIT:
            return pause(dialog, state, ctx)
        if parsed.value == actions.SKIP:
            if not step.optional:
                return Result(state, Outcome(replies=[prompt(dialog, state, ctx)]))
            return _advance(dialog, state, step, None, ctx)
        choice = parsed.value
    verdict = step.accept(ctx, state.answers, event, choice)
    if isinstance(verdict, Accepted):
        return _advance(dialog, state, step, verdict.value, ctx, notice=verdict.notice)
    if isinstance(verdict, Pending):
        state.answers[scratch_key(step.name)] = verdict.value
        reply = prompt(dialog, state, ctx, notice=verdict.notice)
        if isinstance(event, Press):
            reply = Reply(reply.text, reply.buttons, edit=True)
        return Result(state, Outcome(replies=[reply]))
    return Result(state, Outcome(replies=[prompt(dialog, state, ctx, notice=verdict.message)]))


def _back(dialog: Dialog, state: DialogState, ctx: Context) -> Result:
    if not state.history:
        return Result(
            state, Outcome(replies=[prompt(dialog, state, ctx, notice=ctx.texts("engine.at_first"))])
        )
    state.step = state.history.pop()
    return Result(state, Outcome(replies=[prompt(dialog, state, ctx)]))


def _advance(
    dialog: Dialog, state: DialogState, step: Step, value: Any, ctx: Context, *, notice: str | None = None
) -> Result:
    state.answers.pop(scratch_key(step.name), None)
    if state.answers.get(step.name) != value:
        _forget_dependants(dialog, state.answers, step.name)
    state.answers[step.name] = value
    if step.name == dialog.editor_step:
        # Jump to the chosen answer; come back to the summary when it is done.
        state.answers.pop(step.name)
        state.history.append(step.name)
        state.return_to = dialog.summary_step
        state.step = str(value)
        return Result(state, Outcome(replies=[prompt(dialog, state, ctx)]))
    following = dialog.next_after(step.name, state.answers)
    if state.return_to is not None:
        # Editing: walk past steps already answered until the summary or a newly needed step.
        while following is not None and following != state.return_to and following in state.answers:
            following = dialog.next_after(following, state.answers)
        if following == state.return_to:
            state.return_to = None
    if step.transient:
        state.answers.pop(step.name, None)
    if following is None:
        return Result(None, dialog.finish(ctx, dict(state.answers)))
    state.history.append(step.name)
    state.step = following
    return Result(state, Outcome(replies=[prompt(dialog, state, ctx, notice=notice)]))


def _forget_dependants(dialog: Dialog, answers: Answers, changed: str) -> None:
    """A changed answer invalidates answers chosen from it (a new city voids the old county)."""
    pending = [changed]
    while pending:
        name = pending.pop()
        for other in dialog.steps:
            if name in other.depends_on and other.name in answers:
                del answers[other.name]
                pending.append(other.name)
