"""A Telegram update delivered twice is applied once (the crash drill's finding, issue 10).

Telegram delivers an update again when the bot did not confirm it: a process killed after
applying a batch but before its next getUpdates. The conversation service remembers applied
update ids in the transaction that applied them; a second delivery changes nothing and gets no
answer (the person saw the answer to the first one).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services import conversation
from bot.services.conversation import Handled, Incoming
from dialogs.events import Press, parse_text
from dialogs.replies import RegisterUser
from storage.database import Database
from storage.models import Filing, ProcessedUpdate
from storage.uow import UnitOfWork
from tests.db.talker import Talker


def said(handled: Handled) -> str:
    return "\n".join(r.text for r in handled.replies)


async def deliver(talker: Talker, update_id: int, text: str) -> Handled:
    """What Telegram would deliver as update `update_id`; the talker's buttons are then its reply's."""
    handled = await talker.runtime.conversations.handle(
        Incoming("telegram", talker.external_id, parse_text(talker.clock.now(), text), update_id=update_id)
    )
    if handled.replies:
        talker.last = handled.replies
    return handled


async def count(runtime: Runtime, model: type) -> int:
    async with UnitOfWork(runtime.database) as uow:
        return int((await uow.session.execute(select(func.count()).select_from(model))).scalar_one())


async def test_a_redelivered_command_changes_nothing_and_says_nothing(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    assert "这是个人报备还是单位报备" in said(await deliver(talker, 100, "/new"))
    await talker.press("个人报备")

    again = await deliver(talker, 100, "/new")
    # Applied again, /new would have opened a second, empty draft and dropped the answer given.
    assert again.duplicate and again.replies == []
    assert await count(runtime, Filing) == 1
    assert "请选择报备事项的类别" in await talker.text("杨桥片区批而未供土地盘活项目")

    # The same text under a new update id is a new message: the person really asked again.
    assert "之前的草稿“杨桥片区批而未供土地盘活项目”已保存" in said(await deliver(talker, 101, "/new"))
    assert await count(runtime, Filing) == 2


async def test_a_redelivered_press_does_not_untick_a_box(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    await talker.text("/new")
    await talker.press("个人报备")
    await talker.text("杨桥片区批而未供土地盘活项目")
    await talker.press("K1 推进项目建设")
    tick = Press(clock.now(), talker.action("☐ S1 执行上级决策部署出现偏差"))
    first = await runtime.conversations.handle(Incoming("telegram", "1001", tick, update_id=7))
    talker.last = first.replies
    assert "✅ 选好了（已选 3 项）" in talker.labels()

    again = await runtime.conversations.handle(Incoming("telegram", "1001", tick, update_id=7))
    assert again.duplicate and again.replies == []
    # Still three ticked: the press was not applied a second time.
    assert "请说明事项背景" in await talker.press("✅ 选好了（已选 3 项）")


async def test_an_update_whose_handling_failed_is_applied_when_it_comes_again(
    runtime: Runtime, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    talker = Talker(runtime, clock)
    for step in ("/start", "张三"):
        await talker.text(step)
    for label in ("昆明市", "嵩明县", "杨桥街道办事处"):
        await talker.press(label)

    async def broken(call: object, effect: object) -> list[object]:
        raise RuntimeError("the database went away")

    monkeypatch.setitem(runtime.conversations._effects, RegisterUser, broken)
    assert "处理您的消息时出错了" in said(await deliver(talker, 42, "副主任"))
    monkeypatch.undo()
    # The failed event rolled back, its update id with it: the redelivery is applied.
    assert "注册完成" in said(await deliver(talker, 42, "副主任"))
    assert await count(runtime, ProcessedUpdate) == 1


async def test_updates_older_than_a_day_are_forgotten(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    await talker.register()
    await deliver(talker, 1, "/me")
    clock.advance(timedelta(hours=20))
    await deliver(talker, 2, "/me")
    clock.advance(timedelta(hours=6))
    # Pruning runs on every PRUNE_EVERY-th update id, in the transaction that handles it.
    await deliver(talker, conversation.PRUNE_EVERY * 3, "/me")
    async with UnitOfWork(runtime.database) as uow:
        kept = (await uow.session.execute(select(ProcessedUpdate.update_id))).scalars().all()
    assert sorted(kept) == [2, conversation.PRUNE_EVERY * 3]


async def test_the_same_id_on_another_channel_is_another_update(runtime: Runtime, clock: ManualClock) -> None:
    now = clock.now()
    async with UnitOfWork(runtime.database) as uow:
        assert await uow.processed_updates.claim("telegram", 5, now)
        assert await uow.processed_updates.claim("other", 5, now)
        await uow.commit()
    async with UnitOfWork(runtime.database) as uow:
        assert not await uow.processed_updates.claim("telegram", 5, now)


@pytest.fixture
async def two_processes(postgres_url: str) -> AsyncIterator[tuple[Database, Database]]:
    """Two engines on one PostgreSQL database, as two bot processes have."""
    first, second = Database(postgres_url), Database(postgres_url)
    yield first, second
    await first.dispose()
    await second.dispose()


async def claim_apart(database: Database, update_id: int, now: datetime) -> bool:
    """Claim an update in a transaction of its own, as another process handling it does."""
    async with UnitOfWork(database) as uow:
        claimed = await uow.processed_updates.claim("telegram", update_id, now)
        await uow.commit()
        return claimed


async def test_two_processes_claiming_one_update_at_once(
    two_processes: tuple[Database, Database], clock: ManualClock
) -> None:
    """A webhook retried while the first delivery is still being handled, on another process."""
    first, second = two_processes
    async with UnitOfWork(first) as holder:
        assert await holder.processed_updates.claim("telegram", 9, clock.now())
        racing = asyncio.create_task(claim_apart(second, 9, clock.now()))
        await asyncio.sleep(0.3)
        assert not racing.done()  # it waits for the first transaction to end
        await holder.commit()
    assert await racing is False  # then finds the first one's row: already applied
    assert not await claim_apart(second, 9, clock.now())


async def test_a_claim_rolled_back_leaves_the_update_to_the_other_process(
    two_processes: tuple[Database, Database], clock: ManualClock
) -> None:
    """The first delivery failed half-way: the retried one, waiting on it, applies the update."""
    first, second = two_processes
    async with UnitOfWork(first) as holder:
        assert await holder.processed_updates.claim("telegram", 11, clock.now())
        racing = asyncio.create_task(claim_apart(second, 11, clock.now()))
        await asyncio.sleep(0.3)
        assert not racing.done()
    # The holder's block ended without a commit: rolled back.
    assert await racing is True
    assert not await claim_apart(first, 11, clock.now())
