"""Prometheus metrics and the health checks behind /healthz, one set per runtime.

Each runtime has its own registry (never prometheus-client's global one), so several runtimes in
one test process do not share counters. Backlog gauges are read from the database at scrape time:
the rows are the truth, and every process of a deployment reports the same numbers.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from storage.database import Database
from storage.uow import UnitOfWork

# Channels whose outbox rows are reported; web rows wait for the person's next exchange.
OUTBOX_CHANNELS = ("telegram", "web")
# A tick is late when it has not completed for this many of its intervals.
TICK_TOLERANCE = 3
# Telegram rows due this long and still unsent mean the dispatcher is not getting through.
OUTBOX_STUCK_AFTER = timedelta(minutes=10)
# The reminder tick is the one /healthz watches: it is what users would miss.
WATCHED_TICK = "reminders"


@dataclass
class Check:
    ok: bool
    detail: dict[str, Any] = field(default_factory=dict)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.updates = Counter(
            "rongcuo_updates",
            "Incoming updates handled, by channel.",
            ["channel"],
            registry=self.registry,
        )
        self.update_seconds = Histogram(
            "rongcuo_update_seconds",
            "Time to handle one incoming update, by channel.",
            ["channel"],
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
            registry=self.registry,
        )
        self.errors = Counter(
            "rongcuo_errors",
            "Unexpected errors, by where they happened.",
            ["where"],
            registry=self.registry,
        )
        self.outbox_pending = Gauge(
            "rongcuo_outbox_pending",
            "Outbox rows due and not yet delivered, by channel.",
            ["channel"],
            registry=self.registry,
        )
        self.outbox_oldest = Gauge(
            "rongcuo_outbox_oldest_pending_seconds",
            "Age of the oldest due, undelivered outbox row, by channel (0 when none).",
            ["channel"],
            registry=self.registry,
        )
        self.reminders_due = Gauge(
            "rongcuo_reminders_due",
            "Pending reminders whose time has come.",
            registry=self.registry,
        )
        self.last_tick = Gauge(
            "rongcuo_scheduler_last_tick_timestamp",
            "Unix time of the last completed run of each scheduler tick.",
            ["tick"],
            registry=self.registry,
        )
        self.started = time.time()
        # Filled in by the runtime when it starts the scheduler and the dispatcher; a bare web
        # app (tests, the CLI) has neither, and /healthz does not expect them.
        self.tick_intervals: dict[str, float] = {}
        self.dispatching = False
        self._tick_times: dict[str, float] = {}

    # --- recording -------------------------------------------------------------------------------

    def handled(self, channel: str, seconds: float) -> None:
        self.updates.labels(channel).inc()
        self.update_seconds.labels(channel).observe(seconds)

    def error(self, where: str) -> None:
        self.errors.labels(where).inc()

    def ticked(self, name: str, at: float | None = None) -> None:
        at = time.time() if at is None else at
        self._tick_times[name] = at
        self.last_tick.labels(name).set(at)

    # --- reading ---------------------------------------------------------------------------------

    async def scrape(self, database: Database, now: datetime) -> bytes:
        """The text exposition, with the database gauges read now."""
        async with UnitOfWork(database) as uow:
            for channel in OUTBOX_CHANNELS:
                count, oldest = await uow.outbox.depth(now, channel=channel)
                self.outbox_pending.labels(channel).set(count)
                age = (now - oldest).total_seconds() if oldest is not None else 0.0
                self.outbox_oldest.labels(channel).set(max(age, 0.0))
            self.reminders_due.set(await uow.reminders.count_due(now))
        return generate_latest(self.registry)

    async def health(self, database: Database, now: datetime) -> dict[str, Check]:
        checks = {"database": Check(await database.ping())}
        checks["scheduler"] = self._scheduler_check()
        if checks["database"].ok:
            checks["outbox"] = await self._outbox_check(database, now)
        else:
            checks["outbox"] = Check(False, {"reason": "database unreachable"})
        return checks

    def _scheduler_check(self) -> Check:
        interval = self.tick_intervals.get(WATCHED_TICK)
        if interval is None:
            return Check(True, {"running": False})
        limit = TICK_TOLERANCE * interval
        last = self._tick_times.get(WATCHED_TICK)
        # Before the first tick completes, the process's start time stands in for it.
        since = time.time() - (last if last is not None else self.started)
        detail: dict[str, Any] = {"tick": WATCHED_TICK, "seconds_since_tick": round(since, 1)}
        if last is None:
            detail["seconds_since_tick"] = None
            detail["seconds_since_start"] = round(since, 1)
        detail["limit_seconds"] = limit
        return Check(since <= limit, detail)

    async def _outbox_check(self, database: Database, now: datetime) -> Check:
        if not self.dispatching:
            return Check(True, {"dispatching": False})
        async with UnitOfWork(database) as uow:
            due_since = await uow.outbox.longest_due(now, channel="telegram")
        waited = (now - due_since).total_seconds() if due_since is not None else 0.0
        return Check(
            waited <= OUTBOX_STUCK_AFTER.total_seconds(),
            {
                "oldest_due_seconds": round(max(waited, 0.0), 1),
                "limit_seconds": OUTBOX_STUCK_AFTER.total_seconds(),
            },
        )
