"""Step kinds: each knows how to ask its question and how to judge an answer.

A step never moves the dialog itself; the engine does that from what `accept` returns.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from dialogs.context import Context
from dialogs.events import Attachment, Event, Text, Unsupported
from dialogs.parsing.amounts import format_amount, parse_amount
from dialogs.parsing.dates import format_date, parse_date


@dataclass(frozen=True, slots=True)
class Accepted:
    value: Any
    notice: str | None = None  # shown with the next question, e.g. echoing a date as understood


@dataclass(frozen=True, slots=True)
class Rejected:
    message: str


@dataclass(frozen=True, slots=True)
class Pending:
    """Keep the step open with a work-in-progress value (ticked boxes, files so far) and ask again."""

    value: Any
    notice: str | None = None


Verdict = Accepted | Rejected | Pending

DONE = "!done"
UNDO = "!undo"
OK = "!ok"


def scratch_key(step: str) -> str:
    """Where a step keeps its work in progress, apart from its final answer."""
    return f"~{step}"


def local_today(ctx: Context, event: Event) -> date:
    return event.at.astimezone(ctx.tz).date()


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
    # A transient step steers the dialog (a menu) and keeps no answer once the dialog has moved on.
    transient: bool = False

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


def _need_buttons(ctx: Context, step: Step, event: Event) -> Rejected:
    field = ctx.texts(step.label_key)
    if isinstance(event, Text):
        return Rejected(ctx.texts("input.need_choice", field=field))
    return Rejected(ctx.texts("input.need_choice_not", field=field, got=describe_input(ctx, event)))


@dataclass(frozen=True)
class DateStep(Step):
    """A date typed the way people type it; the understood date is echoed back."""

    not_before: str | None = None  # another date step this one may not precede
    confirm_past_days: int | None = 30  # a date further back is questioned once

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        candidate = answers.get(scratch_key(self.name))
        if candidate:
            shown = format_date(date.fromisoformat(candidate))
            return [[Option(OK, ctx.texts("date.confirm_button", date=shown))]]
        return ()

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        field = ctx.texts(self.label_key)
        if choice == OK and answers.get(scratch_key(self.name)):
            confirmed = answers[scratch_key(self.name)]
            return Accepted(confirmed, self._understood(ctx, date.fromisoformat(confirmed)))
        if choice is not None:
            return Rejected(ctx.texts("input.choice_invalid"))
        if not isinstance(event, Text):
            return Rejected(ctx.texts("input.need_text_not", field=field, got=describe_input(ctx, event)))
        today = local_today(ctx, event)
        value = parse_date(event.text, today)
        if value is None:
            return Rejected(ctx.texts("date.invalid", field=field))
        if self.not_before and answers.get(self.not_before):
            earliest = date.fromisoformat(answers[self.not_before])
            if value < earliest:
                return Rejected(
                    ctx.texts(
                        "date.before", field=field, date=format_date(value), earliest=format_date(earliest)
                    )
                )
        if self.confirm_past_days is not None and (today - value).days > self.confirm_past_days:
            notice = ctx.texts(
                "date.far_past", field=field, date=format_date(value), days=(today - value).days
            )
            return Pending(value.isoformat(), notice)
        return Accepted(value.isoformat(), self._understood(ctx, value))

    def _understood(self, ctx: Context, value: date) -> str:
        return ctx.texts("input.recorded", field=ctx.texts(self.label_key), value=format_date(value))

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        return format_date(date.fromisoformat(value))


@dataclass(frozen=True)
class AmountStep(Step):
    """Money in whole yuan: 50万, 500000, 50.5万元, 1.2亿; 无 means none."""

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        field = ctx.texts(self.label_key)
        if choice is not None:
            return Rejected(ctx.texts("input.need_text", field=field))
        if not isinstance(event, Text):
            return Rejected(ctx.texts("input.need_text_not", field=field, got=describe_input(ctx, event)))
        value = parse_amount(event.text)
        if value is None:
            return Rejected(ctx.texts("amount.invalid"))
        return Accepted(value, ctx.texts("input.recorded", field=field, value=format_amount(value)))

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        return format_amount(int(value))


@dataclass(frozen=True)
class MultiChoiceStep(Step):
    """Tick any number of options, then press done; ticking edits the same message."""

    choices: Callable[[Context, Answers], Sequence[Option]] = lambda ctx, answers: ()
    preselect: Callable[[Context, Answers], Sequence[str]] = lambda ctx, answers: ()
    min_selected: int = 1

    def selection(self, ctx: Context, answers: Answers) -> list[str]:
        if scratch_key(self.name) in answers:
            return list(answers[scratch_key(self.name)])
        if answers.get(self.name) is not None:
            return list(answers[self.name])
        return list(self.preselect(ctx, answers))

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        chosen = set(self.selection(ctx, answers))
        rows = [
            [Option(o.value, ("☑ " if o.value in chosen else "☐ ") + o.label)]
            for o in self.choices(ctx, answers)
        ]
        rows.append([Option(DONE, ctx.texts("multi.done", count=len(chosen)))])
        return rows

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        if choice is None:
            return _need_buttons(ctx, self, event)
        order = [o.value for o in self.choices(ctx, answers)]
        chosen = self.selection(ctx, answers)
        if choice == DONE:
            if len(chosen) < self.min_selected:
                return Rejected(ctx.texts("multi.too_few", min=self.min_selected))
            return Accepted([v for v in order if v in chosen])
        if choice not in order:
            return Rejected(ctx.texts("input.choice_invalid"))
        chosen = [v for v in chosen if v != choice] if choice in chosen else [*chosen, choice]
        return Pending([v for v in order if v in chosen])

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        labels = {o.value: o.label for o in self.choices(ctx, answers)}
        return "、".join(labels.get(v, v) for v in value) or ctx.texts("multi.none")


@dataclass(frozen=True)
class FilesStep(Step):
    """Collect documents and photos one by one; done ends the step (an empty list when optional)."""

    max_files: int = 10
    max_bytes: int = 20 * 1024 * 1024  # the Bot API's getFile limit: bigger files could never be fetched

    def collected(self, answers: Answers) -> list[dict[str, Any]]:
        if scratch_key(self.name) in answers:
            return list(answers[scratch_key(self.name)])
        return list(answers.get(self.name) or [])

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        files = self.collected(answers)
        if not files:
            return ()  # nothing to finish yet; an optional step offers Skip instead
        return [
            [Option(DONE, ctx.texts("files.done", count=len(files))), Option(UNDO, ctx.texts("files.undo"))]
        ]

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        files = self.collected(answers)
        if choice == DONE:
            if not files and not self.optional:
                return Rejected(ctx.texts("files.need_one"))
            return Accepted(files)
        if choice == UNDO:
            return Pending(files[:-1], ctx.texts("files.removed") if files else None)
        if choice is not None:
            return Rejected(ctx.texts("input.choice_invalid"))
        if not isinstance(event, Attachment):
            got = ctx.texts("input.kind.text") if isinstance(event, Text) else describe_input(ctx, event)
            return Rejected(ctx.texts("files.need_file", got=got))
        if event.size is not None and event.size > self.max_bytes:
            return Rejected(ctx.texts("files.too_big", max_mb=self.max_bytes // (1024 * 1024)))
        if len(files) >= self.max_files:
            return Rejected(ctx.texts("files.too_many", max=self.max_files))
        entry = {
            "kind": event.kind,
            "file_id": event.file_id,
            "name": event.file_name or ctx.texts(f"input.kind.{event.kind}"),
            "mime_type": event.mime_type,
            "size": event.size,
        }
        files.append(entry)
        return Pending(files, ctx.texts("files.received", name=entry["name"], count=len(files)))

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        return "、".join(str(f["name"]) for f in value) if value else ctx.texts("files.none")


@dataclass(frozen=True)
class MilestonesStep(Step):
    """Key dates with what happens on them, one per line: `2026-12-15 完成招标`."""

    max_items: int = 20

    def collected(self, answers: Answers) -> list[dict[str, str]]:
        if scratch_key(self.name) in answers:
            return list(answers[scratch_key(self.name)])
        return list(answers.get(self.name) or [])

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        items = self.collected(answers)
        row = [Option(DONE, ctx.texts("milestones.done", count=len(items)))]
        if items:
            row.append(Option(UNDO, ctx.texts("milestones.undo")))
        return [row]

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        items = self.collected(answers)
        if choice == DONE:
            return Accepted(sorted(items, key=lambda m: m["date"]))
        if choice == UNDO:
            return Pending(items[:-1])
        if choice is not None:
            return Rejected(ctx.texts("input.choice_invalid"))
        if not isinstance(event, Text):
            return Rejected(ctx.texts("milestones.need_text", got=describe_input(ctx, event)))
        today = local_today(ctx, event)
        added = []
        for line in event.text.splitlines():
            line = line.strip()
            if not line:
                continue
            head, _, rest = line.replace("：", " ").replace(":", " ").partition(" ")
            when = parse_date(head, today)
            what = rest.strip()
            if when is None or not 2 <= len(what) <= 100:
                return Rejected(ctx.texts("milestones.invalid", line=line[:40]))
            added.append({"date": when.isoformat(), "what": what})
        if not added:
            return Rejected(ctx.texts("milestones.invalid", line=event.text[:40]))
        if len(items) + len(added) > self.max_items:
            return Rejected(ctx.texts("milestones.too_many", max=self.max_items))
        items += added
        shown = "\n".join(f"· {format_date(date.fromisoformat(m['date']))} {m['what']}" for m in items)
        return Pending(items, ctx.texts("milestones.so_far", items=shown))

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        if not value:
            return ctx.texts("milestones.none")
        return "；".join(f"{format_date(date.fromisoformat(m['date']))} {m['what']}" for m in value)


@dataclass(frozen=True)
class ConfirmStep(Step):
    """A statement the user confirms with one button (a commitment)."""

    button_key: str = "confirm.button"

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        return [[Option(OK, ctx.texts(self.button_key))]]

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        if choice == OK:
            return Accepted(True)
        if choice is not None:
            return Rejected(ctx.texts("input.choice_invalid"))
        return _need_buttons(ctx, self, event)

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        return ctx.texts("confirm.done") if value else ctx.texts("confirm.not_yet")
