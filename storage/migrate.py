"""Schema migrations with Alembic, driven from the program (no alembic.ini needed)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

from storage.database import Database

log = structlog.get_logger(__name__)


def alembic_config(url: str) -> Config:
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
    cfg = alembic_config(database.url)

    def run(conn: Connection) -> None:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, revision)

    async with database.engine.begin() as conn:
        await conn.run_sync(run)


async def ensure_current(database: Database, *, auto_upgrade: bool) -> None:
    """Migrate the embedded database automatically; refuse to run on any other stale one."""
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
