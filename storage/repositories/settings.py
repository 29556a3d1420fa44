from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Filing, JurisdictionSetting


class JurisdictionSettingRepository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def get(self, code: str) -> JurisdictionSetting | None:
        return await self.session.get(JurisdictionSetting, code)

    async def set(
        self,
        code: str,
        *,
        now: datetime,
        group_chat_id: str | None = None,
        lead_officer_id: int | None = None,
        clear_group: bool = False,
    ) -> JurisdictionSetting:
        setting = await self.get(code) or JurisdictionSetting(code=code, updated_at=now)
        if group_chat_id is not None or clear_group:
            setting.group_chat_id = group_chat_id
            setting.digest_sent_at = now  # a new group hears of what arrives from now on
        if lead_officer_id is not None:
            setting.lead_officer_id = lead_officer_id
        setting.updated_at = now
        self.session.add(setting)
        await self.session.flush()
        return setting

    async def clear_lead(self, code: str, user_id: int, *, now: datetime) -> bool:
        """Stop `user_id` being the lead officer of `code` (they no longer serve there)."""
        result = await self.session.execute(
            update(JurisdictionSetting)
            .where(JurisdictionSetting.code == code, JurisdictionSetting.lead_officer_id == user_id)
            .values(lead_officer_id=None, updated_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def with_groups(self) -> Sequence[JurisdictionSetting]:
        result = await self.session.execute(
            select(JurisdictionSetting).where(JurisdictionSetting.group_chat_id.is_not(None))  # type: ignore[union-attr]
        )
        return result.scalars().all()

    async def claim_digest(self, code: str, previous: datetime | None, now: datetime) -> bool:
        """Move the digest window forward; only the process whose update wins sends this window."""
        condition = (
            JurisdictionSetting.digest_sent_at.is_(None)  # type: ignore[union-attr]
            if previous is None
            else JurisdictionSetting.digest_sent_at == previous
        )
        result = await self.session.execute(
            update(JurisdictionSetting)
            .where(JurisdictionSetting.code == code, or_(condition))
            .values(digest_sent_at=now)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def submitted_between(self, code: str, start: datetime | None, end: datetime) -> Sequence[Filing]:
        query = select(Filing).where(
            Filing.jurisdiction_code == code,
            Filing.submitted_at.is_not(None),  # type: ignore[union-attr]
            Filing.submitted_at <= end,  # type: ignore[operator]
        )
        if start is not None:
            query = query.where(Filing.submitted_at > start)  # type: ignore[operator]
        return (await self.session.execute(query.order_by(Filing.submitted_at))).scalars().all()
