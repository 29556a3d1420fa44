"""Reading everything an export needs, one batch at a time.

Keyset pagination (`id > last ORDER BY id LIMIT n`) instead of one big result or a server-side
cursor: each batch can run in a short transaction of its own, so a long export never holds
SQLite's write lock (every transaction there begins IMMEDIATE) nor a PostgreSQL snapshot open for
minutes, and memory stays bounded by the batch size whatever the table holds.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Filing, RectificationItem, ReturnVisit, ToleranceReview, User

DRAFT = "draft"


class ExportRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def filings(
        self, after_id: int, limit: int, jurisdictions: Collection[str] | None
    ) -> Sequence[tuple[Filing, str | None]]:
        """Submitted filings (drafts are private work in progress) with the filer's name."""
        stmt = (
            select(Filing, User.name)
            .join(User, User.id == Filing.user_id)
            .where(Filing.id > after_id, Filing.status != DRAFT)  # type: ignore[operator]
        )
        if jurisdictions is not None:
            stmt = stmt.where(Filing.jurisdiction_code.in_(jurisdictions))  # type: ignore[union-attr]
        return await self._page(stmt.order_by(Filing.id).limit(limit))  # type: ignore[arg-type]

    async def reviews(
        self, after_id: int, limit: int, jurisdictions: Collection[str] | None
    ) -> Sequence[tuple[ToleranceReview, str | None]]:
        """Tolerance reviews with their filing's number."""
        stmt = (
            select(ToleranceReview, Filing.number)
            .join(Filing, Filing.id == ToleranceReview.filing_id)
            .where(ToleranceReview.id > after_id)  # type: ignore[operator]
        )
        if jurisdictions is not None:
            stmt = stmt.where(ToleranceReview.jurisdiction_code.in_(jurisdictions))  # type: ignore[attr-defined]
        return await self._page(stmt.order_by(ToleranceReview.id).limit(limit))  # type: ignore[arg-type]

    async def rectifications(
        self, after_id: int, limit: int, jurisdictions: Collection[str] | None
    ) -> Sequence[tuple[RectificationItem, str | None]]:
        """Rectification items with their filing's number (an item's county is its filing's)."""
        stmt = (
            select(RectificationItem, Filing.number)
            .join(Filing, Filing.id == RectificationItem.filing_id)
            .where(RectificationItem.id > after_id)  # type: ignore[operator]
        )
        if jurisdictions is not None:
            stmt = stmt.where(Filing.jurisdiction_code.in_(jurisdictions))  # type: ignore[union-attr]
        return await self._page(stmt.order_by(RectificationItem.id).limit(limit))  # type: ignore[arg-type]

    async def visits(
        self, after_id: int, limit: int, jurisdictions: Collection[str] | None
    ) -> Sequence[tuple[ReturnVisit, str | None]]:
        """Return visits with their filing's number."""
        stmt = (
            select(ReturnVisit, Filing.number)
            .join(Filing, Filing.id == ReturnVisit.filing_id)
            .where(ReturnVisit.id > after_id)  # type: ignore[operator]
        )
        if jurisdictions is not None:
            stmt = stmt.where(ReturnVisit.jurisdiction_code.in_(jurisdictions))  # type: ignore[attr-defined]
        return await self._page(stmt.order_by(ReturnVisit.id).limit(limit))  # type: ignore[arg-type]

    async def _page(self, stmt: Select[Any]) -> Sequence[Any]:
        result = await self.session.execute(stmt)
        return [tuple(row) for row in result.all()]
