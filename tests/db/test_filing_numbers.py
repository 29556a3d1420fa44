"""Filing numbers when many people of one county submit at the same moment."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from sqlalchemy import select

from storage.database import Database
from storage.models import Filing, OrgUnitRow, User
from storage.uow import UnitOfWork

NOW = datetime(2026, 11, 23, 1, 30, tzinfo=UTC)


async def test_simultaneous_submissions_in_one_county_each_get_the_next_number_first_time(
    database_url: str,
) -> None:
    database = Database(database_url)
    try:
        async with UnitOfWork(database) as uow:
            user = User(name="张三", locale="zh_CN", created_at=NOW, updated_at=NOW)
            uow.session.add(OrgUnitRow(code="530127", name="嵩明县", level="county"))
            uow.session.add(user)
            await uow.commit()
        assert user.id is not None

        async def submit(n: int) -> int:
            async with UnitOfWork(database) as uow:
                seq = await uow.filings.next_seq("530127", 2026)
                await asyncio.sleep(0.01)  # the rest of a submission happens between number and commit
                uow.session.add(
                    Filing(
                        user_id=user.id,
                        jurisdiction_code="530127",
                        status="submitted",
                        title=f"报备{n}",
                        year=2026,
                        seq=seq,
                        number=f"530127-2026-{seq:04d}",
                        created_at=NOW,
                        updated_at=NOW,
                    )
                )
                await uow.commit()  # no retry here: a taken number would fail this commit
                return seq

        numbers = await asyncio.gather(*(submit(n) for n in range(20)))
        assert sorted(numbers) == list(range(1, 21))
        async with database.sessions() as session:
            stored = (await session.execute(select(Filing.seq).order_by(Filing.seq))).scalars().all()
        assert list(stored) == list(range(1, 21))
    finally:
        await database.dispose()
