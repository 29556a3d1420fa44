"""`rongcuo directory`: import the organisation directory from YAML or XLSX, or write the template."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.clock import SystemClock
from bot.config import Settings
from bot.runtime import open_database
from bot.services.directory import load_directory, read_directory_file
from bot.services.directory_import import apply, plan, render
from dialogs.directory_import import EXTENSIONS, write_xlsx, write_yaml
from dialogs.texts import Texts
from storage.uow import UnitOfWork

# Operators read the command line's output in the logs of scripts too: English, like its other output.
TEXTS = Texts("en")


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    directory = sub.add_parser("directory", help="the organisation directory").add_subparsers(
        dest="directory_command", required=True
    )
    imported = directory.add_parser(
        "import", help="replace the directory with a YAML or XLSX file (units left out are deactivated)"
    )
    imported.add_argument("file", type=Path, help="FILE.yaml, FILE.yml or FILE.xlsx")
    imported.add_argument("--dry-run", action="store_true", help="check every row and report; change nothing")
    template = directory.add_parser(
        "template", help="write the directory in use as an XLSX (or YAML) file to edit and import"
    )
    template.add_argument("--out", type=Path, required=True, help="FILE.xlsx or FILE.yaml")
    template.add_argument("--force", action="store_true", help="replace FILE if it exists")


class DirectoryCliError(ValueError):
    pass


async def run(settings: Settings, args: argparse.Namespace) -> int:
    if args.directory_command == "template":
        return await _template(settings, args.out, force=args.force)
    path: Path = args.file
    if not path.name.lower().endswith(EXTENSIONS):
        raise DirectoryCliError(f"{path}: use a .yaml, .yml or .xlsx file")
    try:
        data = await asyncio.to_thread(path.read_bytes)
    except OSError as exc:
        raise DirectoryCliError(f"{path}: cannot read ({exc.strerror})") from None
    database = await open_database(settings)
    try:
        async with UnitOfWork(database) as uow:
            if args.dry_run:
                report = await plan(uow, str(path), data)
            else:
                report = await apply(
                    uow, SystemClock().now(), str(path), data, actor_user_id=None, actor_label="cli"
                )
                if report.ok:
                    await uow.commit()
    finally:
        await database.dispose()
    print(render(TEXTS, report))
    if not report.ok:
        return 1
    counts = report.counts()
    verb = "dry run, nothing changed: would add" if args.dry_run else "imported: added"
    print(
        f"{verb} {counts['added']}, {'update' if args.dry_run else 'updated'} {counts['updated']}, "
        f"{'deactivate' if args.dry_run else 'deactivated'} {counts['deactivated']}"
    )
    return 0


async def _template(settings: Settings, out: Path, *, force: bool) -> int:
    lowered = out.name.lower()
    if not lowered.endswith(EXTENSIONS):
        raise DirectoryCliError(f"{out}: use a .xlsx, .yaml or .yml file name")
    if await asyncio.to_thread(out.exists) and not force:
        raise DirectoryCliError(f"{out} exists; add --force to replace it")
    database = await open_database(settings)
    try:
        directory = await load_directory(database)
    finally:
        await database.dispose()
    if not len(directory):
        directory = read_directory_file(settings.org_directory)  # nothing synced or imported yet
    units = list(directory)
    if lowered.endswith(".xlsx"):
        await asyncio.to_thread(out.write_bytes, write_xlsx(units))
    else:
        await asyncio.to_thread(out.write_text, write_yaml(units), encoding="utf-8")
    print(f"wrote {len(units)} units to {out}")
    return 0
