"""The summary sheet: exactly the text of /stats for the export's counties over all time, one line
a row, then the filings per month as numbers (what a spreadsheet chart needs)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from bot.services.exports.sheets import INT, TEXT, Render
from bot.services.stats.compute import compute_stats
from bot.services.stats.model import OUTCOMES
from bot.services.stats.render import render_stats
from storage.database import Database
from storage.repositories.stats import StatsQuery
from storage.uow import UnitOfWork

KEY = "summary"
KINDS = (TEXT, INT, *(INT for _ in OUTCOMES))
WIDTHS = (16, 12, *(12 for _ in OUTCOMES))


async def rows(database: Database, jurisdictions: Collection[str] | None, render: Render) -> list[list[Any]]:
    query = StatsQuery(
        None,
        None,
        tuple(jurisdictions) if jurisdictions is not None else None,
        now=render.now,
        tz=render.tz,
    )
    async with UnitOfWork(database) as uow:
        stats = await compute_stats(
            uow,
            query,
            categories=[c.id for c in render.policy.categories],
            situations=[s.id for s in render.policy.situations],
        )
    texts = render.texts
    text = render_stats(texts, stats, policy=render.policy, directory=render.directory)
    table: list[list[Any]] = [[line] for line in text.splitlines()]
    table.append([])
    table.append(
        [
            texts("chart.month"),
            texts("export.col.received"),
            *(texts(f"chart.outcome.{outcome}") for outcome in OUTCOMES),
        ]
    )
    for month in stats.by_month:
        counts = month.counts
        table.append([month.key, counts.received, *(getattr(counts, o) for o in OUTCOMES)])
    return table
