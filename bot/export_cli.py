"""`rongcuo export`: the same workbook as /export, written to a file (and/or one CSV per sheet).

For exports too big for a chat (Telegram takes at most 50 MB) and for scheduled jobs. The workbook
is written next to its destination and renamed into place only when complete, so a failed run never
leaves a half-written file under the requested name.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.runtime import build_runtime
from bot.services.exports.exporter import SHEET_COUNT, Scope, SheetDone, export
from bot.services.exports.sheets import Render
from bot.services.exports.writers import CsvDirSink, Sink, XlsxSink
from dialogs.texts import LOCALES, Texts
from storage.uow import UnitOfWork


class ExportError(ValueError):
    pass


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    p = sub.add_parser("export", help="filings, reviews, rectification items and return visits as XLSX/CSV")
    p.add_argument("--out", type=Path, metavar="FILE.xlsx", help="the workbook to write")
    p.add_argument("--csv-dir", type=Path, metavar="DIR", help="also (or instead) one CSV per sheet here")
    p.add_argument("--full", action="store_true", help="include free text (audit-logged)")
    p.add_argument("--jurisdiction", metavar="CODE", help="only this county/district")
    p.add_argument("--lang", choices=LOCALES, default="zh_CN", help="language of headers and labels")
    p.add_argument("--force", action="store_true", help="replace FILE.xlsx if it exists")


def _check(args: argparse.Namespace) -> None:
    if args.out is None and args.csv_dir is None:
        raise ExportError("say where to write: --out FILE.xlsx and/or --csv-dir DIR")
    if args.out is not None:
        if args.out.suffix.lower() != ".xlsx":
            raise ExportError(f"{args.out}: the workbook's name must end in .xlsx")
        if args.out.exists() and not args.force:
            raise ExportError(f"{args.out} exists; add --force to replace it")
        if not args.out.parent.is_dir():
            raise ExportError(f"{args.out.parent} is not a folder")


async def run(settings: Settings, args: argparse.Namespace) -> int:
    _check(args)
    runtime = await build_runtime(settings, SystemClock())
    try:
        jurisdictions = None
        if args.jurisdiction:
            unit = runtime.directory.get(args.jurisdiction)
            if unit is None or unit.level != "county":
                raise ExportError(f"{args.jurisdiction!r} is not a county or district in the directory")
            jurisdictions = frozenset({args.jurisdiction})
        scope = Scope(jurisdictions, full=args.full)
        if scope.full:
            async with UnitOfWork(runtime.database) as uow:
                uow.audit.record(
                    at=runtime.clock.now(),
                    action="export.full",
                    subject_type="export",
                    subject_id=args.jurisdiction or "all",
                    actor_label="cli",
                    data={"out": str(args.out or ""), "csv_dir": str(args.csv_dir or ""), "full": True},
                )
                await uow.commit()
        render = Render(
            Texts(args.lang), runtime.directory, runtime.env.tz, runtime.env.policy, runtime.clock.now()
        )
        sinks: list[Sink] = []
        temp: Path | None = None
        if args.out is not None:
            handle, name = tempfile.mkstemp(prefix=".export-", suffix=".xlsx", dir=args.out.parent)
            os.close(handle)
            temp = Path(name)
            sinks.append(XlsxSink(temp))
        if args.csv_dir is not None:
            sinks.append(CsvDirSink(args.csv_dir))

        async def report(done: list[SheetDone], total: int) -> None:
            last = done[-1]
            print(f"[{len(done)}/{total}] {last.key}: {last.rows} rows", file=sys.stderr)

        try:
            await export(runtime.database, scope, render, sinks, report)
            if temp is not None:
                os.replace(temp, args.out)
        finally:
            if temp is not None:
                temp.unlink(missing_ok=True)
        written = [str(p) for p in (args.out, args.csv_dir) if p is not None]
        print(f"exported {SHEET_COUNT} sheets to {' and '.join(written)}" + (" (full)" if scope.full else ""))
    finally:
        await runtime.database.dispose()
    return 0
