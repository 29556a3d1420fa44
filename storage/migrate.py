"""Schema migrations with Alembic, driven from the program (no alembic.ini needed).

Alembic (with Mako and the migration scripts it loads) is imported only when a migration or a
full status is needed: the common start, on a database already at the head, is told so by
`is_at_head` from the revision lines of the scripts and one SELECT, and starts faster for it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import structlog
from sqlalchemy import text
from sqlalchemy.engine import Connection

from storage.database import Database

if TYPE_CHECKING:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

log = structlog.get_logger(__name__)
VERSIONS = Path(__file__).parent / "migrations" / "versions"
_REVISION_LINE = re.compile(r'^(down_revision|revision)\b[^=]*=\s*(?:"([^"]*)"|None)', re.MULTILINE)


def head_revision() -> str:
    """The newest revision, read from the scripts' `revision = ...` lines (a straight chain)."""
    revisions: set[str] = set()
    parents: set[str] = set()
    for script in VERSIONS.glob("*.py"):
        for name, value in _REVISION_LINE.findall(script.read_text(encoding="utf-8")):
            if value:
                (revisions if name == "revision" else parents).add(value)
    heads = revisions - parents
    if len(heads) != 1:
        raise RuntimeError(f"expected one head revision in {VERSIONS}, found {sorted(heads)}")
    return heads.pop()


async def is_at_head(database: Database) -> bool:
    try:
        async with database.engine.connect() as conn:
            current = (await conn.execute(text("SELECT version_num FROM alembic_version"))).scalar()
    except Exception:
        return False  # no table yet, or unreadable: the full status says which
    return current == head_revision()


def alembic_config(url: str) -> Config:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", "storage:migrations")
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


@dataclass(frozen=True, slots=True)
class SchemaStatus:
    current: str | None
    head: str
    known: bool  # the database's revision exists in this code

    @property
    def up_to_date(self) -> bool:
        return self.current == self.head


class SchemaError(RuntimeError):
    """The database schema does not match the code; the message says which command fixes it."""


async def status(database: Database) -> SchemaStatus:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    script = ScriptDirectory.from_config(alembic_config(database.url))
    head = script.get_current_head()
    assert head is not None

    def read(conn: Connection) -> str | None:
        return MigrationContext.configure(conn).get_current_revision()

    async with database.engine.connect() as conn:
        current = await conn.run_sync(read)
    known = current is None or _known(script, current)
    return SchemaStatus(current=current, head=head, known=known)


def _known(script: ScriptDirectory, revision: str) -> bool:
    try:
        return script.get_revision(revision) is not None
    except Exception:
        return False


async def upgrade(database: Database, revision: str = "head") -> None:
    from alembic import command

    cfg = alembic_config(database.url)

    def run(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


async def ensure_current(database: Database, *, auto_upgrade: bool) -> None:
    """Migrate the embedded database automatically; refuse to run on any other stale one."""
    if await is_at_head(database):
        return
    found = await status(database)
    if found.up_to_date:
        return
    if not found.known:
        raise SchemaError(
            f"The database is at revision {found.current}, which this version of rongcuo does not know "
            f"(newest known: {found.head}). It was migrated by a newer release: upgrade rongcuo, "
            "or restore a backup made for this version."
        )
    if auto_upgrade:
        await upgrade(database)
        log.info("database.migrated", before=found.current, after=found.head)
        return
    where = "empty (no tables)" if found.current is None else f"at revision {found.current}"
    raise SchemaError(
        f"The database is {where}; this code needs revision {found.head}. Run: rongcuo db upgrade"
    )
