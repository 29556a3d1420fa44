"""`rongcuo reminders`: what is planned, and what a tick would send (or does send) at a given time."""

from __future__ import annotations

import argparse
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import ManualClock, SystemClock
from bot.config import Settings
from bot.runtime import build_runtime
from storage.uow import UnitOfWork


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    reminders = sub.add_parser("reminders", help="planned reminders and return visits").add_subparsers(
        dest="reminders_command", required=True
    )
    listing = reminders.add_parser("list", help="pending reminders, the earliest first")
    listing.add_argument("--due-before", metavar="TIME", help="only those due before TIME (ISO, local time)")
    run = reminders.add_parser("run-due", help="send the reminders due now (or at --now)")
    run.add_argument("--dry-run", action="store_true", help="show what would be sent; change nothing")
    run.add_argument("--now", metavar="TIME", help="pretend it is TIME (ISO, local time)")


class TimeError(ValueError):
    pass


def parse_time(text: str, tz: ZoneInfo) -> datetime:
    """ISO date or date-time; without an offset it is local time."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise TimeError(f"not a time: {text!r} (use e.g. 2026-12-01T09:00)") from exc
    return value if value.tzinfo is not None else value.replace(tzinfo=tz)


async def run(settings: Settings, args: argparse.Namespace) -> int:
    tz = settings.tz
    if args.reminders_command == "list":
        before = parse_time(args.due_before, tz) if args.due_before else None
        runtime = await build_runtime(settings, SystemClock())
        try:
            async with UnitOfWork(runtime.database) as uow:
                rows = await uow.reminders.pending(before)
            for row in rows:
                local = row.due_at.astimezone(tz)
                print(
                    f"#{row.id}\t{local:%Y-%m-%d %H:%M}\t{row.kind}\t{row.subject_type}#{row.subject_id}\t"
                    f"to={row.target_user_id or 'by role'}\t{row.payload.get('label', '')}"
                )
            print(f"{len(rows)} pending" + (f" due before {before:%Y-%m-%d %H:%M}" if before else ""))
        finally:
            await runtime.database.dispose()
        return 0
    now = parse_time(args.now, tz) if args.now else datetime.now(tz)
    runtime = await build_runtime(settings, ManualClock(now))
    try:
        tick = runtime.reminder_tick()
        if not tick.quiet.allows(now):
            print(
                f"{now:%Y-%m-%d %H:%M} is in quiet hours: nothing is sent until {tick.quiet.next_allowed(now):%Y-%m-%d %H:%M}"
            )
            if not args.dry_run:
                return 0
        if args.dry_run:
            previews = await tick.preview(now)
            for preview in previews:
                row = preview.reminder
                head = f"#{row.id} {row.kind} {row.subject_type}#{row.subject_id}"
                if preview.skip:
                    print(f"{head}: would skip ({preview.skip})")
                    continue
                for recipient, text in zip(preview.recipients, preview.texts, strict=True):
                    first = text.splitlines()[0] if text else ""
                    print(f"{head}: would send to {recipient}: {first}")
            print(f"{len(previews)} due at {now:%Y-%m-%d %H:%M} (dry run: nothing changed)")
            return 0
        report = await tick.run()
        print(
            f"sent {report.sent}, skipped {report.skipped}, undeliverable {report.undeliverable}; "
            f"{report.messages} messages queued"
        )
    finally:
        await runtime.database.dispose()
    return 0
