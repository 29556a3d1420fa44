from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ReturnVisit

PLANNED, DONE = "planned", "done"


class ReturnVisitRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def add(self, visit: ReturnVisit) -> ReturnVisit:
        self.session.add(visit)
        await self.session.flush()
        return visit

    async def get(self, visit_id: int) -> ReturnVisit | None:
        return await self.session.get(ReturnVisit, visit_id, populate_existing=True)

    async def of_review(self, review_id: int) -> Sequence[ReturnVisit]:
        result = await self.session.execute(
            select(ReturnVisit).where(ReturnVisit.review_id == review_id).order_by(ReturnVisit.seq)
        )
        return result.scalars().all()

    async def of_filing(self, filing_id: int) -> Sequence[ReturnVisit]:
        result = await self.session.execute(
            select(ReturnVisit).where(ReturnVisit.filing_id == filing_id).order_by(ReturnVisit.due_date)
        )
        return result.scalars().all()

    async def planned_for(
        self, jurisdictions: Sequence[str], officer_id: int | None = None
    ) -> Sequence[ReturnVisit]:
        query = select(ReturnVisit).where(
            ReturnVisit.status == PLANNED,
            ReturnVisit.jurisdiction_code.in_(list(jurisdictions)),  # type: ignore[attr-defined]
        )
        if officer_id is not None:
            query = query.where(ReturnVisit.officer_user_id == officer_id)
        result = await self.session.execute(query.order_by(ReturnVisit.due_date, ReturnVisit.id))
        return result.scalars().all()

    async def record(
        self,
        visit: ReturnVisit,
        *,
        visited_on: date,
        form: str,
        notes: str,
        next_step: str | None,
        stage: str,
        officer_id: int,
        now: datetime,
    ) -> None:
        visit.status, visit.visited_on, visit.form = DONE, visited_on, form
        visit.notes, visit.next_step, visit.stage = notes, next_step, stage
        visit.recorded_by, visit.recorded_at = officer_id, now
        self.session.add(visit)
        await self.session.flush()
