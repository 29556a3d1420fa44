from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ToleranceReview


class ToleranceReviewRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, review_id: int) -> ToleranceReview | None:
        return await self.session.get(ToleranceReview, review_id)

    async def add(self, review: ToleranceReview) -> ToleranceReview:
        self.session.add(review)
        await self.session.flush()
        return review

    async def of_filing(self, filing_id: int) -> Sequence[ToleranceReview]:
        result = await self.session.execute(
            select(ToleranceReview).where(ToleranceReview.filing_id == filing_id).order_by(ToleranceReview.id)
        )
        return result.scalars().all()

    async def next_decision_seq(self, jurisdiction_code: str, year: int) -> int:
        result = await self.session.execute(
            select(func.max(ToleranceReview.decision_seq)).where(
                ToleranceReview.jurisdiction_code == jurisdiction_code, ToleranceReview.year == year
            )
        )
        return int(result.scalar_one() or 0) + 1
