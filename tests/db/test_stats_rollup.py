"""The statistics rollup gives exactly what counting the filings gives, while filings change over
time; it is refreshed incrementally (by /stats itself and by the tick) and filled by migration 0009."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select, update

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.stats.compute import compute_stats
from bot.services.stats.rollup import refresh_rollup
from storage import migrate
from storage.database import Database
from storage.models import Filing, FilingRollup, RollupState
from storage.repositories.stats import StatsQuery
from storage.uow import UnitOfWork
from tests.db import stats_data
from tests.db.stats_data import ANNING, SONGMING, local
from tests.db.talker import Talker
from tests.db.test_stats_migration import NOW, insert

PERIODS = (
    (None, None),
    (date(2026, 1, 1), date(2026, 12, 31)),
    (date(2026, 1, 1), date(2026, 3, 31)),
    (date(2025, 12, 1), date(2026, 2, 28)),
    (date(2026, 5, 1), date(2026, 5, 31)),
    (date(2026, 11, 1), date(2026, 11, 30)),
)
SCOPES: tuple[tuple[str, ...] | None, ...] = (None, (SONGMING,), (ANNING,), (SONGMING, ANNING), ())


async def _figures(runtime: Runtime, query: StatsQuery, *, use_rollup: bool) -> dict[str, Any]:
    async with UnitOfWork(runtime.database) as uow:
        figures = await compute_stats(uow, query, categories=["K1", "K6", "K9"], use_rollup=use_rollup)
        await uow.commit()
    return figures.to_dict()


async def _assert_rollup_is_live(runtime: Runtime, clock: ManualClock) -> None:
    for first, last in PERIODS:
        for scope in SCOPES:
            query = StatsQuery(first, last, scope, now=clock.now())
            from_rollup = await _figures(runtime, query, use_rollup=True)
            assert from_rollup == await _figures(runtime, query, use_rollup=False), (first, last, scope)


async def _songming_2026(runtime: Runtime, clock: ManualClock) -> dict[str, Any]:
    query = StatsQuery(date(2026, 1, 1), date(2026, 12, 31), (SONGMING,), now=clock.now())
    return await _figures(runtime, query, use_rollup=True)


async def _one(runtime: Runtime, status: str, submitted: str) -> int:
    async with UnitOfWork(runtime.database) as uow:
        query = select(Filing.id).where(Filing.status == status, Filing.submitted_at == local(submitted))
        return int((await uow.session.execute(query.limit(1))).scalar_one())


async def _set(runtime: Runtime, filing_id: int, **values: Any) -> None:
    async with UnitOfWork(runtime.database) as uow:
        await uow.session.execute(update(Filing).where(Filing.id == filing_id).values(**values))
        await uow.commit()


async def _watermark(runtime: Runtime) -> Any:
    async with UnitOfWork(runtime.database) as uow:
        return (await uow.session.execute(select(RollupState.watermark))).scalar_one()


@pytest.fixture
async def people(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    await runtime.admin.grant(2001, "officer", SONGMING, by="test")
    people = {"cadre": Talker(runtime, clock, "1001"), "officer": Talker(runtime, clock, "2001")}
    for talker, name in ((people["cadre"], "张三"), (people["officer"], "王纪")):
        await talker.register(name=name)
    ids = {}
    async with UnitOfWork(runtime.database) as uow:
        for key in ("1001", "2001"):
            found = await uow.users.by_identity("telegram", key)
            assert found is not None
            ids[key] = found[0].id
    await stats_data.seed(runtime, ids["1001"], ids["2001"])
    return people


async def test_the_rollup_counts_what_the_filings_say_while_they_change(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    await _assert_rollup_is_live(runtime, clock)
    # The hand-computed figures of stats_data, now from the rollup (built on first use).
    figures = await _songming_2026(runtime, clock)
    assert (figures["filings"]["accepted"], figures["filings"]["pending"]) == (34, 1)
    assert figures["review_time"]["median_work_hours"] == 6.0
    async with UnitOfWork(runtime.database) as uow:
        assert (await uow.session.execute(select(func.sum(FilingRollup.filings)))).scalar_one() == 51 + 6
    anning_may = await _figures(
        runtime, StatsQuery(date(2026, 5, 1), date(2026, 5, 31), (ANNING,), now=clock.now()), use_rollup=True
    )
    # 1.0, 2.0, 3.0, 4.0 hours: the median lies between two buckets, (2.0 + 3.0) / 2.
    assert anning_may["review_time"]["median_work_hours"] == 2.5

    # An hour later the officer accepts the filing pending since 11-18 (through the bot).
    clock.advance(timedelta(hours=1))
    pending = await _one(runtime, "submitted", "2026-11-18 10:00")
    await people["officer"].text(f"/accept {pending}")
    await people["officer"].press("🟢 绿色：低风险，备案即可")
    await people["officer"].press("跳过")
    assert "受理" in await people["officer"].press("✅ 确认受理")
    figures = await _songming_2026(runtime, clock)
    assert (figures["filings"]["accepted"], figures["filings"]["pending"]) == (35, 0)
    assert figures["review_time"]["decided"] == 50
    assert figures["review_time"]["waiting_past_deadline"] == 0
    await _assert_rollup_is_live(runtime, clock)

    # The next day the cadre files a new one (2026-11: 2 received).
    clock.advance(timedelta(days=1))
    await people["cadre"].fill_prefiling()
    assert "报备" in await people["cadre"].press("✅ 确认无误，提交报备")
    figures = await _songming_2026(runtime, clock)
    assert figures["filings"]["received"] == 52
    assert [m["received"] for m in figures["by_month"] if m["month"] == "2026-11"] == [2]
    await _assert_rollup_is_live(runtime, clock)

    # A returned filing answered: returned -> pending again, as the service writes it.
    clock.advance(timedelta(hours=3))
    returned = await _one(runtime, "returned", "2026-03-05 10:00")
    await _set(runtime, returned, status="submitted", updated_at=clock.now())
    figures = await _songming_2026(runtime, clock)
    # (Pending: this one and the cadre's new filing.)
    assert (figures["filings"]["returned"], figures["filings"]["pending"]) == (0, 2)
    await _assert_rollup_is_live(runtime, clock)

    # A change that committed late: stamped 30 s before the last refresh read past it.
    clock.advance(timedelta(minutes=10))
    await refresh_rollup(runtime.database, clock)
    withdrawn = await _one(runtime, "withdrawn", "2026-03-05 10:00")
    await _set(
        runtime,
        withdrawn,
        status="not_accepted",
        updated_at=await _watermark(runtime) - timedelta(seconds=30),
    )
    figures = await _songming_2026(runtime, clock)
    assert (figures["filings"]["withdrawn"], figures["filings"]["not_accepted"]) == (0, 15)
    await _assert_rollup_is_live(runtime, clock)


async def test_the_tick_refreshes_only_the_slices_that_changed(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    first = await refresh_rollup(runtime.database, clock)
    assert first.rebuilt  # never built: the migration found no filings
    clock.advance(timedelta(minutes=5))
    assert (await refresh_rollup(runtime.database, clock)).slices == 0
    # Two filings of 嵩明 2026-01 and one of 安宁 2026-05 change: two slices.
    for submitted in ("2026-01-15 10:00", "2026-01-01 00:30"):
        await _set(
            runtime, await _one(runtime, "accepted", submitted), status="closed", updated_at=clock.now()
        )
    await _set(
        runtime, await _one(runtime, "accepted", "2026-05-10 10:00"), status="closed", updated_at=clock.now()
    )
    done = await refresh_rollup(runtime.database, clock)
    assert (done.rebuilt, done.slices) == (False, 2)
    assert await _watermark(runtime) == clock.now()
    # The next tick looks at them once more (stamped within the margin before the watermark),
    # the one after that not any more.
    clock.advance(timedelta(minutes=5))
    assert (await refresh_rollup(runtime.database, clock)).slices == 2
    clock.advance(timedelta(minutes=5))
    assert (await refresh_rollup(runtime.database, clock)).slices == 0
    # Closed after acceptance: still accepted; the rollup (now read as is) agrees with the filings.
    await _assert_rollup_is_live(runtime, clock)
    # A rebuild gives the same rollup.
    async with UnitOfWork(runtime.database) as uow:
        before = (
            await uow.session.execute(select(FilingRollup).order_by(*FilingRollup.__table__.primary_key))
        ).all()
    assert (await refresh_rollup(runtime.database, clock, rebuild=True)).rebuilt
    async with UnitOfWork(runtime.database) as uow:
        after = (
            await uow.session.execute(select(FilingRollup).order_by(*FilingRollup.__table__.primary_key))
        ).all()
    assert [r[0].model_dump() for r in before] == [r[0].model_dump() for r in after] != []


async def test_periods_not_on_month_boundaries_are_counted_live(
    runtime: Runtime, people: dict[str, Talker], clock: ManualClock
) -> None:
    # 01-01 .. 01-15: group A (15, submitted 01-15 10:00) and J (01-01 00:30) and G, H (01-15).
    query = StatsQuery(date(2026, 1, 1), date(2026, 1, 15), (SONGMING,), now=clock.now())
    figures = await _figures(runtime, query, use_rollup=True)
    assert figures["filings"]["received"] == 15 + 1 + 2 + 6
    async with UnitOfWork(runtime.database) as uow:
        # Not built: nothing asked for a whole-month period yet.
        assert (await uow.session.execute(select(func.count()).select_from(FilingRollup))).scalar_one() == 0


async def test_the_migration_fills_the_rollup_for_stored_filings(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        await migrate.upgrade(database, "0008")
        async with database.engine.begin() as conn:
            unit = {"sort_order": 0, "active": True}
            await insert(
                conn,
                "org_unit",
                {"code": "5301", "name": "昆明市", "level": "city", "parent_code": None, **unit},
                {"code": "530127", "name": "嵩明县", "level": "county", "parent_code": "5301", **unit},
                {"code": "530127002", "name": "杨桥街道", "level": "unit", "parent_code": "530127", **unit},
            )
            await insert(conn, "app_user", {"id": 1, "locale": "zh_CN", "created_at": NOW, "updated_at": NOW})
            base = {"user_id": 1, "unit_code": "530127002", "jurisdiction_code": "530127", "created_at": NOW}
            base |= {"answers": {}, "category": "K1", "situation_mask": 8}
            rows = [
                # 10-05: accepted after 2.25 h, not late; not accepted after 9.5 h, late.
                {
                    "id": 1,
                    "status": "accepted",
                    "decision_seq": 1,
                    "review_work_hours": 2.25,
                    "review_late": False,
                },
                {
                    "id": 2,
                    "status": "not_accepted",
                    "decision_seq": None,
                    "review_work_hours": 9.5,
                    "review_late": True,
                },
            ]
            await insert(
                conn,
                "filing",
                *(
                    {**base, **row, "submitted_at": local("2026-10-05 10:00"), "submitted_month": 202610}
                    | {"updated_at": local("2026-10-06 10:00")}
                    for row in rows
                ),
                {**base, "id": 3, "status": "draft", "decision_seq": None, "review_work_hours": None}
                | {"review_late": None, "submitted_at": None, "submitted_month": None}
                | {"updated_at": local("2026-11-01 10:00")},
            )
        await migrate.upgrade(database)
        async with database.engine.connect() as conn:
            assert (
                await conn.execute(
                    sa.text(
                        "SELECT category, situation_mask, status, filings, accepted FROM filing_rollup ORDER BY status"
                    )
                )
            ).all() == [("K1", 8, "accepted", 1, 1), ("K1", 8, "not_accepted", 1, 0)]
            assert (
                await conn.execute(
                    sa.text("SELECT bucket, decided, late FROM filing_review_rollup ORDER BY bucket")
                )
            ).all() == [(9, 1, 0), (38, 1, 1)]  # 2.25 h: (2.00, 2.25]; 9.5 h: (9.25, 9.50]
        async with UnitOfWork(database) as uow:
            # The watermark is the latest change stored (the draft's).
            assert (await uow.session.execute(select(RollupState.watermark))).scalar_one() == local(
                "2026-11-01 10:00"
            )
            query = StatsQuery(date(2026, 10, 1), date(2026, 10, 31), ("530127",), now=NOW)
            figures = (await compute_stats(uow, query)).to_dict()
        assert figures["filings"]["accepted"] == 1 and figures["filings"]["not_accepted"] == 1
        assert figures["review_time"]["median_work_hours"] == 5.88  # (2.25 + 9.5) / 2 = 5.875, to 2 places
        assert figures["review_time"]["late_decisions"] == 1
    finally:
        await database.dispose()
