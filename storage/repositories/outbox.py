"""The outbox queue: rows are written with the change that caused them and leased out to dispatchers.

Per-chat order is the queue's main promise. Only the oldest pending row of a chat (its "head") is
ever claimable, so while the head is leased, waiting for a retry, or not yet due, the rest of that
chat waits too, whichever process looks. Different chats never wait for each other.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String, and_, case, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.types import UTCDateTime

PENDING = "pending"
SENT = "sent"
DEAD = "dead"
UNDELIVERABLE = "undeliverable"

_O = OutboxMessage


def _lease_free(now: datetime) -> ColumnElement[bool]:
    return or_(_O.lease_until.is_(None), _O.lease_until <= now)  # type: ignore[union-attr,operator]


class OutboxRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        channel: str,
        chat_id: int | str,
        payload: dict[str, Any],
        now: datetime,
        user_id: int | None = None,
        dedupe_key: str | None = None,
        not_before: datetime | None = None,
    ) -> int | None:
        """Queue a message in the caller's transaction; returns its id, or None for a duplicate.

        A repeated ``dedupe_key`` means the message was queued already (a retried transaction, a
        tick run twice). ON CONFLICT DO NOTHING skips it without an error, which matters on
        PostgreSQL: a unique violation would abort the caller's whole transaction.
        """
        insert = postgresql.insert if self._dialect() == "postgresql" else sqlite.insert
        statement = (
            insert(_O)
            .values(
                created_at=now,
                user_id=user_id,
                channel=channel,
                chat_id=str(chat_id),
                payload=payload,
                status=PENDING,
                attempts=0,
                next_attempt_at=not_before or now,
                dedupe_key=dedupe_key,
            )
            .on_conflict_do_nothing(index_elements=["dedupe_key"])
            .returning(_O.id)
        )
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(_O, message_id, populate_existing=True)

    async def claim_due(
        self,
        *,
        owner: str,
        now: datetime,
        lease: timedelta,
        limit: int,
        channel: str | None = None,
    ) -> list[OutboxMessage]:
        """Lease at most one due row per chat (that chat's oldest pending one) to ``owner``.

        Two statements. The first finds candidates: the chats' heads, by a window function over
        the pending rows of one table (no join, so no plan can make it quadratic; a semi-join
        against a grouped sub-select could, and did: PostgreSQL estimated one row for the
        sub-select of a table never analysed yet and chose a nested loop, 7 s per claim at
        8,000 pending rows). The second leases the due, lease-free candidates, looked up by
        primary key. On PostgreSQL it takes ``FOR UPDATE SKIP LOCKED``, so concurrent claimers
        pass over each other's rows instead of queueing (twice ``limit`` candidates leave room
        for that), and the outer WHERE is re-checked on the latest row version, so a lease
        taken meanwhile is respected. A head stays the head while it is pending (rows are only
        added behind it), so the candidates need no second look. SQLite renders no FOR UPDATE;
        there every transaction holds the database's single write lock from its BEGIN
        (IMMEDIATE), so both statements see every committed lease: call this in a fresh session
        and commit right after.
        """
        if limit <= 0:
            return []
        pending = [_O.status == PENDING]
        if channel is not None:
            pending.append(_O.channel == channel)
        place = func.row_number().over(partition_by=(_O.channel, _O.chat_id), order_by=_O.id)
        heads = select(_O.id, _O.next_attempt_at, _O.lease_until, place.label("place")).where(*pending)
        head = heads.subquery("heads")
        candidates = list(
            await self.session.scalars(
                select(head.c.id)
                .where(
                    head.c.place == 1,
                    head.c.next_attempt_at <= now,
                    or_(head.c.lease_until.is_(None), head.c.lease_until <= now),
                )
                .order_by(head.c.next_attempt_at, head.c.id)
                .limit(2 * limit)
            )
        )
        if not candidates:
            return []
        due_heads = (
            select(_O.id)
            .where(
                _O.id.in_(candidates),  # type: ignore[union-attr]
                _O.status == PENDING,
                _O.next_attempt_at <= now,  # type: ignore[operator]
                _lease_free(now),
            )
            .order_by(_O.next_attempt_at, _O.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
            # A CTE, not a plain IN (sub-select): PostgreSQL may re-run a sub-select per outer row,
            # and each run skips the rows this very UPDATE has just changed and takes others, so
            # more than ``limit`` rows could be leased. A CTE with FOR UPDATE is evaluated once.
            .cte("due_heads")
        )
        statement = (
            update(_O)
            .where(
                _O.id.in_(candidates),  # type: ignore[union-attr]
                _O.id.in_(select(due_heads.c.id)),  # type: ignore[union-attr]
                _O.status == PENDING,
                _lease_free(now),
            )
            .values(lease_owner=owner, lease_until=now + lease)
            .returning(_O.id)
            .execution_options(synchronize_session=False)
        )
        ids = list((await self.session.execute(statement)).scalars())
        if not ids:
            return []
        rows = await self.session.scalars(
            select(_O)
            .where(_O.id.in_(ids))  # type: ignore[union-attr]
            .order_by(_O.next_attempt_at, _O.id)
            .execution_options(populate_existing=True)
        )
        return list(rows)

    async def mark_sent(
        self,
        message_id: int,
        owner: str,
        now: datetime,
        external_message_id: int | str | None,
        *,
        chat_interval: timedelta | None = None,
    ) -> bool:
        """Record a delivery. False when ``owner`` no longer holds the lease (nothing changes).

        ``chat_interval`` makes the chat's next message due no earlier than ``now +
        chat_interval``: another process may pick it up, and its rate limiter has not seen
        this send, so the per-chat spacing has to live in the rows.
        """
        applied = await self.mark_sent_many(
            [(message_id, now, external_message_id)], owner, chat_interval=chat_interval
        )
        return message_id in applied

    async def mark_sent_many(
        self,
        sent: Sequence[tuple[int, datetime, int | str | None]],
        owner: str,
        *,
        chat_interval: timedelta | None = None,
    ) -> set[int]:
        """Record several deliveries at once; returns the ids ``owner`` still held.

        ``sent`` holds (row id, when Telegram accepted it, Telegram's message id). Rows whose
        lease was lost are left as they are. With ``chat_interval``, each chat's next message
        is due no earlier than the batch's latest send plus the interval: for a chat sent to
        earlier in the batch that is a little later than needed, never sooner.
        """
        if not sent:
            return set()
        ids = [row_id for row_id, _, _ in sent]
        sent_at = case({row_id: literal(at, UTCDateTime()) for row_id, at, _ in sent}, value=_O.id)
        external = case(
            {row_id: literal(None if ext is None else str(ext), String()) for row_id, _, ext in sent},
            value=_O.id,
        )
        statement = (
            update(_O)
            .where(_O.id.in_(ids), _O.lease_owner == owner, _O.status == PENDING)  # type: ignore[union-attr]
            .values(
                status=SENT,
                sent_at=sent_at,
                external_message_id=external,
                attempts=_O.attempts + 1,
                last_error=None,
                lease_owner=None,
                lease_until=None,
            )
            .returning(_O.id, _O.channel, _O.chat_id)
            .execution_options(synchronize_session=False)
        )
        finished = (await self.session.execute(statement)).all()
        if chat_interval is not None and finished:
            chats: dict[str, set[str]] = defaultdict(set)
            for _, channel, chat_id in finished:
                chats[str(channel)].add(str(chat_id))
            not_before = max(at for _, at, _ in sent) + chat_interval
            # Two statements, not UPDATE ... WHERE id IN (grouped sub-select): see claim_due.
            next_heads = list(
                await self.session.scalars(
                    select(func.min(_O.id))
                    .where(
                        _O.status == PENDING,
                        or_(
                            *(
                                and_(_O.channel == channel, _O.chat_id.in_(sorted(chat_ids)))  # type: ignore[attr-defined]
                                for channel, chat_ids in chats.items()
                            )
                        ),
                    )
                    .group_by(_O.channel, _O.chat_id)
                )
            )
            if next_heads:
                await self.session.execute(
                    update(_O)
                    .where(_O.id.in_(next_heads), _O.next_attempt_at < not_before)  # type: ignore[union-attr,operator]
                    .values(next_attempt_at=not_before)
                    .execution_options(synchronize_session=False)
                )
        return {int(row_id) for row_id, _, _ in finished}

    async def mark_retry(
        self,
        message_id: int,
        owner: str,
        next_attempt_at: datetime,
        error: str | None,
        count_attempt: bool,
    ) -> bool:
        """Put the row back in the queue, due at ``next_attempt_at``; the chat waits behind it.

        ``count_attempt=False`` is for waits that are not failures (flood control, pacing).
        """
        values: dict[str, Any] = {"next_attempt_at": next_attempt_at, "last_error": error}
        if count_attempt:
            values["attempts"] = _O.attempts + 1
        return await self._finish(message_id, owner, **values) is not None

    async def mark_dead(self, message_id: int, owner: str, error: str) -> bool:
        """Give up on this row (permanent error or too many attempts); the chat's next row goes on."""
        finished = await self._finish(
            message_id, owner, status=DEAD, last_error=error, attempts=_O.attempts + 1
        )
        return finished is not None

    async def mark_undeliverable(
        self, message_id: int, owner: str, error: str, *, rest_of_chat: bool = False
    ) -> int:
        """The recipient cannot be reached (blocked the bot); returns how many rows were marked.

        0 means ``owner`` lost the lease. With ``rest_of_chat`` the chat's other pending rows,
        queued before anyone knew, are marked too (those not leased), so the service hears
        about the recipient once instead of once per queued message.
        """
        row = await self._finish(
            message_id, owner, status=UNDELIVERABLE, last_error=error, attempts=_O.attempts + 1
        )
        if row is None:
            return 0
        if not rest_of_chat:
            return 1
        channel, chat_id = row
        result = await self.session.execute(
            update(_O)
            .where(
                _O.channel == channel,
                _O.chat_id == chat_id,
                _O.status == PENDING,
                _O.lease_owner.is_(None),  # type: ignore[union-attr]
            )
            .values(status=UNDELIVERABLE, last_error=error)
            .execution_options(synchronize_session=False)
        )
        return 1 + int(result.rowcount)  # type: ignore[attr-defined]

    async def depth(self, now: datetime, *, channel: str | None = None) -> tuple[int, datetime | None]:
        """Backlog for metrics: pending rows already due, and the oldest one's creation time.

        Rows scheduled for later (backoff, flood waits, future reminders) are not lag yet.
        """
        conditions = [_O.status == PENDING, _O.next_attempt_at <= now]  # type: ignore[operator]
        if channel is not None:
            conditions.append(_O.channel == channel)
        count, oldest = (
            await self.session.execute(select(func.count(), func.min(_O.created_at)).where(*conditions))
        ).one()
        return int(count), oldest

    async def longest_due(self, now: datetime, *, channel: str) -> datetime | None:
        """Since when the longest-waiting due row of a channel has been due: a stuck dispatcher shows here.

        Unlike ``depth``'s creation time, a row that spent an hour in backoff is not counted as late.
        """
        conditions = [_O.status == PENDING, _O.next_attempt_at <= now, _O.channel == channel]  # type: ignore[operator]
        return (
            await self.session.execute(select(func.min(_O.next_attempt_at)).where(*conditions))
        ).scalar_one()

    async def _finish(self, message_id: int, owner: str, **values: Any) -> tuple[str, str] | None:
        """Apply an outcome while ``owner`` holds the lease; releases it; (channel, chat) or None.

        A lease that has expired but that nobody took over still counts as held: recording a
        send that did happen is better than letting the message go out again.
        """
        statement = (
            update(_O)
            .where(and_(_O.id == message_id, _O.lease_owner == owner, _O.status == PENDING))
            .values(lease_owner=None, lease_until=None, **values)
            .returning(_O.channel, _O.chat_id)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).first()
        return None if row is None else (str(row[0]), str(row[1]))

    def _dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def take_for_chat(
        self, channel: str, chat_id: str, now: datetime, limit: int = 20
    ) -> list[OutboxMessage]:
        """Pending messages of a pull channel (the web chat): returned in order and marked sent."""
        rows = list(
            (
                await self.session.execute(
                    select(OutboxMessage)
                    .where(
                        OutboxMessage.channel == channel,
                        OutboxMessage.chat_id == chat_id,
                        OutboxMessage.status == "pending",
                    )
                    .order_by(OutboxMessage.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            ).scalars()
        )
        for row in rows:
            row.status, row.sent_at = "sent", now
            self.session.add(row)
        await self.session.flush()
        return rows
