"""What happens when the dispatcher cannot deliver: people marked unreachable, officers and admins told once."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.delivery_events import DeliveryEvents
from storage.models import OutboxMessage, UserIdentity
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def rows(runtime: Runtime) -> list[OutboxMessage]:
    async with UnitOfWork(runtime.database) as uow:
        return list((await uow.session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars())


async def identity(runtime: Runtime, external_id: str) -> UserIdentity:
    async with UnitOfWork(runtime.database) as uow:
        return (
            (await uow.session.execute(select(UserIdentity).where(UserIdentity.external_id == external_id)))
            .scalars()
            .one()
        )


async def test_a_blocked_cadre_is_marked_and_the_officers_are_told_once(
    runtime: Runtime, clock: ManualClock
) -> None:
    await runtime.admin.grant(2001, "officer", "530127", by="test")
    cadre, officer = Talker(runtime, clock, "1001"), Talker(runtime, clock, "2001")
    await cadre.register(name="张三")
    await officer.register(name="王纪")
    events = DeliveryEvents(runtime.database, runtime.directory, clock)
    cadre_id = (await identity(runtime, "1001")).user_id
    await events.unreachable(cadre_id, "1001")
    await events.unreachable(cadre_id, "1001")
    assert not (await identity(runtime, "1001")).reachable
    told = [r for r in await rows(runtime) if r.chat_id == "2001"]
    assert (
        len(told) == 1 and "张三（昆明市 / 嵩明县 / 杨桥街道办事处）已屏蔽本助手" in told[0].payload["text"]
    )
    # Writing to the bot again means they unblocked it.
    await cadre.text("/help")
    assert (await identity(runtime, "1001")).reachable


async def test_a_dead_message_alerts_the_admins_but_an_alert_never_alerts(
    runtime: Runtime, clock: ManualClock
) -> None:
    await runtime.admin.grant(3001, "admin", None, by="test")
    admin = Talker(runtime, clock, "3001")
    await admin.register(name="孙管")
    events = DeliveryEvents(runtime.database, runtime.directory, clock)
    dead = OutboxMessage(
        id=77,
        channel="telegram",
        chat_id="999",
        payload={"text": "x"},
        created_at=clock.now(),
        next_attempt_at=clock.now(),
        last_error="Bad Request: chat not found",
        dedupe_key="filing:1:new",
    )
    await events.dead(dead)
    await events.dead(dead)
    (alert,) = await rows(runtime)
    assert (
        alert.chat_id == "3001"
        and "编号 77" in alert.payload["text"]
        and "chat not found" in alert.payload["text"]
    )
    await events.dead(alert)
    assert len(await rows(runtime)) == 1
