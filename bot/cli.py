"""`rongcuo`: run the bot, migrate the database, administer roles."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from bot import directory_cli, export_cli, reminders_cli, selfcheck_cli, stats_cli
from bot.clock import SystemClock
from bot.config import Settings, SettingsError, load_settings
from bot.logs import configure_logging
from bot.runtime import build_runtime, serve
from bot.services.admin import GRANTABLE_ROLES, AdminError
from dialogs.directory import DirectoryError
from dialogs.policy.pack import PackError
from storage import migrate
from storage.backup import BackupError, backup_database
from storage.database import Database
from storage.migrate import SchemaError


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rongcuo", description="容错纠错助手 — tolerance pre-filing assistant"
    )
    sub = parser.add_subparsers(dest="command", required=True)

    sub.add_parser("run", help="serve the web chat (and Telegram when a token is set)")

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    upgrade = db.add_parser("upgrade", help="migrate the database to the newest schema")
    upgrade.add_argument("--revision", default="head")
    db.add_parser("current", help="show the database's schema revision")
    backup = db.add_parser("backup", help="copy the SQLite database while it is in use (online backup)")
    backup.add_argument("--out", type=Path, required=True, help="the backup file to write")
    backup.add_argument("--force", action="store_true", help="replace FILE if it exists")

    admin = sub.add_parser("admin", help="roles").add_subparsers(dest="admin_command", required=True)
    for name, text in (("grant", "give a role"), ("revoke", "take a role away")):
        p = admin.add_parser(name, help=text)
        p.add_argument("--telegram-id", type=int, required=True)
        p.add_argument("--role", choices=GRANTABLE_ROLES, required=True)
        p.add_argument("--jurisdiction", help="county/district code (officers)")
    listing = admin.add_parser("list", help="list users and their roles")
    listing.add_argument("--role", choices=(*GRANTABLE_ROLES, "cadre"))
    move = admin.add_parser("move", help="move an officer from one county/district to another")
    move.add_argument("--telegram-id", type=int, required=True)
    move.add_argument("--from", dest="from_code", required=True, help="county/district code now")
    move.add_argument("--to", dest="to_code", required=True, help="county/district code from now on")

    county = admin.add_parser("jurisdiction", help="a county's officers' group chat and lead officer")
    county.add_argument("--code", required=True, help="county/district code")
    group = county.add_mutually_exclusive_group()
    group.add_argument("--group-chat-id", help="Telegram group chat id for digests of new filings")
    group.add_argument("--no-group", action="store_true", help="stop sending digests")
    county.add_argument("--lead-telegram-id", type=int, help="the lead officer (escalations)")
    invite = admin.add_parser("invite", help="print a one-time web sign-in link for a person")
    invite.add_argument("--name", required=True, help="the person's name, e.g. 张三")
    invite.add_argument("--unit", required=True, help="their unit's code in the organisation directory")
    invite.add_argument("--role", choices=GRANTABLE_ROLES, help="a role beyond cadre")
    invite.add_argument("--jurisdiction", help="county/district code (officers)")

    selfcheck_cli.add_parser(sub)
    reminders_cli.add_parser(sub)
    directory_cli.add_parser(sub)
    export_cli.add_parser(sub)
    stats_cli.add_parser(sub)
    return parser


def _fail(message: str, code: int = 2) -> int:
    print(f"rongcuo: {message}", file=sys.stderr)
    return code


async def _db_upgrade(settings: Settings, revision: str) -> int:
    database = Database(settings.effective_database_url)
    try:
        before = await migrate.status(database)
        if not before.known:
            return _fail(f"the database is at unknown revision {before.current}; upgrade rongcuo first")
        await migrate.upgrade(database, revision)
        after = await migrate.status(database)
        print(f"database schema: {before.current or 'empty'} -> {after.current}")
    finally:
        await database.dispose()
    return 0


async def _db_current(settings: Settings) -> int:
    database = Database(settings.effective_database_url)
    try:
        found = await migrate.status(database)
    finally:
        await database.dispose()
    state = (
        "up to date" if found.up_to_date else ("unknown to this code" if not found.known else "needs upgrade")
    )
    print(f"current: {found.current or 'empty'}  head: {found.head}  ({state})")
    return 0


def _db_backup(settings: Settings, out: Path, *, force: bool) -> int:
    try:
        result = backup_database(settings.effective_database_url, out, force=force)
    except BackupError as exc:
        return _fail(str(exc))
    print(result.describe())
    return 0


async def _admin(settings: Settings, args: argparse.Namespace) -> int:
    runtime = await build_runtime(settings, SystemClock())
    try:
        admin = runtime.admin
        if args.admin_command == "grant":
            added = await admin.grant(args.telegram_id, args.role, args.jurisdiction, by="cli")
            print(
                ("granted" if added else "already had") + f" {args.role} to Telegram user {args.telegram_id}"
            )
        elif args.admin_command == "revoke":
            removed = await admin.revoke(args.telegram_id, args.role, args.jurisdiction, by="cli")
            if not removed:
                return _fail(f"Telegram user {args.telegram_id} does not hold {args.role}", code=1)
            print(f"revoked {args.role} from Telegram user {args.telegram_id}")
        elif args.admin_command == "move":
            await admin.move(args.telegram_id, args.from_code, args.to_code, by="cli")
            print(f"moved officer Telegram user {args.telegram_id} from {args.from_code} to {args.to_code}")
        elif args.admin_command == "invite":
            assert runtime.invitations is not None
            created = await runtime.invitations.create(
                args.name, args.unit, args.role, args.jurisdiction, by="cli"
            )
            until = created.expires_at.astimezone(settings.tz).strftime("%Y-%m-%d %H:%M")
            print(f"{created.link}\nvalid once, until {until}")
        elif args.admin_command == "jurisdiction":
            print(
                await admin.configure_jurisdiction(
                    args.code,
                    group_chat_id=args.group_chat_id,
                    clear_group=args.no_group,
                    lead_telegram_id=args.lead_telegram_id,
                    by="cli",
                )
            )
        else:
            role = None if args.role == "cadre" else args.role
            lines = await admin.list_users(role)
            if args.role == "cadre":
                lines = [line for line in lines if line.registered]
            for line in lines:
                grants = ", ".join(
                    g.role + (f"@{g.jurisdiction_code}" if g.jurisdiction_code else "") for g in line.grants
                )
                print(
                    f"#{line.user_id}\t{line.name or '(not registered)'}\t{line.unit or '-'}\t"
                    f"telegram={','.join(line.telegram_ids) or '-'}\t{grants or 'cadre'}"
                )
            if not lines:
                print("no users")
    finally:
        await runtime.database.dispose()
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "selfcheck":
        # For auditors and other systems: needs no configuration and no database.
        return selfcheck_cli.run(args)
    try:
        settings = load_settings()
    except SettingsError as exc:
        return _fail(f"configuration error: {exc}")
    configure_logging(settings.log_level, settings.log_format)
    if args.command == "db" and args.db_command == "backup":
        # sqlite3's backup API is synchronous and needs no engine, so no event loop either; nor a
        # schema check: a database of any revision, even one newer than this code, can be saved.
        return _db_backup(settings, args.out, force=args.force)
    action: Callable[[], Awaitable[int | None]]
    if args.command == "run":
        action = lambda: serve(settings)  # noqa: E731
    elif args.command == "db":
        action = (
            (lambda: _db_upgrade(settings, args.revision))
            if args.db_command == "upgrade"
            else (lambda: _db_current(settings))
        )
    elif args.command == "reminders":
        action = lambda: reminders_cli.run(settings, args)  # noqa: E731
    elif args.command == "directory":
        action = lambda: directory_cli.run(settings, args)  # noqa: E731
    elif args.command == "export":
        action = lambda: export_cli.run(settings, args)  # noqa: E731
    elif args.command == "stats":
        action = lambda: stats_cli.run(settings, args)  # noqa: E731
    else:
        action = lambda: _admin(settings, args)  # noqa: E731
    try:
        return asyncio.run(action()) or 0  # type: ignore[arg-type]
    except (
        SchemaError,
        AdminError,
        DirectoryError,
        PackError,
        reminders_cli.TimeError,
        directory_cli.DirectoryCliError,
        export_cli.ExportError,
        stats_cli.StatsArgumentError,
    ) as exc:
        return _fail(str(exc))
    except KeyboardInterrupt:
        return 130
    except OSError as exc:
        return _fail(f"{exc.strerror or exc}")


if __name__ == "__main__":
    raise SystemExit(main())
