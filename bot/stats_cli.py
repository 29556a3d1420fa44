"""`rongcuo stats`: the /stats figures for other systems (`--json`: Stats.to_dict()) or as text."""

from __future__ import annotations

import argparse
import json
from datetime import date

from bot.clock import SystemClock
from bot.config import Settings
from bot.runtime import build_runtime
from bot.services.stats.compute import compute_stats
from bot.services.stats.render import render_stats
from dialogs.texts import Texts
from storage.repositories.stats import StatsQuery
from storage.uow import UnitOfWork


class StatsArgumentError(ValueError):
    pass


def add_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    stats = sub.add_parser("stats", help="statistics of filings, reviews, rectification and visits")
    stats.add_argument("--json", action="store_true", help="one JSON object (stable English keys)")
    stats.add_argument("--from", dest="first", metavar="YYYY-MM-DD", help="first day (local), inclusive")
    stats.add_argument("--to", dest="last", metavar="YYYY-MM-DD", help="last day (local), inclusive")
    stats.add_argument(
        "--jurisdiction",
        action="append",
        metavar="CODE",
        help="county/district code; repeat for several (default: all)",
    )


def _day(text: str | None, option: str) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise StatsArgumentError(f"{option}: not a date: {text!r} (use e.g. 2026-01-31)") from exc


async def run(settings: Settings, args: argparse.Namespace) -> int:
    first, last = _day(args.first, "--from"), _day(args.last, "--to")
    if first is not None and last is not None and first > last:
        raise StatsArgumentError(f"--from {first} is after --to {last}")
    runtime = await build_runtime(settings, SystemClock())
    try:
        jurisdictions = None
        if args.jurisdiction:
            for code in args.jurisdiction:
                unit = runtime.directory.get(code)
                if unit is None or unit.level != "county":
                    raise StatsArgumentError(f"--jurisdiction: {code} is not a county/district code")
            jurisdictions = tuple(dict.fromkeys(args.jurisdiction))
        policy = runtime.env.policy
        query = StatsQuery(first, last, jurisdictions, now=runtime.clock.now(), tz=settings.tz)
        async with UnitOfWork(runtime.database) as uow:
            figures = await compute_stats(
                uow,
                query,
                categories=[c.id for c in policy.categories],
                situations=[s.id for s in policy.situations],
            )
        if args.json:
            print(json.dumps(figures.to_dict(), ensure_ascii=False, indent=2))
        else:
            print(render_stats(Texts(), figures, policy=policy, directory=runtime.directory))
    finally:
        await runtime.database.dispose()
    return 0
