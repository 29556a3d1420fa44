from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import PolicySnapshot, SelfCheckResult


class SelfCheckRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def remember_policy(self, *, policy_id: str, version: str, content: str, now: datetime) -> bool:
        """Keep the text of a pack version once, so old verdicts can be shown against it."""
        if await self.session.get(PolicySnapshot, version) is not None:
            return False
        self.session.add(
            PolicySnapshot(version=version, policy_id=policy_id, content=content, first_seen_at=now)
        )
        await self.session.flush()
        return True

    async def policy_text(self, version: str) -> str | None:
        result = await self.session.execute(
            select(PolicySnapshot.content).where(PolicySnapshot.version == version)
        )
        return result.scalar_one_or_none()

    async def add(
        self,
        *,
        user_id: int,
        mode: str,
        answers: dict[str, str],
        result: dict[str, Any],
        policy_id: str,
        policy_version: str,
        now: datetime,
    ) -> SelfCheckResult:
        record = SelfCheckResult(
            user_id=user_id,
            mode=mode,
            answers=answers,
            result=result,
            verdict=str(result["verdict"]),
            policy_id=policy_id,
            policy_version=policy_version,
            created_at=now,
        )
        self.session.add(record)
        await self.session.flush()
        return record

    async def get(self, record_id: int) -> SelfCheckResult | None:
        return await self.session.get(SelfCheckResult, record_id)
