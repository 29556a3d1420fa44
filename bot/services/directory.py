"""The organisation directory: loaded from YAML, kept in the database, served from memory.

The database is the directory in use. The YAML file (RONGCUO_ORG_DIRECTORY or the shipped one)
is synced into it at start until an administrator imports a directory; from then on imports are
the only source, so a restart (or another process starting) never undoes an import.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import yaml

from dialogs.directory import DirectoryError, OrgDirectory, OrgUnit, parse_directory
from storage.database import Database
from storage.uow import UnitOfWork


def read_directory_file(path: Path | None) -> OrgDirectory:
    """Parse the operator's YAML (or the shipped one); errors name the file and the entry."""
    if path is None:
        source = resources.files("dialogs") / "data" / "org_directory.yaml"
        label = "dialogs/data/org_directory.yaml"
        text = source.read_text(encoding="utf-8")
    else:
        label = str(path)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise DirectoryError(f"{label}: cannot read ({exc.strerror})") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise DirectoryError(f"{label}: not valid YAML: {exc}") from None
    try:
        return parse_directory(data)
    except DirectoryError as exc:
        raise DirectoryError(f"{label}: {exc}") from None


async def sync_directory(database: Database, directory: OrgDirectory) -> tuple[int, int, int]:
    async with UnitOfWork(database) as uow:
        counts = await uow.org_units.sync(directory)
        await uow.commit()
    return counts


# Audit entries of directory imports: their subject type, and the action that ends the file sync.
DIRECTORY, IMPORTED = "directory", "directory.imported"


async def startup_sync(database: Database, directory: OrgDirectory) -> tuple[int, int, int] | None:
    """Sync the file into the database, unless a directory was imported (then None)."""
    async with UnitOfWork(database) as uow:
        if await uow.audit.latest(DIRECTORY, IMPORTED) is not None:
            return None
        counts = await uow.org_units.sync(directory)
        await uow.commit()
    return counts


class LiveDirectory:
    """The directory this process serves from memory; replaced when an import changes it."""

    def __init__(self, directory: OrgDirectory) -> None:
        self.current = directory

    def __call__(self) -> OrgDirectory:
        return self.current

    async def reload(self, database: Database) -> None:
        """Pick up an import made by another process."""
        self.current = await load_directory(database)


async def load_directory(database: Database) -> OrgDirectory:
    async with UnitOfWork(database) as uow:
        rows = await uow.org_units.active()
    return OrgDirectory(OrgUnit(r.code, r.name, r.level, r.parent_code, r.short_name) for r in rows)
