from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Filing, FilingMessage

DRAFT = "draft"
_filing = Filing.__table__  # type: ignore[attr-defined]
_DRAFT_COLUMNS = ("answers", "step", "title", "category", "filer_kind", "updated_at")
# Built once: every answer of a pre-filing runs it.
_SAVE_DRAFT = (
    update(_filing)
    .where(
        _filing.c.draft_key == bindparam("key"),
        _filing.c.status == DRAFT,
        _filing.c.user_id == bindparam("user"),
    )
    .values({c: bindparam(f"new_{c}", type_=_filing.c[c].type) for c in _DRAFT_COLUMNS})
)


class FilingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, filing_id: int) -> Filing | None:
        return await self.session.get(Filing, filing_id)

    async def by_number(self, number: str) -> Filing | None:
        result = await self.session.execute(select(Filing).where(Filing.number == number))
        return result.scalar_one_or_none()

    async def by_draft_key(self, draft_key: str) -> Filing | None:
        result = await self.session.execute(select(Filing).where(Filing.draft_key == draft_key))
        return result.scalar_one_or_none()

    async def save_draft(
        self, *, user_id: int, draft_key: str, answers: dict[str, Any], step: str, now: datetime
    ) -> bool:
        """Update the draft, or create it; False when the key belongs to a filing that is no longer
        a draft of this user.

        Every answer of a pre-filing lands here, so the usual case (the draft exists) is one
        UPDATE on the table; the ORM's load-then-flush took three times as long.
        """
        values = {
            "answers": answers,
            "step": step,
            "title": answers.get("title"),
            "category": answers.get("category"),
            "filer_kind": answers.get("kind"),
            "updated_at": now,
        }
        # A Core statement does not flush the session first as an ORM query would: an effect may
        # have changed this filing through the ORM earlier in the transaction.
        if self.session.new or self.session.dirty:
            await self.session.flush()
        updated = await self.session.execute(
            _SAVE_DRAFT, {"key": draft_key, "user": user_id, **{f"new_{k}": v for k, v in values.items()}}
        )
        if updated.rowcount:  # type: ignore[attr-defined]
            return True
        if await self.by_draft_key(draft_key) is not None:
            return False
        self.session.add(Filing(user_id=user_id, draft_key=draft_key, status=DRAFT, created_at=now, **values))
        await self.session.flush()
        return True

    async def drafts_of(self, user_id: int) -> Sequence[Filing]:
        result = await self.session.execute(
            select(Filing)
            .where(Filing.user_id == user_id, Filing.status == DRAFT)
            .order_by(Filing.updated_at.desc())  # type: ignore[attr-defined]
        )
        return result.scalars().all()

    async def submitted_of(self, user_id: int, limit: int = 50) -> Sequence[Filing]:
        result = await self.session.execute(
            select(Filing)
            .where(Filing.user_id == user_id, Filing.status != DRAFT)
            .order_by(Filing.submitted_at.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
        return result.scalars().all()

    async def _take_numbering(self, sequence: str, jurisdiction_code: str, year: int) -> None:
        """Make submissions of one county and year take their numbers one after the other.

        Without it two racing submissions both compute max + 1 and the unique constraint fails
        the later one, which retries; when many submit at once (the two-process drill: 200 people
        in a few counties) the retries run out and people are told the system is busy. On
        PostgreSQL a transaction-scoped advisory lock queues them instead (released at commit or
        rollback). SQLite transactions already hold the database's write lock from BEGIN.
        """
        bind = self.session.bind
        if bind is None or bind.dialect.name != "postgresql":
            return
        digest = hashlib.blake2b(f"{sequence}:{jurisdiction_code}:{year}".encode(), digest_size=8).digest()
        key = int.from_bytes(digest, "big", signed=True)
        await self.session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})

    async def next_seq(self, jurisdiction_code: str, year: int) -> int:
        """The next number in a jurisdiction's yearly sequence.

        Racing submissions queue on `_take_numbering`; should one still compute a taken number,
        the unique constraint on (jurisdiction, year, seq) fails its commit and the caller retries.
        """
        await self._take_numbering("filing", jurisdiction_code, year)
        result = await self.session.execute(
            select(func.max(Filing.seq)).where(
                Filing.jurisdiction_code == jurisdiction_code, Filing.year == year
            )
        )
        return int(result.scalar_one() or 0) + 1

    async def next_decision_seq(self, jurisdiction_code: str, year: int) -> int:
        """The next acceptance-decision number of a jurisdiction and year (queued as above)."""
        await self._take_numbering("decision", jurisdiction_code, year)
        result = await self.session.execute(
            select(func.max(Filing.decision_seq)).where(
                Filing.jurisdiction_code == jurisdiction_code, Filing.year == year
            )
        )
        return int(result.scalar_one() or 0) + 1

    async def open_in(
        self, jurisdictions: Sequence[str], statuses: Sequence[str], limit: int = 50
    ) -> Sequence[Filing]:
        """An officer's open work: the earliest initial-review deadline first (overdue ones lead)."""
        if not jurisdictions:
            return []
        result = await self.session.execute(
            select(Filing)
            .where(Filing.jurisdiction_code.in_(jurisdictions), Filing.status.in_(statuses))  # type: ignore[union-attr,attr-defined]
            .order_by(Filing.review_due_at, Filing.id)  # type: ignore[arg-type]
            .limit(limit)
        )
        return result.scalars().all()

    async def stale_drafts(self, changed_after: datetime, changed_before: datetime) -> Sequence[Filing]:
        """Drafts last changed inside the window: candidates for a nudge to finish them."""
        result = await self.session.execute(
            select(Filing)
            .where(
                Filing.status == "draft",
                Filing.updated_at > changed_after,  # type: ignore[operator]
                Filing.updated_at <= changed_before,  # type: ignore[operator]
            )
            .order_by(Filing.updated_at)
        )
        return result.scalars().all()

    async def delete_draft(self, filing_id: int) -> bool:
        result = await self.session.execute(
            delete(Filing).where(Filing.id == filing_id, Filing.status == DRAFT)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]


class FilingMessageRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(
        self,
        *,
        filing_id: int,
        kind: str,
        author_user_id: int,
        text: str,
        now: datetime,
        attachments: list | None = None,
    ) -> FilingMessage:
        message = FilingMessage(
            filing_id=filing_id,
            kind=kind,
            author_user_id=author_user_id,
            text=text,
            attachments=attachments or [],
            created_at=now,
        )
        self.session.add(message)
        await self.session.flush()
        return message

    async def of_kinds(self, filing_id: int, kinds: Sequence[str], limit: int) -> list[FilingMessage]:
        """The newest messages of these kinds, oldest first."""
        result = await self.session.execute(
            select(FilingMessage)
            .where(FilingMessage.filing_id == filing_id, FilingMessage.kind.in_(kinds))  # type: ignore[attr-defined]
            .order_by(FilingMessage.id.desc())  # type: ignore[union-attr]
            .limit(limit)
        )
        return list(reversed(result.scalars().all()))

    async def latest(self, filing_id: int, kind: str) -> FilingMessage | None:
        result = await self.session.execute(
            select(FilingMessage)
            .where(FilingMessage.filing_id == filing_id, FilingMessage.kind == kind)
            .order_by(FilingMessage.id.desc())  # type: ignore[union-attr]
            .limit(1)
        )
        return result.scalar_one_or_none()
