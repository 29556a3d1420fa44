"""Short periodic ticks. The truth about what is due lives in database rows, so a tick that runs
twice (two processes, a restart) finds nothing left to do the second time."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from apscheduler.schedulers.asyncio import AsyncIOScheduler

from bot.metrics import Metrics

log = structlog.get_logger(__name__)

Tick = Callable[[], Awaitable[object]]


class TickScheduler(AsyncIOScheduler):
    """An AsyncIOScheduler that can wait for the ticks it started.

    shutdown(wait=True) does not wait for coroutine jobs; a tick still running when the program
    closes its database would then fail, or hang the event loop's last cleanup.
    """

    def __init__(self) -> None:
        super().__init__(timezone="UTC")
        self.ticking: set[asyncio.Task[Any]] = set()

    async def stop(self, grace: float = 30) -> None:
        self.shutdown(wait=False)
        if self.ticking:
            await asyncio.wait(set(self.ticking), timeout=grace)


def build_scheduler(ticks: list[tuple[str, Tick, float]], metrics: Metrics | None = None) -> TickScheduler:
    scheduler = TickScheduler()
    for name, tick, seconds in ticks:

        async def run(tick: Tick = tick, name: str = name) -> None:
            task = asyncio.current_task()
            assert task is not None
            scheduler.ticking.add(task)
            try:
                await tick()
            except Exception:  # a failing tick must not stop the next one
                log.exception("scheduler.tick_failed", tick=name)
                if metrics is not None:
                    metrics.error(f"tick:{name}")
                return
            finally:
                scheduler.ticking.discard(task)
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
