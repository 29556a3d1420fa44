"""The periodic refresh of the statistics rollup (storage/models/rollup.py).

compute_stats refreshes it too, inside its own transaction; this tick keeps the watermark close to
now so that what /stats has to refresh first stays a slice or two.
"""

from __future__ import annotations

import structlog

from bot.clock import Clock
from storage.database import Database
from storage.repositories.stats import RollupRefresh
from storage.uow import UnitOfWork

log = structlog.get_logger(__name__)

ROLLUP_SECONDS = 60


async def refresh_rollup(database: Database, clock: Clock, *, rebuild: bool = False) -> RollupRefresh:
    async with UnitOfWork(database) as uow:
        with uow.long_running():  # a rebuild is seconds of SQL on a large database
            done = await uow.stats.refresh_rollup(clock.now(), rebuild=rebuild)
        await uow.commit()
    if done.rebuilt or done.slices:
        log.info("stats.rollup_refreshed", rebuilt=done.rebuilt, slices=done.slices)
    return done
