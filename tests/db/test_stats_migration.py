"""Migration 0007 fills the statistics columns for what an earlier version stored."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from storage import migrate
from storage.database import Database
from storage.types import UTCDateTime

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=SHANGHAI)
TYPES: dict[str, Any] = {
    "created_at": UTCDateTime(),
    "updated_at": UTCDateTime(),
    "submitted_at": UTCDateTime(),
    "reviewed_at": UTCDateTime(),
    "first_seen_at": UTCDateTime(),
    "opened_at": UTCDateTime(),
    "decided_at": UTCDateTime(),
    "at": UTCDateTime(),
    "answers": sa.JSON(),
    "result": sa.JSON(),
    "team": sa.JSON(),
    "data": sa.JSON(),
    "evidence": sa.JSON(),
}


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def insert(conn: AsyncConnection, table: str, *rows: dict[str, Any]) -> None:
    """Rows as an earlier version wrote them (only the columns of that schema)."""
    columns = [sa.column(name, TYPES.get(name)) for name in rows[0]]
    await conn.execute(sa.insert(sa.table(table, *columns)), list(rows))


async def test_upgrade_fills_the_statistics_of_older_filings(empty_database_url: str) -> None:
    database = Database(empty_database_url)
    try:
        await migrate.upgrade(database, "0006")
        async with database.engine.begin() as conn:
            unit = {"sort_order": 0, "active": True}
            await insert(
                conn,
                "org_unit",
                {"code": "5301", "name": "昆明市", "level": "city", "parent_code": None, **unit},
                {"code": "530127", "name": "嵩明县", "level": "county", "parent_code": "5301", **unit},
                {"code": "530127002", "name": "杨桥街道", "level": "unit", "parent_code": "530127", **unit},
            )
            await insert(conn, "app_user", {"id": 1, "locale": "zh_CN", "created_at": NOW, "updated_at": NOW})
            await insert(
                conn,
                "policy_snapshot",
                {"version": "v1", "policy_id": "yunnan", "content": "", "first_seen_at": NOW},
            )
            check = {"id": 1, "user_id": 1, "mode": "prefiling", "answers": {}, "result": {}}
            check |= {"verdict": "tolerable", "policy_id": "yunnan", "policy_version": "v1", "saved": False}
            await insert(conn, "selfcheck_result", {**check, "created_at": NOW})
            base = {"user_id": 1, "unit_code": "530127002", "jurisdiction_code": "530127"}
            base |= {"created_at": NOW, "updated_at": NOW}
            await insert(
                conn,
                "filing",
                # Returned first (10-09 10:00), answered, then accepted (10-12 10:00: reviewed_at).
                {
                    **base,
                    "id": 1,
                    "status": "decided",
                    "answers": {"situations": ["S1", "S4"]},
                    "submitted_at": local("2026-09-30 16:00"),
                    "reviewed_at": local("2026-10-12 10:00"),
                    "selfcheck_id": 1,
                },
                # Decided once, known from reviewed_at alone (no audit entry): 09:30 -> 11:00.
                {
                    **base,
                    "id": 2,
                    "status": "not_accepted",
                    "answers": {"situations": ["S2"]},
                    "submitted_at": local("2026-11-23 09:30"),
                    "reviewed_at": local("2026-11-23 11:00"),
                    "selfcheck_id": None,
                },
                {
                    **base,
                    "id": 3,
                    "status": "submitted",
                    "answers": {},
                    "submitted_at": local("2026-11-01 08:00"),
                    "reviewed_at": None,
                    "selfcheck_id": None,
                },
                {
                    **base,
                    "id": 4,
                    "status": "draft",
                    "answers": {"situations": ["S5"]},
                    "submitted_at": None,
                    "reviewed_at": None,
                    "selfcheck_id": None,
                },
            )
            entry = {"subject_type": "filing", "subject_id": "1", "data": {}}
            await insert(
                conn,
                "audit_log",
                {**entry, "at": local("2026-10-09 10:00"), "action": "filing.returned"},
                {**entry, "at": local("2026-10-12 10:00"), "action": "filing.accepted"},
            )
            review = {"id": 1, "filing_id": 1, "jurisdiction_code": "530127", "source": "complaint"}
            review |= {"status": "decided", "reason": "举报", "team": [1], "outcome": "exempt", "data": {}}
            await insert(
                conn, "tolerance_review", {**review, "opened_by": 1, "opened_at": NOW, "decided_at": NOW}
            )
            item = {"id": 1, "filing_id": 1, "item_no": 1, "problem": "问题", "measure": "措施"}
            item |= {
                "owner_user_id": 1,
                "due_date": date(2026, 12, 1),
                "original_due_date": date(2026, 12, 1),
            }
            item |= {"status": "open", "extended": False, "evidence": [], "created_by": 1}
            await insert(conn, "rectification_item", {**item, "created_at": NOW, "updated_at": NOW})

        await migrate.upgrade(database)

        async with database.engine.connect() as conn:
            filings = (
                await conn.execute(
                    sa.text(
                        "SELECT id, submitted_month, review_work_hours, review_late, situation_mask "
                        "FROM filing ORDER BY id"
                    )
                )
            ).all()
            verdict = await conn.scalar(sa.text("SELECT advisory_verdict FROM tolerance_review"))
            item_county = await conn.scalar(sa.text("SELECT jurisdiction_code FROM rectification_item"))
    finally:
        await database.dispose()
    # Filing 1: Sep 30 16:00-17:30 1.5 h, Oct 1-7 holiday, Oct 8 7 h, Oct 9 09:00-10:00 1 h = 9.5 h to
    # the first decision (the return), which came after its deadline (the end of Oct 8).
    # Filing 2: 1.5 h, on time. Filing 3: no decision yet. Filing 4: a draft, left alone.
    # Situations as bits: S1 = 1, S2 = 2, S4 = 8.
    assert [(r[0], r[1], r[2], None if r[3] is None else bool(r[3]), r[4]) for r in filings] == [
        (1, 202609, 9.5, True, 0b1001),
        (2, 202611, 1.5, False, 0b10),
        (3, 202611, None, None, 0),
        (4, None, None, None, None),
    ]
    assert verdict == "tolerable"
    assert item_county == "530127"
