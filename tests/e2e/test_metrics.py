"""/metrics and /healthz through the real aiohttp app, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from datetime import timedelta

from aiohttp.test_utils import TestClient, TestServer
from prometheus_client.parser import text_string_to_metric_families

from bot.channels.web import create_web_app
from bot.runtime import Runtime
from storage.database import Database
from storage.uow import UnitOfWork
from tests.e2e.web_client import arm


async def scrape(client: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    samples = {}
    for family in text_string_to_metric_families(await response.text()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


async def add_outbox(runtime: Runtime, channel: str, chat_id: str, created_ago: timedelta) -> None:
    now = runtime.clock.now()
    async with UnitOfWork(runtime.database) as uow:
        await uow.outbox.add(channel=channel, chat_id=chat_id, payload={"text": "x"}, now=now - created_ago)
        await uow.commit()


async def test_counters_and_histogram_move_with_chat_exchanges(client: TestClient) -> None:
    await arm(client)  # the page's CSRF token, sent with every request as chat.js does
    for body in ({"open": True}, {"text": "张三"}, {"text": "/help"}):
        assert (await client.post("/api/chat", json=body)).status == 200
    # A malformed request is refused before the conversation: not an update handled.
    assert (await client.post("/api/chat", data=b"{oops")).status == 400

    samples = await scrape(client)
    web = (("channel", "web"),)
    assert samples[("rongcuo_updates_total", web)] == 3
    assert samples[("rongcuo_update_seconds_count", web)] == 3
    assert samples[("rongcuo_update_seconds_sum", web)] > 0
    # Handling three small steps on a local database takes well under ten seconds each.
    assert samples[("rongcuo_update_seconds_bucket", (("channel", "web"), ("le", "10.0")))] == 3
    assert ("rongcuo_updates_total", (("channel", "telegram"),)) not in samples


async def test_outbox_and_reminder_gauges_reflect_the_database(client: TestClient, runtime: Runtime) -> None:
    samples = await scrape(client)
    assert samples[("rongcuo_outbox_pending", (("channel", "telegram"),))] == 0
    assert samples[("rongcuo_outbox_oldest_pending_seconds", (("channel", "telegram"),))] == 0
    assert samples[("rongcuo_reminders_due", ())] == 0

    await add_outbox(runtime, "telegram", "1001", timedelta(seconds=90))
    await add_outbox(runtime, "telegram", "1002", timedelta(seconds=30))
    await add_outbox(runtime, "web", "abc", timedelta(seconds=5))
    now = runtime.clock.now()
    async with UnitOfWork(runtime.database) as uow:
        # Not yet due: waits in the queue but is no backlog.
        await uow.outbox.add(
            channel="telegram",
            chat_id="1003",
            payload={"text": "x"},
            now=now,
            not_before=now + timedelta(hours=1),
        )
        for key, due in (
            ("a", -timedelta(minutes=1)),
            ("b", -timedelta(seconds=1)),
            ("c", timedelta(days=1)),
        ):
            await uow.reminders.plan(
                kind="draft_nudge",
                due_at=now + due,
                target_user_id=None,
                subject_type="test",
                subject_id=key,
                now=now,
                dedupe_key=f"metrics-test-{key}",
            )
        await uow.commit()

    samples = await scrape(client)
    assert samples[("rongcuo_outbox_pending", (("channel", "telegram"),))] == 2
    assert samples[("rongcuo_outbox_oldest_pending_seconds", (("channel", "telegram"),))] == 90
    assert samples[("rongcuo_outbox_pending", (("channel", "web"),))] == 1
    assert samples[("rongcuo_outbox_oldest_pending_seconds", (("channel", "web"),))] == 5
    assert samples[("rongcuo_reminders_due", ())] == 2


async def test_healthz_is_ok_for_a_bare_web_app(client: TestClient) -> None:
    response = await client.get("/healthz")
    assert response.status == 200
    body = await response.json()
    assert body["status"] == "ok" and body["database"] is True
    assert set(body["checks"]) == {"database", "scheduler", "outbox"}
    assert all(check["ok"] for check in body["checks"].values())


async def test_healthz_fails_when_the_reminder_tick_is_stale(client: TestClient, runtime: Runtime) -> None:
    metrics = runtime.metrics
    metrics.tick_intervals["reminders"] = 30
    metrics.ticked("reminders", at=time.time() - 5)
    assert (await client.get("/healthz")).status == 200

    # 3 × 30 s is the limit; 100 s without a completed tick is past it.
    metrics.ticked("reminders", at=time.time() - 100)
    response = await client.get("/healthz")
    assert response.status == 503
    body = await response.json()
    assert body["status"] == "unavailable" and body["database"] is True
    scheduler = body["checks"]["scheduler"]
    assert scheduler["ok"] is False
    assert scheduler["detail"]["limit_seconds"] == 90
    assert 99 <= scheduler["detail"]["seconds_since_tick"] < 110
    assert body["checks"]["outbox"]["ok"] is True

    samples = await scrape(client)
    assert (
        0 < time.time() - samples[("rongcuo_scheduler_last_tick_timestamp", (("tick", "reminders"),))] < 110
    )


async def test_healthz_fails_when_the_outbox_is_stuck(client: TestClient, runtime: Runtime) -> None:
    runtime.metrics.dispatching = True
    await add_outbox(runtime, "telegram", "1001", timedelta(minutes=9))
    # A web row waits for its reader's next visit, however long that takes: never "stuck".
    await add_outbox(runtime, "web", "abc", timedelta(days=2))
    assert (await client.get("/healthz")).status == 200

    await add_outbox(runtime, "telegram", "1002", timedelta(minutes=11))
    response = await client.get("/healthz")
    assert response.status == 503
    outbox = (await response.json())["checks"]["outbox"]
    assert outbox == {"ok": False, "detail": {"oldest_due_seconds": 660.0, "limit_seconds": 600.0}}


async def test_healthz_ignores_telegram_rows_when_this_process_does_not_dispatch(
    client: TestClient, runtime: Runtime
) -> None:
    await add_outbox(runtime, "telegram", "1001", timedelta(hours=1))
    response = await client.get("/healthz")
    assert response.status == 200
    assert (await response.json())["checks"]["outbox"] == {"ok": True, "detail": {"dispatching": False}}


async def test_healthz_and_metrics_answer_503_when_the_database_is_unreachable(runtime: Runtime) -> None:
    # Nothing listens on port 9 (discard) of this machine: the connection is refused.
    gone = Database("postgresql+asyncpg://nobody@127.0.0.1:9/none")
    app = create_web_app(runtime.conversations, gone, runtime.clock, "s", runtime.settings.data_dir / "u")
    try:
        async with TestClient(TestServer(app)) as client:
            response = await client.get("/healthz")
            assert response.status == 503
            body = await response.json()
            assert body["status"] == "unavailable" and body["database"] is False
            assert body["checks"]["outbox"] == {"ok": False, "detail": {"reason": "database unreachable"}}
            assert (await client.get("/metrics")).status == 503
    finally:
        await gone.dispose()
