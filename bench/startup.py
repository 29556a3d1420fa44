"""Start-up time and resident memory of `rongcuo run` with a big backlog (issue 10).

Targets: start-up ≤ 2 s with 100,000 pending (future) reminders; resident memory ≤ 150 MB with
10,000 open pre-filing drafts.

The database is seeded in bulk with rows shaped like the ones the dialogs write (the draft and its
dialog_state row are what `store_draft` and the dialog engine store after the "background" answer:
copied from a draft made through the real web chat once, then cloned). Then `.venv/bin/rongcuo run`
is started as a fresh process (no Telegram token, so the web channel and the scheduler only) and
timed from spawn until GET /healthz answers 200. Its VmRSS (/proc/PID/status) is read after start,
after the first reminder tick completed (it runs at start; /healthz says so), and after web chat
exchanges that resume open drafts (GET / for the CSRF cookie, then POST /api/chat {"open": true}
and the answer to the draft's next question).

    .venv/bin/python bench/startup.py --engine sqlite
    .venv/bin/python bench/startup.py --engine postgresql   # creates and drops database bench_startup
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from itsdangerous import Signer  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from bot.config import load_settings  # noqa: E402
from bot.runtime import build_runtime  # noqa: E402
from bot.services.reminders.plans import RECT_SUBJECT  # noqa: E402
from storage import migrate  # noqa: E402
from storage.database import Database  # noqa: E402
from storage.models import DialogStateRow, Filing, Reminder, User, UserIdentity  # noqa: E402

START_FLOOR_S = 2.0
RSS_FLOOR_MB = 150.0
PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
PG_DB = "bench_startup"
SECRET = "bench-startup-secret-key-0123456789"
UNIT = "530181001"  # 昆明市 / 安宁市 / 连然街道办事处 in the shipped directory
CHUNK = 5000
BACKGROUND = "项目所在片区道路损毁严重，群众出行困难，雨季前必须完成主体施工。"
PLANNED = "先行组织施工队伍进场，同步补办用地和规划手续，全过程留痕并接受监督。"


def session_id(n: int) -> str:
    return f"bench-session-{n:06d}"


def draft_state(n: int, draft_key: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(filing.answers, dialog_state.data) of a draft whose next question is planned_action."""
    answers = {
        "_draft": draft_key,
        "kind": "person",
        "title": f"乡村道路改造项目第{n + 1}标段先行施工",
        "category": "K1",
        "situations": ["S4"],
        "background": BACKGROUND,
    }
    data = {
        "dialog": "prefiling",
        "step": "planned_action",
        "instance": uuid.uuid4().hex[:6],
        "answers": answers,
        "history": ["kind", "title", "category", "situations", "background"],
        "paused": False,
        "return_to": None,
    }
    return answers, data


async def _chunks(session: Any, model: Any, rows: list[dict[str, Any]], returning: bool) -> list[int]:
    ids: list[int] = []
    for start in range(0, len(rows), CHUNK):
        part = rows[start : start + CHUNK]
        if returning:
            statement = insert(model).returning(model.id, sort_by_parameter_order=True)
            ids += list((await session.execute(statement, part)).scalars())
        else:
            await session.execute(insert(model), part)
    return ids


async def seed(url: str, data_dir: Path, reminders: int, drafts: int) -> None:
    database = Database(url)
    await migrate.upgrade(database)
    await database.dispose()
    # Building the runtime once syncs the organisation directory the users point into.
    runtime = await build_runtime(load_settings(database_url=url, data_dir=data_dir))
    now = datetime.now(UTC)
    registered = now - timedelta(days=30)
    try:
        async with runtime.database.sessions() as session:
            users = await _chunks(
                session,
                User,
                [
                    {
                        "name": f"干部{n:05d}",
                        "unit_code": UNIT,
                        "position": "科员",
                        "locale": "zh_CN",
                        "registered_at": registered,
                        "created_at": registered,
                        "updated_at": registered,
                    }
                    for n in range(drafts)
                ],
                True,
            )
            await _chunks(
                session,
                UserIdentity,
                [
                    {
                        "user_id": user,
                        "channel": "web",
                        "external_id": session_id(n),
                        "reachable": True,
                        "created_at": registered,
                    }
                    for n, user in enumerate(users)
                ],
                False,
            )
            filing_rows, state_rows = [], []
            for n, user in enumerate(users):
                key = uuid.uuid4().hex
                answers, data = draft_state(n, key)
                edited = now - timedelta(minutes=5 + n % 600)  # open drafts, edited in the last hours
                filing_rows.append(
                    {
                        "draft_key": key,
                        "user_id": user,
                        "status": "draft",
                        "title": answers["title"],
                        "category": "K1",
                        "filer_kind": "person",
                        "answers": answers,
                        "step": "planned_action",
                        "created_at": edited - timedelta(minutes=10),
                        "updated_at": edited,
                    }
                )
                state_rows.append(
                    {
                        "user_id": user,
                        "dialog": "prefiling",
                        "step": "planned_action",
                        "data": data,
                        "version": 7,
                        "updated_at": edited,
                    }
                )
            filings = await _chunks(session, Filing, filing_rows, True)
            await _chunks(session, DialogStateRow, state_rows, False)
            # Pending reminders, all in the future (1 h to 90 days ahead): the tick finds none due.
            await _chunks(
                session,
                Reminder,
                [
                    {
                        "kind": "rect_due",
                        "due_at": now + timedelta(hours=1, minutes=n % (90 * 24 * 60)),
                        "target_user_id": users[n % len(users)],
                        "subject_type": RECT_SUBJECT,
                        "subject_id": str(n),
                        "status": "pending",
                        "attempts": 0,
                        "payload": {
                            "due": "2099-01-01",
                            "label": "T-0",
                            "filing_id": filings[n % len(filings)],
                        },
                        "created_at": registered,
                        "dedupe_key": f"bench:{n}",
                    }
                    for n in range(reminders)
                ],
                False,
            )
            await session.commit()
    finally:
        await runtime.database.dispose()


def rss_mb(pid: int) -> tuple[float, float]:
    """(VmRSS, VmHWM) in MB."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            found[key] = int(value.split()[0]) / 1024
    return found["VmRSS"], found["VmHWM"]


async def exchanges(port: int, first: int, count: int) -> float:
    """`count` people reopen the web chat and answer their draft's next question; seconds taken."""
    signer = Signer(SECRET, salt="rongcuo.web.session")
    base = f"http://127.0.0.1:{port}"
    started = time.perf_counter()
    async with aiohttp.ClientSession() as http:
        for n in range(first, first + count):
            cookie = f"rongcuo_session={signer.sign(session_id(n)).decode()}"
            async with http.get(base + "/", headers={"Cookie": cookie}) as page:
                assert page.status == 200
                csrf = page.cookies["rongcuo_csrf"].value
            headers = {"Cookie": f"{cookie}; rongcuo_csrf={csrf}", "X-CSRF-Token": csrf}
            for body in ({"open": True}, {"text": PLANNED}):
                async with http.post(base + "/api/chat", json=body, headers=headers) as response:
                    assert response.status == 200, await response.text()
                    said = "\n".join(r["text"] for r in (await response.json())["replies"])
            assert "请说明可能违反的规定" in said or "规定" in said, said  # the next question: rule_at_risk
    return time.perf_counter() - started


def get(url: str, timeout: float = 2.0) -> tuple[int, dict[str, Any] | None]:
    import urllib.error
    import urllib.request

    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, None
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, None


def one_start(
    url: str, data_dir: Path, port: int, workdir: Path, talk: tuple[int, int] | None
) -> dict[str, float]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RONGCUO_")}
    env.update(
        RONGCUO_DATABASE_URL=url,
        RONGCUO_DATA_DIR=str(data_dir),
        RONGCUO_HTTP_PORT=str(port),
        RONGCUO_SECRET_KEY=SECRET,
        RONGCUO_LOG_LEVEL="WARNING",
        RONGCUO_RATE_IP="1000000/60",  # one client address makes every request here
    )
    log = (workdir / "run.log").open("ab")
    started = time.perf_counter()
    process = subprocess.Popen(
        [str(ROOT / ".venv/bin/rongcuo"), "run"], env=env, cwd=workdir, stdout=log, stderr=log
    )
    result: dict[str, float] = {}
    try:
        while True:
            status, _ = get(f"http://127.0.0.1:{port}/healthz", 0.5)
            if status == 200:
                result["start_s"] = time.perf_counter() - started
                break
            if process.poll() is not None or time.perf_counter() - started > 120:
                raise RuntimeError(f"rongcuo run did not come up; see {workdir / 'run.log'}")
            time.sleep(0.01)
        result["rss_start"], _ = rss_mb(process.pid)
        while True:
            _, body = get(f"http://127.0.0.1:{port}/healthz")
            if body and body["checks"]["scheduler"]["detail"].get("seconds_since_tick") is not None:
                result["tick_s"] = time.perf_counter() - started
                break
            if time.perf_counter() - started > 300:
                raise RuntimeError("the first reminder tick did not complete")
            time.sleep(0.05)
        result["rss_tick"], _ = rss_mb(process.pid)
        if talk is not None:
            result["talk_s"] = asyncio.run(exchanges(port, *talk))
            result["rss_talk"], result["hwm"] = rss_mb(process.pid)
        else:
            _, result["hwm"] = rss_mb(process.pid)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
    return result


async def pg_admin(sql: str) -> None:
    import asyncpg

    connection = await asyncpg.connect(PG_ADMIN)
    try:
        await connection.execute(sql)
    finally:
        await connection.close()


def bench(engine: str, args: argparse.Namespace) -> None:
    workdir = Path(tempfile.mkdtemp(prefix=f"bench-startup-{engine}-"))
    data_dir = workdir / "data"
    if engine == "sqlite":
        url = f"sqlite+aiosqlite:///{workdir / 'bench.db'}"
    else:
        asyncio.run(pg_admin(f"DROP DATABASE IF EXISTS {PG_DB}"))
        asyncio.run(pg_admin(f"CREATE DATABASE {PG_DB}"))
        url = PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DB
    try:
        began = time.perf_counter()
        asyncio.run(seed(url, workdir / "seed-data", args.reminders, args.drafts))
        print(
            f"\n== {engine}: seeded {args.reminders:,} pending future reminders and {args.drafts:,} "
            f"open drafts in {time.perf_counter() - began:.1f} s"
        )
        runs = []
        for run in range(args.starts):
            # Every start talks with its own people, so each exchange resumes an untouched draft.
            talk = (run * args.exchanges, args.exchanges) if args.exchanges else None
            result = one_start(url, data_dir, args.port, workdir, talk)
            runs.append(result)
            line = (
                f"start {run + 1}: healthz 200 after {result['start_s']:.2f} s, first tick done after "
                f"{result['tick_s']:.2f} s; RSS {result['rss_start']:.1f} MB at start, "
                f"{result['rss_tick']:.1f} MB after the tick"
            )
            if "talk_s" in result:
                line += (
                    f", {result['rss_talk']:.1f} MB after {args.exchanges} people resumed their drafts "
                    f"({2 * args.exchanges} POSTs in {result['talk_s']:.1f} s)"
                )
            print(line + f"; peak {result['hwm']:.1f} MB", flush=True)

        def row(name: str, key: str, unit: str, floor: float | None) -> None:
            values = [r[key] for r in runs if key in r]
            if not values:
                return
            fmt = "{:.2f}" if unit == "s" else "{:.1f}"
            figures = " | ".join(
                fmt.format(v) + f" {unit}" for v in (min(values), statistics.median(values), max(values))
            )
            verdict = ""
            if floor is not None:
                verdict = f"floor {floor:g} {unit}: " + ("met" if max(values) <= floor else "MISSED")
            print(f"| {name} | {figures} | {verdict} |")

        print(f"\n{engine}, {args.starts} starts | min | median | max | target |")
        print("|---|---|---|---|---|")
        row("spawn → /healthz 200", "start_s", "s", START_FLOOR_S)
        row("spawn → first reminder tick done", "tick_s", "s", None)
        row("RSS after start", "rss_start", "MB", RSS_FLOOR_MB)
        row("RSS after first tick", "rss_tick", "MB", RSS_FLOOR_MB)
        row(f"RSS after {args.exchanges} drafts resumed", "rss_talk", "MB", RSS_FLOOR_MB)
        row("peak RSS (VmHWM)", "hwm", "MB", RSS_FLOOR_MB)
    finally:
        if engine == "postgresql":
            asyncio.run(pg_admin(f"DROP DATABASE IF EXISTS {PG_DB} WITH (FORCE)"))
        shutil.rmtree(workdir, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engine", choices=("sqlite", "postgresql", "both"), default="sqlite")
    parser.add_argument("--reminders", type=int, default=100_000)
    parser.add_argument("--drafts", type=int, default=10_000)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument(
        "--exchanges", type=int, default=200, help="people resuming drafts per start (0: none)"
    )
    parser.add_argument("--port", type=int, default=18_431)
    args = parser.parse_args()
    assert args.exchanges * args.starts <= args.drafts, "every start needs untouched drafts"
    print(
        f"floors: start-up ≤ {START_FLOOR_S:g} s (100,000 pending reminders), "
        f"resident memory ≤ {RSS_FLOOR_MB:g} MB (10,000 open drafts)"
    )
    for engine in ("sqlite", "postgresql") if args.engine == "both" else (args.engine,):
        bench(engine, args)


if __name__ == "__main__":
    main()
