"""Benchmark of the /stats computation on a large, realistic database (a benchmark, not a test).

    .venv/bin/python bench/stats.py                        # 1,000,000 filings, SQLite and PostgreSQL
    .venv/bin/python bench/stats.py --rows 20000           # a quick smoke run
    .venv/bin/python bench/stats.py --engine postgresql --runs 11

Generates filings over three years in 16 jurisdictions (uneven sizes, seasonal months, most filings
accepted, review times log-normal around half a working day), with tolerance reviews (~5% of the
filings), rectification items (~3%) and return visits (~2%), bulk-loaded into
a throwaway database (SQLite: a file under /tmp; PostgreSQL: database bench_stats, dropped after).
Then builds the rollup (timed) and times compute_stats (bot/services/stats/compute.py) exactly as
/stats runs it (from the rollup, including its bounded refresh), and side by side counted live
from the filings, for every
jurisdiction over the whole period and for one jurisdiction over one quarter, prints
min / median / max, the time of each query, and the query plans the figures rely on.
Targets: median <= 200 ms on PostgreSQL, <= 1 s on SQLite (1,000,000 filings).
"""

from __future__ import annotations

import argparse
import asyncio
import inspect
import json
import math
import os
import random
import sqlite3
import statistics
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
from sqlalchemy import case as sql_case  # noqa: E402
from sqlalchemy import event, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.services.directory import read_directory_file, sync_directory  # noqa: E402
from bot.services.stats.compute import compute_stats  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.models import Filing  # noqa: E402
from storage.models.filing import situation_mask  # noqa: E402
from storage.repositories.stats import RollupRefresh, StatsQuery, StatsRepository  # noqa: E402
from storage.uow import UnitOfWork  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
SQLITE_PATH = Path("/tmp/rongcuo_bench_stats.sqlite3")
PG_ADMIN = os.environ.get("RONGCUO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
PG_DATABASE = "bench_stats"
FIRST_DAY, LAST_DAY = date(2024, 1, 1), date(2026, 11, 20)
NOW = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
JURISDICTIONS = 16
CATEGORIES = [
    ("K1", 22),
    ("K2", 6),
    ("K3", 9),
    ("K4", 8),
    ("K5", 10),
    ("K6", 15),
    ("K7", 12),
    ("K8", 10),
    ("K9", 8),
]
CATEGORY_SITUATIONS = {
    "K1": ["S4", "S6"],
    "K2": ["S3", "S5"],
    "K3": ["S3"],
    "K4": ["S3"],
    "K5": ["S6"],
    "K6": ["S4"],
    "K7": ["S6", "S4"],
    "K8": ["S1", "S2"],
    "K9": ["S4", "S1"],
}
SOURCES = [
    ("linked_filing", 40),
    ("complaint", 30),
    ("audit", 12),
    ("inspection", 10),
    ("self_application", 8),
]
OUTCOMES = [("exempt", 45), ("mitigate", 25), ("not_tolerated", 20), ("cleared", 10)]
# Seasonal weight per month: quiet at Spring Festival, busy before the year's end.
MONTH_WEIGHT = [0.6, 0.5, 1.0, 1.0, 1.0, 1.1, 1.0, 0.9, 1.0, 0.8, 1.2, 1.4]
TEXT = "落实县委县政府关于盘活批而未供土地的部署，先行开展场地平整和招商对接，同步补办用地手续。"


def pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([v for v, _ in weighted], weights=[w for _, w in weighted])[0]


@dataclass
class Data:
    users: list[tuple[Any, ...]] = field(default_factory=list)
    selfchecks: list[tuple[Any, ...]] = field(default_factory=list)
    filings: list[tuple[Any, ...]] = field(default_factory=list)
    reviews: list[tuple[Any, ...]] = field(default_factory=list)
    items: list[tuple[Any, ...]] = field(default_factory=list)
    visits: list[tuple[Any, ...]] = field(default_factory=list)


USER_COLUMNS = ("id", "name", "unit_code", "position", "locale", "registered_at", "created_at", "updated_at")
SELFCHECK_COLUMNS = (
    "id", "user_id", "mode", "answers", "result", "verdict", "policy_id", "policy_version", "saved", "created_at",
)  # fmt: skip
FILING_COLUMNS = (
    "id", "number", "user_id", "unit_code", "jurisdiction_code", "status", "title", "category", "filer_kind",
    "answers", "year", "seq", "created_at", "updated_at", "submitted_at", "review_due_at", "reviewed_at",
    "reviewed_by", "risk_colour", "decision_number", "decision_seq", "selfcheck_id", "submitted_month",
    "review_work_hours", "review_late", "situation_mask",
)  # fmt: skip
REVIEW_COLUMNS = (
    "id", "filing_id", "jurisdiction_code", "source", "status", "reason", "team", "findings", "outcome",
    "decision_number", "year", "decision_seq", "opened_by", "opened_at", "decided_at", "data", "advisory_verdict",
)  # fmt: skip
ITEM_COLUMNS = (
    "id", "filing_id", "jurisdiction_code", "item_no", "problem", "measure", "owner_user_id", "due_date",
    "original_due_date", "status", "extended", "evidence", "created_by", "created_at", "updated_at", "accepted_at",
)  # fmt: skip
VISIT_COLUMNS = (
    "id", "review_id", "filing_id", "jurisdiction_code", "cadre_user_id", "officer_user_id", "outcome", "seq",
    "due_date", "status", "questionnaire", "visited_on", "created_at",
)  # fmt: skip


def generate(rows: int, counties: list[tuple[str, str, list[str]]], version: str) -> Data:
    """Deterministic (seeded) rows; datetimes aware, JSON as text."""
    rng = random.Random(20261123)
    data = Data()
    n_users = max(50, rows // 40)
    officers = list(range(1, 1 + JURISDICTIONS * 2))
    created = datetime(2023, 12, 1, tzinfo=UTC)
    for uid in range(1, n_users + 1):
        county = counties[uid % len(counties)]
        data.users.append(
            (uid, f"干部{uid}", rng.choice(county[2]), "科员", "zh_CN", created, created, created)
        )
    # Zipf-like sizes: the biggest county has several times the filings of the smallest.
    county_weights = [1 / (i + 1) ** 0.7 for i in range(len(counties))]
    days = (LAST_DAY - FIRST_DAY).days + 1
    day_weights = [MONTH_WEIGHT[(FIRST_DAY + timedelta(d)).month - 1] for d in range(days)]
    # Sorted: rows are stored in the order filings are submitted, as on a live server.
    day_offsets = sorted(rng.choices(range(days), weights=day_weights, k=rows))
    county_picks = rng.choices(range(len(counties)), weights=county_weights, k=rows)
    seqs: dict[tuple[str, int], int] = {}
    decision_seqs: dict[tuple[str, int], int] = {}
    answers_texts: dict[tuple[str, ...], str] = {}
    review_seq: dict[tuple[str, int], int] = {}
    selfcheck_id = 0
    for fid in range(1, rows + 1):
        code, short, units = counties[county_picks[fid - 1]]
        day = FIRST_DAY + timedelta(day_offsets[fid - 1])
        local = datetime(
            day.year,
            day.month,
            day.day,
            rng.choice((9, 10, 11, 14, 15, 16, 20)),
            rng.randrange(60),
            tzinfo=TZ,
        )
        submitted = local.astimezone(UTC)
        key = (code, day.year)
        seqs[key] = seqs.get(key, 0) + 1
        category = pick(rng, CATEGORIES)
        claimed = CATEGORY_SITUATIONS[category][: rng.choice((1, 1, 2))]
        answers_text = answers_texts.setdefault(
            tuple(claimed),
            json.dumps(
                {"situations": claimed, "background": TEXT, "planned_action": TEXT, "risks": TEXT},
                ensure_ascii=False,
            ),
        )
        age = (NOW.date() - day).days
        # Outcome of the initial review; recent filings are more often still open.
        roll = rng.random()
        if age < 3 and roll < 0.6:
            outcome = "pending"
        elif roll < 0.66:
            outcome = "accepted"
        elif roll < 0.92:
            outcome = "not_accepted"
        elif roll < 0.95:
            outcome = "returned" if age < 40 else "accepted"
        else:
            outcome = "withdrawn"
        hours = (
            None
            if outcome in ("pending",) or (outcome == "withdrawn" and rng.random() < 0.7)
            else round(min(60.0, rng.lognormvariate(math.log(4.5), 0.8)), 2)
        )
        late = None if hours is None else hours > 7.0 + rng.random() * 3.5
        reviewed_at = None if hours is None else submitted + timedelta(hours=hours * 24 / 7)
        due = datetime(day.year, day.month, day.day, 23, 59, 59, tzinfo=TZ) + timedelta(days=1)
        status = {"pending": "submitted", "returned": "returned", "not_accepted": "not_accepted"}.get(
            outcome, outcome
        )
        decision_seq = decision_number = None
        selfcheck = None
        if outcome == "accepted":
            decision_seqs[key] = decision_seqs.get(key, 0) + 1
            decision_seq = decision_seqs[key]
            decision_number = f"{short}容受〔{day.year}〕{decision_seq}号"
            status = rng.choices(("accepted", "closed", "decided", "under_review"), (70, 20, 8, 2))[0]
        uid = rng.randrange(1, n_users + 1)
        reviewed = outcome == "accepted" and rng.random() < 0.075  # ~5% of all filings get a review
        if reviewed or rng.random() < 0.02:
            selfcheck_id += 1
            selfcheck = selfcheck_id
            verdict = pick(rng, [("tolerable", 60), ("not_tolerable", 20), ("uncertain", 20)])
            data.selfchecks.append(
                (
                    selfcheck,
                    uid,
                    "prefiling",
                    "{}",
                    json.dumps({"verdict": verdict}),
                    verdict,
                    "yunnan",
                    version,
                    False,
                    submitted,
                )
            )
        data.filings.append(
            (
                fid, f"{short}-{day.year}-{seqs[key]:05d}", uid, rng.choice(units), code, status, f"项目{fid}",
                category, "person", answers_text, day.year, seqs[key], submitted, submitted, submitted, due,
                reviewed_at, officers[0] if reviewed_at else None, "green" if decision_seq else None,
                decision_number, decision_seq, selfcheck, day.year * 100 + day.month, hours, late,
                situation_mask(claimed),
            )
        )  # fmt: skip
        if reviewed:
            rid = len(data.reviews) + 1
            opened = submitted + timedelta(days=rng.randrange(20, 200))
            decided = opened + timedelta(days=rng.randrange(15, 60))
            is_decided = decided < NOW and rng.random() < 0.85
            outcome_r = pick(rng, OUTCOMES) if is_decided else None
            seq = None
            number = None
            if is_decided:
                rkey = (code, decided.year)
                review_seq[rkey] = review_seq.get(rkey, 0) + 1
                seq = review_seq[rkey]
                number = f"{short}容认〔{decided.year}〕{seq}号"
            data.reviews.append(
                (
                    rid, fid, code, pick(rng, SOURCES), "decided" if is_decided else "verifying", "核查", "[1]",
                    None, outcome_r, number, decided.year if is_decided else None, seq, officers[0], opened,
                    decided if is_decided else None, "{}", verdict if is_decided else None,
                )
            )  # fmt: skip
            if rng.random() < 0.6:  # rectification items: ~3% of filings
                for item_no in range(1, rng.choice((1, 1, 2)) + 1):
                    set_at = opened + timedelta(days=rng.randrange(1, 20))
                    due_day = (set_at + timedelta(days=rng.randrange(20, 120))).astimezone(TZ).date()
                    extended = rng.random() < 0.1
                    if due_day >= NOW.date():
                        item_status, accepted_at = rng.choice(("open", "submitted")), None
                    else:
                        item_status = rng.choices(("accepted", "closed", "open"), (80, 8, 12))[0]
                        accepted_at = (
                            datetime(due_day.year, due_day.month, due_day.day, 10, tzinfo=TZ)
                            + timedelta(days=rng.randrange(-15, 10))
                            if item_status == "accepted"
                            else None
                        )
                    data.items.append(
                        (
                            len(data.items) + 1, fid, code, item_no, "问题", "措施", uid,
                            due_day, due_day - timedelta(days=30) if extended else due_day, item_status,
                            extended, "[]", officers[0], set_at, set_at, accepted_at,
                        )
                    )  # fmt: skip
            if is_decided and rng.random() < 0.4:  # return visits: ~2% of filings
                for seq_v in range(1, rng.choice((1, 2, 3)) + 1):
                    due_day = (decided + timedelta(days=30 + 150 * (seq_v - 1))).astimezone(TZ).date()
                    done = due_day < NOW.date() and rng.random() < 0.85
                    visited = due_day + timedelta(days=rng.randrange(-5, 8)) if done else None
                    data.visits.append(
                        (
                            len(data.visits) + 1, rid, fid, code, uid, officers[0], outcome_r, seq_v, due_day,
                            "done" if done else "planned", "{}", visited, decided,
                        )
                    )  # fmt: skip
    return data


# Loading


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return int(value)
    return value


def load_sqlite(path: Path, data: Data) -> None:
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA foreign_keys=OFF")
    try:
        tables = [table for table, _, _ in _tables(data)]
        marks = ", ".join("?" * len(tables))
        # Secondary indexes are built once after the load, which is much faster than row by row.
        indexes = conn.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL "
            f"AND sql NOT LIKE 'CREATE UNIQUE%' AND tbl_name IN ({marks})",
            tables,
        ).fetchall()
        for name, _ in indexes:
            conn.execute(f'DROP INDEX "{name}"')
        for table, columns, rows in _tables(data):
            sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})"
            for chunk in _chunks(rows, 50_000):
                conn.executemany(sql, [tuple(_sqlite_value(v) for v in row) for row in chunk])
            conn.commit()
        for _, sql in indexes:
            conn.execute(sql)
        conn.execute("ANALYZE")
        conn.commit()
    finally:
        conn.close()


async def load_postgresql(url: str, data: Data) -> None:
    conn = await asyncpg.connect(url)
    try:
        tables = [table for table, _, _ in _tables(data)]
        # Building the secondary indexes once after COPY is much faster than row by row; the
        # foreign key triggers are skipped for the load (the generated rows are consistent).
        indexes = await conn.fetch(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY($1) "
            "AND indexdef NOT LIKE 'CREATE UNIQUE%'",
            tables,
        )
        for index in indexes:
            await conn.execute(f'DROP INDEX "{index["indexname"]}"')
        await conn.execute("SET session_replication_role = replica")
        for table, columns, rows in _tables(data):
            await conn.copy_records_to_table(table, records=rows, columns=list(columns))
        await conn.execute("SET session_replication_role = DEFAULT")
        await conn.execute("SET maintenance_work_mem = '256MB'")
        for index in indexes:
            await conn.execute(index["indexdef"])
        # Index-only scans need the visibility map; autovacuum would do this on a live server.
        await conn.execute("VACUUM ANALYZE")
    finally:
        await conn.close()


def _tables(data: Data) -> list[tuple[str, tuple[str, ...], list[tuple[Any, ...]]]]:
    return [
        ("app_user", USER_COLUMNS, data.users),
        ("selfcheck_result", SELFCHECK_COLUMNS, data.selfchecks),
        ("filing", FILING_COLUMNS, data.filings),
        ("tolerance_review", REVIEW_COLUMNS, data.reviews),
        ("rectification_item", ITEM_COLUMNS, data.items),
        ("return_visit", VISIT_COLUMNS, data.visits),
    ]


def _chunks(rows: list[tuple[Any, ...]], size: int) -> Iterator[list[tuple[Any, ...]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


# Timing


@dataclass
class Captured:
    statements: list[tuple[str, Any]] = field(default_factory=list)


class TimedRepository:
    """Wraps StatsRepository methods to time each query of one computation."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._originals: dict[str, Callable[..., Any]] = {}

    def __enter__(self) -> TimedRepository:
        for name, member in list(vars(StatsRepository).items()):
            if name.startswith("_") or name == "prepare" or not inspect.iscoroutinefunction(member):
                continue
            original = getattr(StatsRepository, name)
            self._originals[name] = original

            def timed(
                self_: StatsRepository,
                *args: Any,
                _name: str = name,
                _f: Any = original,
                _t: dict = self.timings,
            ) -> Any:
                async def run() -> Any:
                    start = time.perf_counter()
                    result = await _f(self_, *args)
                    _t[_name] = (time.perf_counter() - start) * 1000
                    return result

                return run()

            setattr(StatsRepository, name, timed)
        return self

    def __exit__(self, *exc: object) -> None:
        for name, original in self._originals.items():
            setattr(StatsRepository, name, original)


async def compute(database: Database, query: StatsQuery, use_rollup: bool = True) -> dict[str, Any]:
    async with UnitOfWork(database) as uow:
        figures = await compute_stats(uow, query, use_rollup=use_rollup)
        await uow.commit()  # as /stats: the bounded refresh it made stays
    return figures.to_dict()


async def time_queries(
    database: Database, label: str, query: StatsQuery, runs: int, use_rollup: bool = True
) -> float:
    await compute(database, query, use_rollup)  # warm the caches once, as a running bot has them
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        await compute(database, query, use_rollup)
        samples.append((time.perf_counter() - start) * 1000)
    median = statistics.median(samples)
    print(f"  {label:<44} min {min(samples):8.1f} ms  median {median:8.1f} ms  max {max(samples):8.1f} ms")
    with TimedRepository() as timed:
        await compute(database, query, use_rollup)
    parts = ", ".join(f"{k} {v:.1f}" for k, v in timed.timings.items())
    print(f"  {'':<44} per query (ms): {parts}")
    return median


async def explain(database: Database, query: StatsQuery, use_rollup: bool = True) -> None:
    """The plan of every statement one computation runs (PostgreSQL: EXPLAIN ANALYZE)."""
    captured: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "set_config" not in statement:
            captured.append((statement, parameters))

    event.listen(database.engine.sync_engine, "before_cursor_execute", capture)
    try:
        await compute(database, query, use_rollup)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", capture)
    prefix = "EXPLAIN (ANALYZE, BUFFERS, COSTS OFF) " if not database.is_sqlite else "EXPLAIN QUERY PLAN "
    async with database.engine.connect() as conn:
        if not database.is_sqlite:
            await conn.exec_driver_sql("SET jit = off")
        for statement, parameters in captured:
            print("  --- " + " ".join(statement.split())[:400])
            result = await conn.exec_driver_sql(prefix + statement, parameters)
            for row in result.all():
                print("      " + (row[0] if not database.is_sqlite else f"{row[3]}"))


async def bench(
    engine: str, rows: int, runs: int, show_plans: bool, keep: bool, reuse: bool
) -> dict[str, float]:
    directory = read_directory_file(None)
    counties = [
        (u.code, u.display_short, [c.code for c in directory.children(u.code)])
        for u in directory
        if u.level == "county"
    ][:JURISDICTIONS]
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{SQLITE_PATH}"
        if not reuse:
            _remove_sqlite_files()
    else:
        url = make_url(PG_ADMIN).set(database=PG_DATABASE).render_as_string(hide_password=False)
        if not reuse:
            admin = await asyncpg.connect(PG_ADMIN)
            await admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
            await admin.execute(f"CREATE DATABASE {PG_DATABASE}")
            await admin.close()
    database = Database(url)
    try:
        if reuse:
            async with database.engine.connect() as conn:
                rows = (await conn.exec_driver_sql("SELECT count(*) FROM filing")).scalar_one()
                biggest = (
                    await conn.exec_driver_sql(
                        "SELECT jurisdiction_code FROM filing GROUP BY 1 ORDER BY count(*) DESC LIMIT 1"
                    )
                ).scalar_one()
            async with database.engine.begin() as conn:
                # An earlier run's status changes are stamped after NOW: back to the generated
                # stamps, or the rollup's watermark would sit past the NOW this run counts at.
                await conn.execute(
                    update(Filing).where(Filing.updated_at > NOW).values(updated_at=Filing.submitted_at)  # type: ignore[operator]
                )
            print(f"\n== {engine}: {rows:,} filings (the database kept by an earlier --keep run)")
            return await _time_and_explain(database, biggest, runs, show_plans)
        print(f"\n== {engine}: {rows:,} filings")
        await migrate.upgrade(database)
        await sync_directory(database, directory)
        async with database.engine.begin() as conn:
            await conn.exec_driver_sql(
                "INSERT INTO policy_snapshot (version, policy_id, content, first_seen_at) "
                "VALUES ('bench', 'yunnan', '', '2024-01-01 00:00:00')"
            )
        started = time.perf_counter()
        data = generate(rows, counties, "bench")
        generated = time.perf_counter()
        if engine == "sqlite":
            await database.dispose()
            await asyncio.to_thread(load_sqlite, SQLITE_PATH, data)
        else:
            await load_postgresql(
                make_url(url).set(drivername="postgresql").render_as_string(hide_password=False), data
            )
        loaded = time.perf_counter()
        print(
            f"  generated in {generated - started:.1f} s, loaded in {loaded - generated:.1f} s: "
            f"{len(data.filings):,} filings, {len(data.reviews):,} reviews, "
            f"{len(data.items):,} rectification items, {len(data.visits):,} visits"
        )
        biggest = Counter(f[4] for f in data.filings).most_common(1)[0][0]
        data = Data()  # let the rows go before timing
        return await _time_and_explain(database, biggest, runs, show_plans)
    finally:
        await database.dispose()
        if not keep:
            await _drop(engine)


def _remove_sqlite_files() -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{SQLITE_PATH}{suffix}").unlink(missing_ok=True)


async def _drop(engine: str) -> None:
    if engine == "postgresql":
        admin = await asyncpg.connect(PG_ADMIN)
        await admin.execute(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
        await admin.close()
    else:
        _remove_sqlite_files()


async def _refresh(database: Database, now: datetime, rebuild: bool = False) -> tuple[float, RollupRefresh]:
    start = time.perf_counter()
    async with UnitOfWork(database) as uow:
        done = await uow.stats.refresh_rollup(now, rebuild=rebuild)
        await uow.commit()
    return (time.perf_counter() - start) * 1000, done


async def _analyze(database: Database) -> None:
    async with database.engine.connect() as conn:
        if database.is_sqlite:
            await conn.exec_driver_sql("ANALYZE")
        else:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).exec_driver_sql(
                "VACUUM ANALYZE"
            )


async def _change_filings(database: Database, first_id: int, last_id: int, count: int, at: datetime) -> int:
    """`count` filings spread over ids first_id..last_id change status, as the services write it."""
    step = max(1, (last_id - first_id + 1) // count)
    async with UnitOfWork(database) as uow:
        result = await uow.session.execute(
            update(Filing)
            .where(Filing.id >= first_id, Filing.id <= last_id, Filing.id % step == 0)  # type: ignore[operator,arg-type]
            .values(
                status=sql_case((Filing.status == "accepted", "closed"), else_="withdrawn"),
                updated_at=at,
            )
        )
        await uow.commit()
    return int(result.rowcount)  # type: ignore[attr-defined]


async def _time_and_explain(
    database: Database, biggest: str, runs: int, show_plans: bool
) -> dict[str, float]:
    whole = StatsQuery(None, None, None, now=NOW, tz=TZ)
    quarter = StatsQuery(date(2026, 7, 1), date(2026, 9, 30), (biggest,), now=NOW, tz=TZ)
    rebuilt_ms, _ = await _refresh(database, NOW, rebuild=True)
    slices = await _count_slices(database)
    print(f"  rollup: full rebuild {rebuilt_ms:8.1f} ms ({slices})")
    await _analyze(database)  # autovacuum / the planner's statistics, as on a live server
    print("  /stats as users get it (from the rollup, the tick keeping it fresh; bounded refresh included):")
    results = {
        "rollup: all jurisdictions, whole period": await time_queries(
            database, "all jurisdictions, whole period", whole, runs
        ),
        f"rollup: {biggest}, 2026 Q3": await time_queries(
            database, f"one jurisdiction ({biggest}), one quarter", quarter, runs
        ),
    }
    print("  the same, counted live from the filings (periods not on month boundaries go this way):")
    results |= {
        "live: all jurisdictions, whole period": await time_queries(
            database, "all jurisdictions, whole period", whole, runs, use_rollup=False
        ),
        f"live: {biggest}, 2026 Q3": await time_queries(
            database, f"one jurisdiction ({biggest}), one quarter", quarter, runs, use_rollup=False
        ),
    }
    for query in (whole, quarter):
        same = await compute(database, query) == await compute(database, query, use_rollup=False)
        print(f"  rollup == live ({'whole' if query is whole else 'quarter'}): {same}")
    # 1,000 filings change a minute after NOW, and the tick (or the next /stats) runs a minute
    # later: first among the filings of the last two months or so (where status changes happen),
    # then spread over all three years (the refresh rebuilds the whole rollup then).
    rows = await _rows(database)
    at = NOW
    for label, first_id in (("recent", rows - rows // 18), ("spread over all years", 1)):
        at += timedelta(minutes=5)
        changed = await _change_filings(database, first_id, rows, 1000, at)
        refreshed_ms, done = await _refresh(database, at + timedelta(minutes=1))
        what = "rebuilt whole" if done.rebuilt else f"{done.slices} slices"
        print(f"  rollup: refresh after {changed:,} filing changes ({label}) {refreshed_ms:8.1f} ms ({what})")
        for query in (whole, quarter):
            later = replace(query, now=at + timedelta(minutes=2))
            same = await compute(database, later) == await compute(database, later, use_rollup=False)
            print(
                f"    rollup == live after the changes ({'whole' if query is whole else 'quarter'}): {same}"
            )
    if show_plans:
        print("  plans, all jurisdictions / whole period (rollup):")
        await explain(database, whole)
        print("  plans, one jurisdiction / one quarter (rollup):")
        await explain(database, quarter)
        print("  plans, all jurisdictions / whole period (live):")
        await explain(database, whole, use_rollup=False)
    return results


async def _rows(database: Database) -> int:
    async with database.engine.connect() as conn:
        return int((await conn.exec_driver_sql("SELECT max(id) FROM filing")).scalar_one() or 0)


async def _count_slices(database: Database) -> str:
    async with database.engine.connect() as conn:
        parts = []
        for table in ("filing_rollup", "filing_unit_rollup", "filing_review_rollup"):
            n = (await conn.exec_driver_sql(f"SELECT count(*) FROM {table}")).scalar_one()
            parts.append(f"{table} {n:,} rows")
    return ", ".join(parts)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=1_000_000, help="filings to generate (default 1,000,000)")
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="both")
    parser.add_argument("--runs", type=int, default=7, help="timed computations per case (default 7)")
    parser.add_argument("--no-plans", action="store_true", help="do not print the query plans")
    parser.add_argument(
        "--keep", action="store_true", help=f"keep the database ({SQLITE_PATH}, {PG_DATABASE})"
    )
    parser.add_argument("--reuse", action="store_true", help="time the database an earlier --keep run left")
    args = parser.parse_args()
    engines = ("sqlite", "postgresql") if args.engine == "both" else (args.engine,)
    targets = {"sqlite": 1000.0, "postgresql": 200.0}
    summary = []
    for engine in engines:
        results = asyncio.run(bench(engine, args.rows, args.runs, not args.no_plans, args.keep, args.reuse))
        for case, median in results.items():
            verdict = "ok" if median <= targets[engine] else "OVER TARGET"
            if case.startswith("live"):
                verdict = "(for comparison)"
            summary.append(
                f"  {engine:<11} {case:<42} median {median:8.1f} ms (target {targets[engine]:.0f} ms) {verdict}"
            )
    print("\n== summary (median of each case)")
    print("\n".join(summary))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
