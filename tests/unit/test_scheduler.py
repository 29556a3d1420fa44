from __future__ import annotations

import asyncio

from bot.scheduler import build_scheduler


async def test_ticks_run_repeatedly_and_a_failing_tick_does_not_stop_the_others() -> None:
    runs = {"good": 0, "bad": 0}

    async def good() -> None:
        runs["good"] += 1

    async def bad() -> None:
        runs["bad"] += 1
        raise RuntimeError("boom")

    scheduler = build_scheduler([("good", good, 0.05), ("bad", bad, 0.05)])
    scheduler.start()
    await asyncio.sleep(0.4)
    scheduler.shutdown(wait=False)
    assert runs["good"] >= 3 and runs["bad"] >= 3
