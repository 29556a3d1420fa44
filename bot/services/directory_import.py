"""Importing the organisation directory from a YAML or XLSX file: a dry run that reports every bad
row, then the whole file applied in one transaction, or nothing.

From the command line (`rongcuo directory import FILE [--dry-run]`) and in the chat: an
administrator sends the file (with `/import` as its caption, or after `/import`), reads the dry
run's report and confirms. The confirmation names the audit entry of the dry run, which holds the
file's id and hash: the file is fetched again and applied only if it is byte for byte the one
that was checked, and checked again against the database as it is then.

Units missing from the file are deactivated, never deleted (users and filings keep pointing at
them), exactly as the start-up sync does. The first import ends the start-up sync from the YAML
file for good (see bot/services/directory.py), so a restart never undoes an import.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.services.calls import UNCHANGED, Call, CommandResult
from bot.services.directory import DIRECTORY, IMPORTED, LiveDirectory
from bot.services.files import FileStore, FileUnavailable
from dialogs import engine
from dialogs.directory import OrgDirectory, OrgUnit
from dialogs.directory_import import Checked, Problem, read
from dialogs.events import Command
from dialogs.flows import admin as flow
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from dialogs.steps import Rejected
from dialogs.texts import Texts
from storage.models import OrgUnitRow
from storage.uow import UnitOfWork

CHECKED = "directory.checked"
CONFIRM_WITHIN = timedelta(hours=24)
SHOWN_PROBLEMS = 30  # in the chat; the command line prints them all


@dataclass(slots=True)
class Report:
    name: str
    sha256: str
    checked: Checked
    problems: list[Problem] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    deactivated: list[str] = field(default_factory=list)
    in_use: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def counts(self) -> dict[str, int]:
        levels = [u.level for u in self.checked.units()]
        return {
            "units": len(levels),
            "cities": levels.count("city"),
            "counties": levels.count("county"),
            "leaves": levels.count("unit"),
            "added": self.added,
            "updated": self.updated,
            "deactivated": len(self.deactivated),
        }


def _changed(row: OrgUnitRow, unit: OrgUnit) -> bool:
    # What a reader calls a change: a new position in the list (every row after a removed one
    # moves up) is applied too, but not counted.
    values = (unit.name, unit.level, unit.parent_code, unit.short_name, True)
    return (row.name, row.level, row.parent_code, row.short_name, row.active) != values


async def plan(uow: UnitOfWork, name: str, data: bytes) -> Report:
    """Check the file, then compare it with the directory in the database. Changes nothing."""
    checked = read(name, data)
    report = Report(name, hashlib.sha256(data).hexdigest(), checked, list(checked.problems))
    if not checked.ok:
        return report
    existing = {row.code: row for row in await uow.org_units.every()}
    for row in checked.rows:
        before = existing.get(row.code)
        if before is not None and before.level != row.level:
            report.problems.append(Problem(row.line, f"adm.imp.level_was_{before.level}", {"code": row.code}))
    if report.problems:
        return report
    units = checked.units()
    seen = {u.code for u in units}
    for unit in units:
        row = existing.get(unit.code)
        if row is None:
            report.added += 1
        elif _changed(row, unit):
            report.updated += 1
    report.deactivated = sorted(c for c, row in existing.items() if row.active and c not in seen)
    report.in_use = sorted(await uow.org_units.referenced(report.deactivated))
    return report


async def apply(
    uow: UnitOfWork,
    now: datetime,
    name: str,
    data: bytes,
    *,
    actor_user_id: int | None,
    actor_label: str | None,
) -> Report:
    """Plan, and when nothing is wrong, make the database's directory the file's (in `uow`)."""
    report = await plan(uow, name, data)
    if not report.ok:
        return report
    await uow.org_units.sync(report.checked.units())
    uow.audit.record(
        at=now,
        action=IMPORTED,
        subject_type=DIRECTORY,
        subject_id=report.sha256[:16],
        actor_user_id=actor_user_id,
        actor_label=actor_label,
        comment=name[:200],
        data={
            "file": name,
            "sha256": report.sha256,
            "added": report.added,
            "updated": report.updated,
            "deactivated": len(report.deactivated),
        },
    )
    return report


def render(texts: Texts, report: Report, *, limit: int | None = None) -> str:
    """The dry run's findings: every bad row, or what the import will change."""
    if not report.ok:
        shown = report.problems if limit is None else report.problems[:limit]
        lines = [texts("adm.imp.bad", name=report.name, count=len(report.problems))]
        lines += [f"· {p.render(texts)}" for p in shown]
        if len(shown) < len(report.problems):
            lines.append(texts("adm.imp.more_problems", count=len(report.problems) - len(shown)))
        lines.append(texts("adm.imp.nothing_applied"))
        return "\n".join(lines)
    lines = [texts("adm.imp.good", name=report.name, **report.counts())]
    if report.in_use:
        lines.append(texts("adm.imp.in_use", codes="、".join(report.in_use[:20]), count=len(report.in_use)))
    return "\n".join(lines)


class DirectoryImports:
    """The chat side: /import, the file that follows it, the confirmation."""

    def __init__(self, live: LiveDirectory, files: FileStore) -> None:
        self.live = live
        self.files = files

    async def command(self, call: Call, command: Command) -> CommandResult:
        texts = call.ctx.texts
        if command.attachment is not None:
            verdict = flow.check_file(command.attachment, call.ctx)
            if isinstance(verdict, Rejected):
                return CommandResult([Reply(verdict.message)])
            value = verdict.value  # type: ignore[union-attr]
            replies = await self.check(call, value["file_id"], value["name"])
            # A captioned file answers a pending /import too; any other dialog stays where it was.
            waiting = call.state is not None and call.state.dialog == flow.IMPORT_DIALOG.name
            return CommandResult(replies, None if waiting else UNCHANGED)
        args = flow.parse_args(command.args)
        if args.cancelled:
            return CommandResult([Reply(texts("adm.imp.cancelled"))])
        if args.confirmed and args.tokens and (upload := record_id(args.tokens[0])):
            return CommandResult(await self.confirm(call, upload))
        if args.tokens or args.confirmed:
            return CommandResult([Reply(texts("adm.imp.usage"))], UNCHANGED)
        started = engine.start(flow.IMPORT_DIALOG, call.ctx)
        return CommandResult(list(started.outcome.replies), started.state)

    async def received(self, call: Call, effect: flow.CheckDirectoryFile) -> list[Reply]:
        return await self.check(call, effect.file_id, effect.name)

    async def _fetch(self, call: Call, file_id: str) -> bytes | Reply:
        try:
            return await self.files.read(file_id, max_bytes=flow.MAX_IMPORT_BYTES)
        except FileUnavailable:
            return Reply(call.ctx.texts("adm.imp.unreadable"))

    async def check(self, call: Call, file_id: str, name: str) -> list[Reply]:
        texts = call.ctx.texts
        data = await self._fetch(call, file_id)
        if isinstance(data, Reply):
            return [data]
        report = await plan(call.uow, name, data)
        entry = call.uow.audit.record(
            at=call.now,
            action=CHECKED,
            subject_type=DIRECTORY,
            subject_id=report.sha256[:16],
            actor_user_id=call.user.id,
            comment=name[:200],
            data={
                "file_id": file_id,
                "file": name,
                "sha256": report.sha256,
                "problems": len(report.problems),
            },
        )
        await call.uow.session.flush()
        text = render(texts, report, limit=SHOWN_PROBLEMS)
        if not report.ok:
            return [Reply(text + "\n" + texts("adm.imp.fix_and_resend"))]
        buttons = (
            (
                Button(texts("adm.imp.apply"), f"/import {entry.id} {flow.OK}"),
                Button(texts("adm.cancel"), f"/import {flow.NO}"),
            ),
        )
        return [Reply(text + "\n" + texts("adm.imp.ask_apply"), buttons)]

    async def confirm(self, call: Call, check_id: int) -> list[Reply]:
        texts = call.ctx.texts
        entry = await call.uow.audit.get(check_id)
        if (
            entry is None
            or entry.action != CHECKED
            or entry.actor_user_id != call.user.id
            or call.now - entry.at > CONFIRM_WITHIN
        ):
            return [Reply(texts("adm.imp.expired"))]
        data = await self._fetch(call, str(entry.data.get("file_id", "")))
        if isinstance(data, Reply):
            return [data]
        name = str(entry.data.get("file", ""))
        if hashlib.sha256(data).hexdigest() != entry.data.get("sha256"):
            return [Reply(texts("adm.imp.expired"))]
        report = await apply(call.uow, call.now, name, data, actor_user_id=call.user.id, actor_label=None)
        if not report.ok:
            return [Reply(render(texts, report, limit=SHOWN_PROBLEMS))]
        # Served from memory from now on; other processes pick it up on their reload tick.
        self.live.current = OrgDirectory(report.checked.units())
        return [Reply(texts("adm.imp.done", name=name, **report.counts()))]
