"""Short periodic ticks. The truth about what is due lives in database rows, so a tick that runs
twice (two processes, a restart) finds nothing left to do the second time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.metrics import Metrics

log = structlog.get_logger(__name__)

Tick = Callable[[], Awaitable[object]]


def build_scheduler(ticks: list[tuple[str, Tick, float]], metrics: Metrics | None = None) -> AsyncIOScheduler:
    scheduler = AsyncIOScheduler(timezone="UTC")
    for name, tick, seconds in ticks:

        async def run(tick: Tick = tick, name: str = name) -> None:
            try:
                await tick()
            except Exception:  # a failing tick must not stop the next one
                log.exception("scheduler.tick_failed", tick=name)
                if metrics is not None:
                    metrics.error(f"tick:{name}")
                return
            # Only a completed run counts: a tick failing every time is as stale as one not running.
            if metrics is not None:
                metrics.ticked(name)

        # One run at a time per tick; a late run is merged into the next rather than piling up.
        # The first run is at start: whatever fell due while the program was down goes out now.
        scheduler.add_job(
            run,
            "interval",
            seconds=seconds,
            id=name,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
        )
        if metrics is not None:
            metrics.tick_intervals[name] = seconds
    return scheduler
