"""/audit NUMBER: a filing's audit trail, for its county's officers and for administrators.

The trail is every audit entry about the filing and about what hangs off it (tolerance reviews,
rectification items, return visits), oldest first, in local time, with the actor's name and the
action in the reader's language. Refused lookups are not part of a filing's trail: an id typed by
someone else says nothing about the filing.
"""

from __future__ import annotations

from bot.services.calls import Call, CommandResult
from dialogs.events import Command
from dialogs.flows import admin as flow
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from dialogs.texts import Texts
from storage.models import AuditEntry, Filing

PAGE_SIZE = 12
# Where the names of each subject's states live in the catalogs: PREFIX + "status." + state.
STATE_PREFIX = {"filing": "", "review": "tr.", "rectification_item": "rect.", "return_visit": "visit."}


def action_key(action: str) -> str:
    return f"adm.act.{action.replace('.', '_')}"


def _action(texts: Texts, action: str) -> str:
    key = action_key(action)
    return texts(key) if texts.has(key) else action


def _state(texts: Texts, subject_type: str, value: str | None) -> str:
    if not value:
        return "—"
    key = f"{STATE_PREFIX.get(subject_type, '')}status.{value}"
    return texts(key) if texts.has(key) else value


async def _filing(call: Call, raw: str) -> Filing | None:
    if raw.isdigit():
        return await call.uow.filings.get(found) if (found := record_id(raw)) else None
    return await call.uow.filings.by_number(raw) if raw else None


def _may_read(call: Call, filing: Filing) -> bool:
    viewer = call.ctx.viewer
    if filing.status == "draft":
        return False  # a draft is its author's alone and has no number yet
    return viewer.has_role("admin") or (
        viewer.has_role("officer") and filing.jurisdiction_code in viewer.jurisdictions
    )


async def audit_command(call: Call, command: Command) -> CommandResult:
    texts, uow = call.ctx.texts, call.uow
    args = flow.parse_args(command.args)
    if not args.tokens:
        return CommandResult([Reply(texts("adm.audit.usage"))])
    raw = args.tokens[0]
    filing = await _filing(call, raw)
    if filing is None or not _may_read(call, filing):
        uow.audit.record(
            at=call.now,
            action="access.denied",
            subject_type="filing",
            subject_id=raw[:60],
            actor_user_id=call.user.id,
            comment=f"/audit {command.args}"[:200],
        )
        return CommandResult([Reply(texts("adm.audit.not_found", number=raw))])
    assert filing.id is not None
    subjects = {
        "filing": [str(filing.id)],
        "review": [str(r.id) for r in await uow.reviews.of_filing(filing.id)],
        "rectification_item": [str(i.id) for i in await uow.rectifications.of_filing(filing.id)],
        "return_visit": [str(v.id) for v in await uow.visits.of_filing(filing.id)],
    }
    entries = list(await uow.audit.trail(subjects))
    total = len(entries)
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(args.page, pages)
    shown = entries[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]
    names = await _actor_names(call, shown)
    lines = [
        texts(
            "adm.audit.header", number=filing.number or f"#{filing.id}", title=filing.title or "", count=total
        )
    ]
    lines += [_line(call, entry, names) for entry in shown]
    if pages > 1:
        lines.append(texts("adm.page", page=page, pages=pages))
    paging = _audit_paging(call, filing.id, page, pages)
    return CommandResult([Reply("\n".join(lines), (paging,) if paging else ())])


def _audit_paging(call: Call, filing_id: int, page: int, pages: int) -> tuple[Button, ...]:
    texts = call.ctx.texts
    row = []
    if page > 1:
        row.append(Button(texts("adm.page_prev"), f"/audit {filing_id} ~{page - 1}"))
    if page < pages:
        row.append(Button(texts("adm.page_next"), f"/audit {filing_id} ~{page + 1}"))
    return tuple(row)


async def _actor_names(call: Call, entries: list[AuditEntry]) -> dict[int, str]:
    names: dict[int, str] = {}
    for entry in entries:
        if entry.actor_user_id is not None and entry.actor_user_id not in names:
            user = await call.uow.users.get(entry.actor_user_id)
            names[entry.actor_user_id] = (
                user.name if user and user.name else None
            ) or f"#{entry.actor_user_id}"
    return names


def _line(call: Call, entry: AuditEntry, names: dict[int, str]) -> str:
    texts = call.ctx.texts
    when = entry.at.astimezone(call.env.tz).strftime("%Y-%m-%d %H:%M")
    if entry.actor_user_id is not None:
        actor = names[entry.actor_user_id]
    elif entry.actor_label == "cli":
        actor = texts("adm.audit.cli")
    else:
        actor = entry.actor_label or texts("adm.audit.system")
    line = texts("adm.audit.line", time=when, actor=actor, action=_action(texts, entry.action))
    if entry.from_state or entry.to_state:
        line += texts(
            "adm.audit.change",
            old=_state(texts, entry.subject_type, entry.from_state),
            new=_state(texts, entry.subject_type, entry.to_state),
        )
    if entry.comment:
        comment = " ".join(entry.comment.split())
        line += texts("adm.audit.comment", comment=comment[:80] + ("…" if len(comment) > 80 else ""))
    return line


COMMANDS = {"audit": audit_command}
