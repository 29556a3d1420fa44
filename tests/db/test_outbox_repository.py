"""The outbox queue on both engines: per-chat heads, leases, concurrent claimers, dedupe."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from storage.database import Database
from storage.models import OutboxMessage
from storage.repositories.outbox import DEAD, PENDING, SENT, UNDELIVERABLE, OutboxRepository

T0 = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)
LEASE = timedelta(seconds=60)


@pytest.fixture
async def database(database_url: str) -> AsyncIterator[Database]:
    db = Database(database_url)
    yield db
    await db.dispose()


async def queue(
    database: Database,
    chat_id: str,
    text: str,
    *,
    at: datetime = T0,
    channel: str = "telegram",
    dedupe_key: str | None = None,
    not_before: datetime | None = None,
) -> int | None:
    async with database.sessions() as session:
        new_id = await OutboxRepository(session).add(
            channel=channel,
            chat_id=chat_id,
            payload={"text": text},
            now=at,
            dedupe_key=dedupe_key,
            not_before=not_before,
        )
        await session.commit()
    return new_id


async def claim(
    database: Database,
    owner: str,
    *,
    now: datetime = T0,
    limit: int = 100,
    channel: str | None = "telegram",
    lease: timedelta = LEASE,
) -> list[OutboxMessage]:
    async with database.sessions() as session:
        rows = await OutboxRepository(session).claim_due(
            owner=owner, now=now, lease=lease, limit=limit, channel=channel
        )
        await session.commit()
    return rows


async def sent(database: Database, row: OutboxMessage, owner: str, now: datetime = T0) -> bool:
    assert row.id is not None
    async with database.sessions() as session:
        applied = await OutboxRepository(session).mark_sent(row.id, owner, now, 7)
        await session.commit()
    return applied


async def all_rows(database: Database) -> list[OutboxMessage]:
    async with database.sessions() as session:
        return list(await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def texts(rows: list[OutboxMessage]) -> list[str]:
    return [row.payload["text"] for row in rows]


async def test_claim_takes_the_oldest_pending_row_of_each_chat(database: Database) -> None:
    for text in ("a1", "a2", "a3"):
        await queue(database, "100", text)
    for text in ("b1", "b2"):
        await queue(database, "200", text)
    await queue(database, "-300", "g1")

    first = await claim(database, "p1")
    assert sorted(texts(first)) == ["a1", "b1", "g1"]
    assert all(r.lease_owner == "p1" and r.lease_until == T0 + LEASE for r in first)
    # While a chat's head is leased, nothing else of that chat is claimable, even by its owner.
    assert await claim(database, "p1") == []

    by_text = {r.payload["text"]: r for r in first}
    assert await sent(database, by_text["a1"], "p1")
    assert texts(await claim(database, "p1")) == ["a2"]


async def test_a_head_waiting_for_its_retry_holds_back_its_chat_only(database: Database) -> None:
    await queue(database, "100", "a1", not_before=T0 + timedelta(seconds=30))
    await queue(database, "100", "a2")
    await queue(database, "200", "b1")
    assert texts(await claim(database, "p1")) == ["b1"]
    # b1's lease still runs; a1 has come due.
    assert texts(await claim(database, "p2", now=T0 + timedelta(seconds=30))) == ["a1"]


async def test_claim_respects_limit_and_due_order(database: Database) -> None:
    await queue(database, "100", "late", not_before=T0 + timedelta(seconds=3))
    await queue(database, "200", "early", not_before=T0 + timedelta(seconds=1))
    await queue(database, "300", "middle", not_before=T0 + timedelta(seconds=2))
    later = T0 + timedelta(seconds=10)
    assert texts(await claim(database, "p1", now=later, limit=2)) == ["early", "middle"]
    assert texts(await claim(database, "p1", now=later, limit=0)) == []
    assert texts(await claim(database, "p1", now=later, limit=2)) == ["late"]


async def test_other_channels_are_left_alone(database: Database) -> None:
    await queue(database, "100", "web", channel="web")
    await queue(database, "100", "tg")
    assert texts(await claim(database, "p1")) == ["tg"]
    [web] = [r for r in await all_rows(database) if r.channel == "web"]
    assert web.lease_owner is None


async def test_a_lease_excludes_other_owners_and_their_marks(database: Database) -> None:
    await queue(database, "100", "a1")
    [row] = await claim(database, "p1")
    assert await claim(database, "p2", now=T0 + timedelta(seconds=59)) == []
    assert row.id is not None
    async with database.sessions() as session:
        repo = OutboxRepository(session)
        assert not await repo.mark_sent(row.id, "p2", T0, 1)
        assert not await repo.mark_retry(row.id, "p2", T0, "x", count_attempt=True)
        assert not await repo.mark_dead(row.id, "p2", "x")
        assert await repo.mark_undeliverable(row.id, "p2", "x") == 0
        await session.commit()
    [stored] = await all_rows(database)
    assert (stored.status, stored.lease_owner, stored.attempts) == (PENDING, "p1", 0)


async def test_an_expired_lease_is_claimable_and_the_old_owner_loses_it(database: Database) -> None:
    await queue(database, "100", "a1")
    [first] = await claim(database, "p1")
    [second] = await claim(database, "p2", now=T0 + LEASE)
    assert second.id == first.id and second.lease_owner == "p2"
    assert not await sent(database, first, "p1")
    assert await sent(database, second, "p2", now=T0 + LEASE)
    [stored] = await all_rows(database)
    assert (stored.status, stored.external_message_id, stored.lease_owner) == (SENT, "7", None)
    assert stored.sent_at == T0 + LEASE and stored.attempts == 1


async def test_an_expired_lease_nobody_took_still_lets_its_owner_record_the_send(
    database: Database,
) -> None:
    await queue(database, "100", "a1")
    [row] = await claim(database, "p1")
    assert await sent(database, row, "p1", now=T0 + 2 * LEASE)


async def test_concurrent_claimers_never_share_a_row_or_a_chat(database: Database) -> None:
    chats = [str(1000 + n) for n in range(12)]
    for round_ in range(3):
        for chat in chats:
            await queue(database, chat, f"{chat}-{round_}")
    # Two engines: two connection pools, as two processes would have.
    other = Database(database.url)
    try:
        delivered: dict[str, list[str]] = {chat: [] for chat in chats}
        for _ in range(10):
            mine, theirs = await asyncio.gather(claim(database, "p1", limit=5), claim(other, "p2", limit=5))
            ids = [r.id for r in mine + theirs]
            assert len(ids) == len(set(ids)), "a row was claimed twice"
            claimed_chats = [r.chat_id for r in mine + theirs]
            assert len(claimed_chats) == len(set(claimed_chats)), "a chat was claimed twice"
            if not ids:
                break
            for owner, db, rows in (("p1", database, mine), ("p2", other, theirs)):
                for row in rows:
                    assert await sent(db, row, owner)
                    delivered[row.chat_id].append(row.payload["text"])
        assert delivered == {chat: [f"{chat}-{n}" for n in range(3)] for chat in chats}
    finally:
        await other.dispose()


async def test_a_claim_still_in_progress_is_passed_over_not_doubled(database: Database) -> None:
    for chat in ("100", "200", "300"):
        for n in (1, 2):
            await queue(database, chat, f"{chat}-{n}")
    other = Database(database.url)
    try:
        async with database.sessions() as session:
            first = await OutboxRepository(session).claim_due(owner="p1", now=T0, lease=LEASE, limit=2)
            assert texts(first) == ["100-1", "200-1"]
            # p1 has not committed yet: PostgreSQL skips its locked rows, SQLite makes p2 wait
            # for the write lock. Either way p2 must not touch chats 100 and 200.
            second = asyncio.create_task(claim(other, "p2"))
            await asyncio.sleep(0.2)
            await session.commit()
        assert texts(await second) == ["300-1"]
    finally:
        await other.dispose()


async def test_a_duplicate_dedupe_key_is_ignored_without_breaking_the_transaction(
    database: Database,
) -> None:
    assert await queue(database, "100", "first", dedupe_key="reminder:42:2026-11-23") is not None
    async with database.sessions() as session:
        repo = OutboxRepository(session)
        again = await repo.add(
            channel="telegram",
            chat_id="100",
            payload={"text": "again"},
            now=T0,
            dedupe_key="reminder:42:2026-11-23",
        )
        assert again is None
        # The caller's transaction carries on (PostgreSQL would refuse after a unique violation).
        assert await repo.add(channel="telegram", chat_id=100, payload={"text": "other"}, now=T0)
        await session.commit()
    assert texts(await all_rows(database)) == ["first", "other"]


async def test_retry_dead_and_undeliverable_outcomes(database: Database) -> None:
    for text in ("a1", "a2", "a3"):
        await queue(database, "100", text)
    await queue(database, "200", "b1")
    await queue(database, "300", "c1")
    rows = {r.payload["text"]: r for r in await claim(database, "p1")}
    async with database.sessions() as session:
        repo = OutboxRepository(session)
        later = T0 + timedelta(seconds=30)
        assert await repo.mark_retry(_id(rows["b1"]), "p1", later, "429", count_attempt=False)
        assert await repo.mark_dead(_id(rows["c1"]), "p1", "Bad Request: chat not found")
        assert await repo.mark_undeliverable(_id(rows["a1"]), "p1", "blocked", rest_of_chat=True) == 3
        await session.commit()
    stored = {r.payload["text"]: r for r in await all_rows(database)}
    assert [stored[t].status for t in ("a1", "a2", "a3")] == [UNDELIVERABLE] * 3
    assert (stored["b1"].status, stored["b1"].attempts, stored["b1"].next_attempt_at) == (PENDING, 0, later)
    assert stored["b1"].lease_owner is None and stored["b1"].last_error == "429"
    assert (stored["c1"].status, stored["c1"].attempts) == (DEAD, 1)

    [b1] = await claim(database, "p2", now=later)
    async with database.sessions() as session:
        assert await OutboxRepository(session).mark_retry(_id(b1), "p2", later, "502", count_attempt=True)
        await session.commit()
    [b1] = await claim(database, "p2", now=later)
    assert b1.attempts == 1


async def test_mark_sent_spaces_the_chats_next_message(database: Database) -> None:
    await queue(database, "100", "a1")
    await queue(database, "100", "a2")
    [a1] = await claim(database, "p1")
    async with database.sessions() as session:
        repo = OutboxRepository(session)
        assert await repo.mark_sent(_id(a1), "p1", T0, 11, chat_interval=timedelta(seconds=1))
        await session.commit()
    assert await claim(database, "p2", now=T0 + timedelta(milliseconds=999)) == []
    assert texts(await claim(database, "p2", now=T0 + timedelta(seconds=1))) == ["a2"]


async def test_depth_counts_due_pending_rows(database: Database) -> None:
    async with database.sessions() as session:
        assert await OutboxRepository(session).depth(T0) == (0, None)
    await queue(database, "100", "a1", at=T0 - timedelta(minutes=3))
    await queue(database, "200", "b1", at=T0 - timedelta(minutes=1))
    await queue(database, "300", "later", not_before=T0 + timedelta(hours=1))
    [done] = [r for r in await claim(database, "p1") if r.chat_id == "200"]
    assert await sent(database, done, "p1")
    async with database.sessions() as session:
        assert await OutboxRepository(session).depth(T0) == (1, T0 - timedelta(minutes=3))


def _id(row: OutboxMessage) -> int:
    assert row.id is not None
    return row.id


async def test_mark_sent_many_records_each_send_and_skips_lost_leases(database: Database) -> None:
    await queue(database, "300", "c1", at=T0 - timedelta(seconds=1))
    await queue(database, "100", "a1")
    await queue(database, "100", "a2")
    await queue(database, "200", "b1")
    by_text = {r.payload["text"]: r for r in await claim(database, "p1")}
    a1, b1, c1 = (_id(by_text[t]) for t in ("a1", "b1", "c1"))
    # c1's lease ran out and p2 took it over: p1's mark of it must change nothing.
    [taken] = await claim(database, "p2", now=T0 + LEASE, limit=1)
    assert taken.id == c1
    at_a, at_b = T0 + timedelta(milliseconds=10), T0 + timedelta(milliseconds=40)
    async with database.sessions() as session:
        applied = await OutboxRepository(session).mark_sent_many(
            [(a1, at_a, 11), (b1, at_b, "22"), (c1, at_b, 33)], "p1", chat_interval=timedelta(seconds=1)
        )
        await session.commit()
    assert applied == {a1, b1}
    rows = {r.payload["text"]: r for r in await all_rows(database)}
    assert (rows["a1"].status, rows["a1"].sent_at, rows["a1"].external_message_id) == (SENT, at_a, "11")
    assert (rows["b1"].status, rows["b1"].sent_at, rows["b1"].external_message_id) == (SENT, at_b, "22")
    assert all(rows[t].lease_owner is None and rows[t].attempts == 1 for t in ("a1", "b1"))
    assert (rows["c1"].status, rows["c1"].lease_owner, rows["c1"].sent_at) == (PENDING, "p2", None)
    # The chat's next message waits a full interval after the batch's latest send, never less.
    assert rows["a2"].next_attempt_at == at_b + timedelta(seconds=1)
    assert await claim(database, "p3", now=at_a + timedelta(seconds=1)) == []
    assert texts(await claim(database, "p3", now=at_b + timedelta(seconds=1))) == ["a2"]
    async with database.sessions() as session:
        assert await OutboxRepository(session).mark_sent_many([], "p1") == set()
