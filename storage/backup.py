"""`rongcuo db backup`: a consistent copy of the embedded SQLite database while the bot keeps running.

A file copy of a live SQLite database can catch a page half-written or miss what still sits in the
`-wal` file; SQLite's online backup API copies from one read transaction, so the copy is exactly
the database as of one commit. PostgreSQL has its own tools for this (pg_dump), and pretending
otherwise would hand operators a weaker backup than the one they already have.
"""

from __future__ import annotations

import os
import shlex
import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """The backup was not made; the message says why and what to do instead."""


@dataclass(frozen=True, slots=True)
class BackupResult:
    path: Path
    size: int
    revision: str | None  # None: the database has no schema yet

    def describe(self) -> str:
        return f"backup written: {self.path} ({self.size} bytes, schema revision {self.revision or 'empty'})"


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL, resolved the way the engine resolves it; None for others."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:" or parsed.database.startswith("file:"):
        raise BackupError(f"cannot back up the SQLite database {parsed.database or '(in memory)'!r}")
    return Path(parsed.database).resolve()


def pg_dump_command(url: str, out: Path) -> str:
    """The pg_dump line an operator can paste; the password is never printed."""
    parsed = make_url(url.replace("postgres://", "postgresql://", 1))
    args = ["pg_dump", "--format=custom"]
    if parsed.host:
        args.append(f"--host={parsed.host}")
    if parsed.port:
        args.append(f"--port={parsed.port}")
    if parsed.username:
        args.append(f"--username={parsed.username}")
    args += [f"--dbname={parsed.database or ''}", f"--file={out}"]
    return shlex.join(args)


def backup_database(url: str, out: Path, *, force: bool = False) -> BackupResult:
    """Back up the database at `url` into `out`; only SQLite is handled here."""
    source = sqlite_file(url)
    if source is None:
        raise BackupError(
            "rongcuo db backup copies SQLite databases only; back up PostgreSQL with pg_dump "
            "(the password is left out: give it in ~/.pgpass or PGPASSWORD, or type it when asked):\n"
            f"  {pg_dump_command(url, out)}"
        )
    return backup_sqlite(source, out, force=force)


def backup_sqlite(source: Path, out: Path, *, force: bool = False) -> BackupResult:
    if not source.is_file():
        raise BackupError(f"no database at {source}")
    out = out.resolve()
    if out == source:
        raise BackupError("the backup file cannot be the database itself")
    if out.exists() and not force:
        raise BackupError(f"{out} exists; choose another file or pass --force to replace it")
    out.parent.mkdir(parents=True, exist_ok=True)
    # Written beside the target and renamed at the end: a failed or interrupted backup never
    # leaves a truncated file under the name an operator would later restore from.
    partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
    partial.unlink(missing_ok=True)
    # The copy holds personal data: owner-only from the first byte, whatever the umask says.
    os.close(os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
    try:
        revision = _copy(source, partial)
        os.replace(partial, out)
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return BackupResult(out, out.stat().st_size, revision)


def _copy(source: Path, target: Path) -> str | None:
    # mode=rw: a mistyped path must fail, not create an empty database to back up.
    src = sqlite3.connect(f"{source.as_uri()}?mode=rw", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(target)
        try:
            # pages=-1 copies everything in one step, i.e. inside one read transaction: in WAL
            # mode writers carry on meanwhile, and the copy never restarts because of them.
            src.backup(dst, pages=-1)
            # The copy must stand alone as one file: no -wal beside it to forget when restoring.
            dst.execute("PRAGMA journal_mode=DELETE")
            problems = [row[0] for row in dst.execute("PRAGMA integrity_check")]
            if problems != ["ok"]:
                raise BackupError(f"the copy failed its integrity check: {'; '.join(problems[:5])}")
            return _revision(dst)
        finally:
            dst.close()
    except sqlite3.Error as exc:
        raise BackupError(f"backing up {source} failed: {exc}") from exc
    finally:
        src.close()


def _revision(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT version_num FROM alembic_version").fetchone()
    except sqlite3.OperationalError:
        return None  # no alembic_version table: never migrated
    return row[0] if row else None
