"""Telegram updates: one person's strictly in order, different people's side by side."""

from __future__ import annotations

import asyncio
import random

from telegram import Update

from bot.channels.update_order import PerUserUpdateProcessor


def text_update(update_id: int, user_id: int) -> Update:
    user = {"id": user_id, "is_bot": False, "first_name": "三"}
    return Update.de_json(
        {
            "update_id": update_id,
            "message": {
                "message_id": update_id,
                "date": 0,
                "chat": {"id": user_id, "type": "private"},
                "from": user,
                "text": str(update_id),
            },
        },
        None,
    )


async def test_each_persons_updates_run_in_arrival_order_and_people_overlap() -> None:
    processor = PerUserUpdateProcessor(16)
    rng = random.Random(7)
    finished: list[tuple[int, int]] = []
    running: set[int] = set()
    overlapped = False

    async def handle(update_id: int, user_id: int) -> None:
        nonlocal overlapped
        running.add(user_id)
        overlapped = overlapped or len(running) > 1
        # Later updates are often quicker: without the per-person lock they would overtake.
        await asyncio.sleep(rng.uniform(0.0, 0.02))
        running.discard(user_id)
        finished.append((user_id, update_id))

    arrivals = [(n, rng.choice([1, 2, 3])) for n in range(1, 61)]
    tasks = [
        asyncio.create_task(processor.process_update(text_update(n, user), handle(n, user)))
        for n, user in arrivals
    ]
    await asyncio.gather(*tasks)

    for user in (1, 2, 3):
        sent = [n for n, u in arrivals if u == user]
        assert [n for u, n in finished if u == user] == sent
    assert overlapped, "different people's updates should be handled at the same time"


async def test_an_update_without_a_user_is_handled_without_waiting() -> None:
    processor = PerUserUpdateProcessor(4)
    done = asyncio.Event()

    async def handle() -> None:
        done.set()

    await processor.process_update(Update(update_id=1), handle())
    assert done.is_set()
