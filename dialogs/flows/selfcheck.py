"""Self-check (容错自查): the questionnaire of DOMAIN.md §6.1, generated from the policy pack.

One step per question, asked in pack order; questions that can no longer change the verdict are
skipped (the evaluator decides which). The same steps run standalone (`/selfcheck`) and inside
the pre-filing (prefixed `sc.`), where outcome questions are asked prospectively.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from dialogs.context import Context
from dialogs.engine import Dialog
from dialogs.events import Event
from dialogs.policy.evaluator import Evaluation, evaluate, next_question, prefiling_defaults
from dialogs.policy.pack import PolicyPack, Question
from dialogs.replies import Outcome, RecordSelfCheck, Reply
from dialogs.steps import Accepted, Answers, ChoiceStep, Option, Rejected, Verdict

NAME = "selfcheck"
WHY = "?"


def _text(ctx: Context, value: Mapping[str, str]) -> str:
    return value.get(ctx.texts.locale) or value["zh_CN"]


@dataclass(frozen=True)
class QuestionStep(ChoiceStep):
    """One questionnaire question with its answer buttons and a 'why is this asked' button."""

    question_data: Question | None = None
    mode: str = "standalone"
    number: int = 0
    total: int = 0

    def question(self, ctx: Context, answers: Answers) -> str:
        q = self.question_data
        assert q is not None
        text = q.prefiling_text if self.mode == "prefiling" and q.prefiling_text else q.text
        return ctx.texts("sc.progress", number=self.number, total=self.total) + "\n" + _text(ctx, text)

    def options(self, ctx: Context, answers: Answers) -> Sequence[Sequence[Option]]:
        q = self.question_data
        assert q is not None
        choices = [Option(c.value, _text(ctx, c.label)) for c in q.choices]
        columns = 3 if len(choices) == 3 and all(len(o.label) <= 4 for o in choices) else 1
        rows = [choices[i : i + columns] for i in range(0, len(choices), columns)]
        rows.append([Option(WHY, ctx.texts("sc.why_button"))])
        return rows

    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        q = self.question_data
        assert q is not None
        if choice == WHY:
            # Not an answer: show the basis and ask again.
            return Rejected(ctx.texts("sc.why", why=_text(ctx, q.why)))
        if choice is not None:
            if any(c.value == choice for c in q.choices):
                return Accepted(choice)
            return Rejected(ctx.texts("input.choice_invalid"))
        return Rejected(ctx.texts("sc.need_button"))

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        q = self.question_data
        assert q is not None
        for c in q.choices:
            if c.value == value:
                return _text(ctx, c.label)
        return str(value)


def question_steps(pack: PolicyPack, prefix: str, *, mode: str) -> tuple[QuestionStep, ...]:
    asked = [q for q in pack.questions if not (mode == "prefiling" and q.prefiling_answer)]
    return tuple(
        QuestionStep(
            f"{prefix}{q.id}",
            "sc.title",
            "sc.field",
            question_data=q,
            mode=mode,
            number=i,
            total=len(asked),
        )
        for i, q in enumerate(asked, start=1)
    )


def embedded_answers(answers: Answers, prefix: str) -> dict[str, str]:
    return {k[len(prefix) :]: v for k, v in answers.items() if k.startswith(prefix) and isinstance(v, str)}


def clear_embedded(answers: Answers, prefix: str) -> None:
    for key in [k for k in answers if k.startswith(prefix)]:
        del answers[key]


def next_step(pack: PolicyPack, answers: Answers, prefix: str, *, mode: str) -> str | None:
    question = next_question(pack, embedded_answers(answers, prefix), mode=mode)
    return None if question is None else prefix + question


def with_defaults(pack: PolicyPack, answers: Mapping[str, str], mode: str) -> dict[str, str]:
    return {**prefiling_defaults(pack), **answers} if mode == "prefiling" else dict(answers)


def embedded_evaluation(ctx: Context, answers: Answers, prefix: str) -> Evaluation | None:
    found = embedded_answers(answers, prefix)
    if not found or ctx.policy is None:
        return None
    return evaluate(ctx.policy, with_defaults(ctx.policy, found, "prefiling"))


def verdict_line(ctx: Context, evaluation: Evaluation) -> str:
    if evaluation.verdict == "tolerable":
        return ctx.texts("sc.line.tolerable", situations="、".join(evaluation.situations))
    if evaluation.verdict == "not_tolerable":
        return ctx.texts("sc.line.not_tolerable", blockers="、".join(evaluation.blockers))
    return ctx.texts("sc.line.uncertain", count=len(evaluation.missing))


def result_text(ctx: Context, pack: PolicyPack, evaluation: Evaluation) -> str:
    """The result screen: verdict, the S/N items with one-line summaries, what is missing, the caveats."""
    lines = [ctx.texts("sc.result_header"), ctx.texts(f"sc.verdict.{evaluation.verdict}")]
    if evaluation.situations:
        lines.append(ctx.texts("sc.situations_header"))
        for sid in evaluation.situations:
            item = pack.situation(sid)
            lines.append(f"· {sid} {_text(ctx, item.title)}：{_text(ctx, item.summary)}")
    if evaluation.blockers:
        lines.append(ctx.texts("sc.blockers_header"))
        for bid in evaluation.blockers:
            item = pack.blocker(bid)
            lines.append(f"· {bid} {_text(ctx, item.title)}：{_text(ctx, item.summary)}")
    if evaluation.missing:
        lines.append(ctx.texts("sc.missing_header"))
        for qid in evaluation.missing:
            lines.append(f"· {_text(ctx, pack.question(qid).text)}")
    if evaluation.disposition_hint:
        lines.append(ctx.texts(f"sc.disposition.{evaluation.disposition_hint}"))
    lines += ["", ctx.texts("sc.only_commission_decides"), ctx.texts("pf.not_preapproval")]
    lines.append(ctx.texts("sc.policy_line", policy=pack.id, version=evaluation.policy_version))
    return "\n".join(lines)


def result_reply(ctx: Context, pack: PolicyPack, evaluation: Evaluation, record_id: int) -> Reply:
    from dialogs.replies import Button

    buttons = (
        (Button(ctx.texts("sc.start_prefiling"), f"/new sc{record_id}"),),
        (
            Button(ctx.texts("sc.save"), f"/savecheck {record_id}"),
            Button(ctx.texts("sc.again"), "/selfcheck"),
        ),
    )
    return Reply(result_text(ctx, pack, evaluation), buttons)


def build(pack: PolicyPack) -> Dialog:
    """The standalone self-check dialog for one policy pack."""

    def route(current: str, answers: Answers) -> str | None:
        return next_step(pack, answers, "", mode="standalone")

    def finish(ctx: Context, answers: Answers) -> Outcome:
        given = {k: v for k, v in answers.items() if isinstance(v, str) and not k.startswith(("~", "_"))}
        return Outcome(effects=[RecordSelfCheck(answers=given)])

    return Dialog(
        name=NAME,
        title_key="sc.title",
        finish=finish,
        route=route,
        steps=question_steps(pack, "", mode="standalone"),
    )


def dimension_lines(ctx: Context, pack: PolicyPack, answers: Mapping[str, str]) -> list[str]:
    """For officers: the answers grouped by the review dimensions R1–R6 of the pack they were given under."""
    from dialogs.policy.evaluator import by_dimension

    lines = [ctx.texts("sc.dimensions_header")]
    for dimension, items in by_dimension(pack, answers):
        if not items:
            continue
        lines.append(f"{dimension.id} {_text(ctx, dimension.name)}")
        for question, value in items:
            label = next((_text(ctx, c.label) for c in question.choices if c.value == value), value)
            lines.append(f"  · {_text(ctx, question.text)} —— {label}")
    return lines
