"""/export in chat: administrators export everything (`/export full` adds what people typed, and
is audit-logged), officers their own counties without free text; cadres are refused by the menu.

`/export` sends an XLSX workbook; `/export csv` sends the same sheets as CSV files in one ZIP
(a chat cannot send a folder, and five separate files would bury the conversation). A county code
(`/export 530127`) narrows the export to that county. The work runs after the command's
transaction as a Job, so the channel can show progress by editing one message.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Sequence
from dataclasses import dataclass
from weakref import WeakKeyDictionary

from bot.services.access import deny
from bot.services.calls import Call, CommandResult
from bot.services.exports import summary
from bot.services.exports.exporter import Scope, SheetDone, export
from bot.services.exports.sheets import Render
from bot.services.exports.writers import XLSX_MIME, ZIP_MIME, CsvZipSink, Sink, XlsxSink
from bot.services.jobs import Job, Progress
from dialogs.events import Command
from dialogs.replies import OutgoingFile, Reply
from dialogs.texts import Texts
from storage.database import Database

# Telegram lets a bot upload documents up to 50 MB; bigger exports are for `rongcuo export`.
MAX_DOCUMENT = 50 * 1024 * 1024
FULL_WORDS = ("full", "完整", "全部")
CSV_WORDS = ("csv",)

# One export at a time per database and process: a second waits its turn instead of doubling the load.
_locks: WeakKeyDictionary[Database, asyncio.Lock] = WeakKeyDictionary()


def _lock(database: Database) -> asyncio.Lock:
    lock = _locks.get(database)
    if lock is None:
        lock = _locks[database] = asyncio.Lock()
    return lock


@dataclass(frozen=True, slots=True)
class Request:
    full: bool = False
    csv: bool = False
    county: str | None = None


def parse(args: str) -> Request | None:
    """The words after /export in any order; None when one is not understood."""
    full = csv = False
    county = None
    for word in args.split():
        lowered = word.lower()
        if lowered in FULL_WORDS:
            full = True
        elif lowered in CSV_WORDS:
            csv = True
        elif word.isalnum() and county is None:
            county = word
        else:
            return None
    return Request(full, csv, county)


def progress_text(texts: Texts, done: Sequence[SheetDone], total: int) -> str:
    lines = [texts("export.sheet_done", sheet=d.title, rows=d.rows) for d in done]
    if len(done) >= total:
        head = texts("export.progress_done")
    else:
        head = texts("export.progress", percent=len(done) * 100 // total)
    return "\n".join([head, *lines])


async def export_command(call: Call, command: Command) -> CommandResult:
    texts, viewer = call.ctx.texts, call.ctx.viewer
    request = parse(command.args)
    if request is None:
        return CommandResult([Reply(texts("export.usage"))])
    admin = viewer.has_role("admin")
    if request.full and not admin:
        return CommandResult([Reply(texts("export.full_admins_only"))])
    jurisdictions: frozenset[str] | None = None if admin else frozenset(viewer.jurisdictions)
    if request.county is not None:
        unit = call.ctx.directory.get(request.county)
        if unit is None or unit.level != "county":
            return CommandResult([Reply(texts("export.bad_county", code=request.county))])
        if not admin and request.county not in viewer.jurisdictions:
            return deny(call, command, "jurisdiction")
        jurisdictions = frozenset({request.county})
    scope = Scope(jurisdictions, full=request.full)
    call.uow.audit.record(
        at=call.now,
        action="export.full" if scope.full else "export.standard",
        subject_type="export",
        subject_id=",".join(sorted(jurisdictions)) if jurisdictions is not None else "all",
        actor_user_id=call.user.id,
        data={
            "format": "csv" if request.csv else "xlsx",
            "full": scope.full,
            "channel": call.identity.channel,
        },
    )
    database = call.uow.database
    render = Render(texts, call.ctx.directory, call.env.tz, call.env.policy, call.now)
    stamp = call.now.astimezone(call.env.tz).strftime("%Y%m%d-%H%M")

    async def run(progress: Progress) -> list[Reply]:
        buffer = io.BytesIO()
        sink: Sink = CsvZipSink(buffer) if request.csv else XlsxSink(buffer)

        async def sheet_done(done: list[SheetDone], total: int) -> None:
            await progress(progress_text(texts, done, total))

        async with _lock(database):
            done = await export(database, scope, render, [sink], sheet_done)
        content = buffer.getvalue()
        if len(content) > MAX_DOCUMENT:
            size_mb = len(content) // (1024 * 1024)
            return [Reply(texts("export.too_big", size_mb=size_mb))]
        name = f"rongcuo-export{'-full' if scope.full else ''}-{stamp}"
        attachment = (
            OutgoingFile("document", f"{name}.zip", content, ZIP_MIME)
            if request.csv
            else OutgoingFile("document", f"{name}.xlsx", content, XLSX_MIME)
        )
        key = "export.ready_full" if scope.full else "export.ready"
        rows = sum(d.rows for d in done if d.key != summary.KEY)
        return [Reply(texts(key, rows=rows), attachment=attachment)]

    job = Job(
        started=texts("export.progress", percent=0),
        run=run,
        failed=texts("export.failed"),
        too_slow=texts("export.too_slow"),
    )
    return CommandResult([], job=job)


COMMANDS = {"export": export_command}
