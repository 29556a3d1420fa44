from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import ConcurrentUpdate
from storage.models import DialogStateRow


class DialogStateRepository:
    """Reads and writes the per-user dialog row under an optimistic version check."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    async def load(self, user_id: int) -> tuple[dict[str, Any], int] | None:
        row = (
            await self.session.execute(
                select(DialogStateRow.data, DialogStateRow.version).where(DialogStateRow.user_id == user_id)
            )
        ).first()
        return (dict(row[0]), int(row[1])) if row else None

    async def save(
        self, user_id: int, data: dict[str, Any], *, expected_version: int | None, now: datetime
    ) -> None:
        if expected_version is None:
            self.session.add(
                DialogStateRow(
                    user_id=user_id,
                    dialog=data["dialog"],
                    step=data["step"],
                    data=data,
                    version=1,
                    updated_at=now,
                )
            )
            try:
                await self.session.flush()
            except IntegrityError as exc:
                raise ConcurrentUpdate(f"dialog state of user {user_id} was created concurrently") from exc
            return
        result = await self.session.execute(
            update(DialogStateRow)
            .where(DialogStateRow.user_id == user_id, DialogStateRow.version == expected_version)
            .values(
                dialog=data["dialog"],
                step=data["step"],
                data=data,
                version=expected_version + 1,
                updated_at=now,
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"dialog state of user {user_id} changed concurrently")

    async def delete(self, user_id: int, *, expected_version: int) -> None:
        result = await self.session.execute(
            delete(DialogStateRow).where(
                DialogStateRow.user_id == user_id, DialogStateRow.version == expected_version
            )
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"dialog state of user {user_id} changed concurrently")
