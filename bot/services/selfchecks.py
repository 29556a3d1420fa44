"""Self-check results: evaluated with the policy pack in use and stored with its id and version."""

from __future__ import annotations

from bot.services.calls import Call, CommandResult
from dialogs.events import Command
from dialogs.flows import selfcheck
from dialogs.parsing.ids import record_id
from dialogs.policy.evaluator import evaluate
from dialogs.policy.pack import PolicyPack, parse_pack
from dialogs.replies import Button, RecordSelfCheck, Reply
from storage.models import SelfCheckResult


async def store(call: Call, answers: dict[str, str], *, mode: str) -> SelfCheckResult:
    pack = call.env.policy
    evaluation = evaluate(pack, selfcheck.with_defaults(pack, answers, mode))
    assert call.user.id is not None
    return await call.uow.selfchecks.add(
        user_id=call.user.id,
        mode=mode,
        answers=dict(answers),
        result=evaluation.to_json(),
        policy_id=pack.id,
        policy_version=pack.version,
        now=call.now,
    )


async def record(call: Call, effect: RecordSelfCheck) -> list[Reply]:
    stored = await store(call, effect.answers, mode="standalone")
    pack = call.env.policy
    evaluation = evaluate(pack, effect.answers)
    return [selfcheck.result_reply(call.ctx, pack, evaluation, stored.id or 0)]


_SNAPSHOTS: dict[str, PolicyPack] = {}


async def pack_of(call: Call, record: SelfCheckResult) -> PolicyPack:
    """The exact pack version a stored self-check was evaluated with (kept as a snapshot)."""
    if record.policy_version == call.env.policy.version:
        return call.env.policy
    if record.policy_version not in _SNAPSHOTS:
        content = await call.uow.selfchecks.policy_text(record.policy_version)
        if content is None:
            return call.env.policy
        _SNAPSHOTS[record.policy_version] = parse_pack(
            content.encode("utf-8"), f"snapshot {record.policy_version}"
        )
    return _SNAPSHOTS[record.policy_version]


async def officer_lines(call: Call, record: SelfCheckResult) -> list[str]:
    pack = await pack_of(call, record)
    answers = selfcheck.with_defaults(pack, record.answers, record.mode)
    return selfcheck.dimension_lines(call.ctx, pack, answers)


def stored_verdict_line(call: Call, record: SelfCheckResult) -> str:
    """A stored verdict in one line, naming the pack version it was checked against."""
    result = record.result
    texts = call.ctx.texts
    if result["verdict"] == "tolerable":
        line = texts("sc.line.tolerable", situations="、".join(result["situations"]))
    elif result["verdict"] == "not_tolerable":
        line = texts("sc.line.not_tolerable", blockers="、".join(result["blockers"]))
    else:
        line = texts("sc.line.uncertain", count=len(result["missing"]))
    return f"{line}（{record.policy_id} {record.policy_version}）"


async def save(call: Call, command: Command) -> CommandResult:
    texts = call.ctx.texts
    arg = command.args.strip()
    found = await call.uow.selfchecks.get(found) if (found := record_id(arg)) else None
    if found is None or found.user_id != call.user.id:
        return CommandResult([Reply(texts("access.not_yours"))])
    found.saved = True
    call.uow.session.add(found)
    start = ((Button(texts("sc.start_prefiling"), f"/new sc{found.id}"),),)
    return CommandResult([Reply(texts("sc.saved", id=found.id), start)])


COMMANDS = {"savecheck": save}
