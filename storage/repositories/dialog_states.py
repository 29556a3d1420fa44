from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.errors import ConcurrentUpdate
from storage.models import DialogStateRow

# Statements on the table rather than the mapped class: every dialog step runs them, and the
# ORM's bulk-update machinery cost more than the UPDATE itself (bench/throughput.py).
_table = DialogStateRow.__table__  # type: ignore[attr-defined]
_SAVE = (
    update(_table)
    .where(_table.c.user_id == bindparam("user"), _table.c.version == bindparam("expected"))
    .values(
        {
            c: bindparam(f"new_{c}", type_=_table.c[c].type)
            for c in ("dialog", "step", "data", "version", "updated_at")
        }
    )
)


class DialogStateRepository:
    """Reads and writes the per-user dialog row under an optimistic version check."""

    def __init__(self, session: AsyncSession) -> None:
        self.session = session

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
            _SAVE,
            {
                "user": user_id,
                "expected": expected_version,
                "new_dialog": data["dialog"],
                "new_step": data["step"],
                "new_data": data,
                "new_version": expected_version + 1,
                "new_updated_at": now,
            },
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"dialog state of user {user_id} changed concurrently")

    async def delete(self, user_id: int, *, expected_version: int) -> None:
        result = await self.session.execute(
            delete(_table).where(_table.c.user_id == user_id, _table.c.version == expected_version)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            raise ConcurrentUpdate(f"dialog state of user {user_id} changed concurrently")
