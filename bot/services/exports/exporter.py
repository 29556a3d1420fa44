"""One pass over the data, sheet by sheet, into any number of sinks, reporting each finished sheet.

Database pages are read on the event loop (async drivers); writing them (openpyxl, csv, zip) is
CPU work done in a worker thread, so a big export does not freeze every other conversation.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any

from bot.services.exports import summary
from bot.services.exports.sheets import TABLES, Render, TableSheet, sheet_title
from bot.services.exports.writers import Sink
from storage.database import Database


@dataclass(frozen=True, slots=True)
class Scope:
    # None: every county (administrators); otherwise only these (an officer's own).
    jurisdictions: frozenset[str] | None
    full: bool = False

    def codes(self) -> Collection[str] | None:
        return sorted(self.jurisdictions) if self.jurisdictions is not None else None


@dataclass(frozen=True, slots=True)
class SheetOut:
    key: str
    title: str
    headers: Sequence[str]
    kinds: Sequence[str]
    widths: Sequence[int]


@dataclass(frozen=True, slots=True)
class SheetDone:
    key: str
    title: str
    rows: int


# Told after each sheet: the sheets done so far and how many there are in all.
SheetProgress = Callable[[list[SheetDone], int], Awaitable[None]]

SHEET_COUNT = 1 + len(TABLES)


def _fan_out(sinks: Sequence[Sink], method: str, arg: Any) -> None:
    for sink in sinks:
        getattr(sink, method)(arg)


async def _table(
    database: Database, sheet: TableSheet, scope: Scope, render: Render, sinks: Sequence[Sink]
) -> SheetDone:
    columns = sheet.visible(scope.full)
    out = SheetOut(
        key=sheet.key,
        title=sheet.title(render.texts),
        headers=[render.texts(c.header_key) for c in columns],
        kinds=[c.kind for c in columns],
        widths=[c.width for c in columns],
    )
    await asyncio.to_thread(_fan_out, sinks, "begin", out)
    count = 0
    async for rows in sheet.batches(database, scope.codes(), render, scope.full):
        await asyncio.to_thread(_fan_out, sinks, "rows", rows)
        count += len(rows)
    return SheetDone(sheet.key, out.title, count)


async def _summary(database: Database, scope: Scope, render: Render, sinks: Sequence[Sink]) -> SheetDone:
    rows = await summary.rows(database, scope.codes(), render)
    out = SheetOut(
        key=summary.KEY,
        title=sheet_title(render.texts, summary.KEY),
        headers=[render.texts("export.col.summary")],
        kinds=summary.KINDS,
        widths=summary.WIDTHS,
    )
    await asyncio.to_thread(_fan_out, sinks, "begin", out)
    await asyncio.to_thread(_fan_out, sinks, "rows", rows)
    return SheetDone(summary.KEY, out.title, len(rows))


async def export(
    database: Database,
    scope: Scope,
    render: Render,
    sinks: Sequence[Sink],
    progress: SheetProgress | None = None,
) -> list[SheetDone]:
    """Write every sheet into every sink and close them; the summary (equal to /stats) comes first."""
    done: list[SheetDone] = []
    try:
        done.append(await _summary(database, scope, render, sinks))
        if progress:
            await progress(done, SHEET_COUNT)
        for sheet in TABLES:
            done.append(await _table(database, sheet, scope, render, sinks))
            if progress:
                await progress(done, SHEET_COUNT)
    finally:
        # Closing writes the workbook (or the last CSV); on failure it at least releases the files.
        await asyncio.to_thread(lambda: [sink.close() for sink in sinks])
    return done
