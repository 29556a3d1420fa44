"""Step kinds: each knows how to ask its question and how to judge an answer.

A step never moves the dialog itself; the engine does that from what `accept` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from dialogs.context import Context
from dialogs.events import Attachment, Event, Text, Unsupported


@dataclass(frozen=True, slots=True)
class Accepted:
    value: Any


@dataclass(frozen=True, slots=True)
class Rejected:
    message: str


Verdict = Accepted | Rejected
Answers = dict[str, Any]


@dataclass(frozen=True, slots=True)
class Option:
    value: str
    label: str


def describe_input(ctx: Context, event: Event) -> str:
    """Name what the user sent, for messages like 'you sent a sticker'."""
    if isinstance(event, Unsupported):
        key = f"input.kind.{event.kind}"
        return ctx.texts(key) if ctx.texts.has(key) else ctx.texts("input.kind.other")
    if isinstance(event, Attachment):
        return ctx.texts(f"input.kind.{event.kind}")
    return ctx.texts("input.kind.other")


@dataclass(frozen=True)
class Step:
    name: str
    prompt_key: str
    label_key: str
    optional: bool = False
    depends_on: tuple[str, ...] = ()

    def question(self, ctx: Context, answers: Answers) -> str:
        return ctx.texts(self.prompt_key)

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        return ()

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        raise NotImplementedError

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        return str(value)


@dataclass(frozen=True)
class TextStep(Step):
    min_len: int = 1
    max_len: int = 200
    validator: Callable[[Context, str], str | None] | None = None

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        field = ctx.texts(self.label_key)
        if choice is not None or not isinstance(event, Text):
            if choice is not None:
                return Rejected(ctx.texts("input.need_text", field=field))
            return Rejected(ctx.texts("input.need_text_not", field=field, got=describe_input(ctx, event)))
        value = " ".join(event.text.split())
        length = len(value)
        if length < self.min_len or length > self.max_len:
            return Rejected(
                ctx.texts(
                    "input.length",
                    field=field,
                    min=self.min_len,
                    max=self.max_len,
                    count=length,
                )
            )
        if self.validator is not None:
            problem = self.validator(ctx, value)
            if problem:
                return Rejected(problem)
        return Accepted(value)


@dataclass(frozen=True)
class ChoiceStep(Step):
    """Choose one option with a button; typing an option's exact label works too."""

    choices: Callable[[Context, Answers], Sequence[Option]] = lambda ctx, answers: ()
    columns: int = 2

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        items = list(self.choices(ctx, answers))
        return [items[i : i + self.columns] for i in range(0, len(items), self.columns)]

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        items = list(self.choices(ctx, answers))
        if choice is not None:
            if any(o.value == choice for o in items):
                return Accepted(choice)
            return Rejected(ctx.texts("input.choice_invalid"))
        if isinstance(event, Text):
            typed = event.text.strip()
            for option in items:
                if option.label == typed:
                    return Accepted(option.value)
            return Rejected(ctx.texts("input.need_choice", field=ctx.texts(self.label_key)))
        return Rejected(
            ctx.texts(
                "input.need_choice_not", field=ctx.texts(self.label_key), got=describe_input(ctx, event)
            )
        )

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        for option in self.choices(ctx, answers):
            if option.value == value:
                return option.label
        return str(value)
