"""Two-process drill (issue 10), PostgreSQL: two bot processes in webhook mode serve the same
users at once: no update is lost, per-user order is kept, no duplicate filing, every reminder once.

Two `python -m bot run` OS processes share one database and one webhook secret; both register
the same public webhook URL. There a small round-robin proxy (the "load balancer") listens and
hands each POST to the next process, so a person's consecutive updates land on alternate
processes. The Bot API emulator delivers the updates to the hook as Telegram does: a chat's next
update once the previous one was answered, and the program answers only after handling it.

People converse at once: registration, a whole pre-filing and its submission, all in one county
(so the filing numbers race too). Every QUICK_EVERY-th person twice types two answers without
waiting for the question in between. Reminders fall due during the run; both processes run the
reminder tick every second and an outbox dispatcher.

What holds, and is asserted:
- every update reached exactly one process, once, and got its answer; the database holds every
  answer of every person;
- each person's answers are stored in the order given and the questions seen in order, also the
  two a quick person types back to back and also when the two land on different processes (the
  webhook answers after handling, so the second is not sent before the first was stored; when
  the webhook answered at once, 40 of 134 such pairs were stored the wrong way round);
- one filing per person, numbers unique and without gaps, taken without retries (a county's
  numbering is queued on an advisory lock; it used to race, retry and answer 系统正忙), so nobody
  is told 系统正忙;
- each due reminder was claimed once, queued once, and sent once (one message in its chat).

Should a submission still be told 系统正忙, the person sends it again as the text asks (here:
/start to see the summary again, then submit); such retries are counted and reported.

    .venv/bin/python -m pytest tests/drills/test_two_process_drill.py -s
    RONGCUO_DRILLS=full .venv/bin/python -m pytest tests/drills/test_two_process_drill.py -s
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import aiohttp
import pytest
from aiohttp import web
from sqlalchemy import func, select, update

from bot.channels import webhook
from bot.config import load_settings
from bot.runtime import build_runtime
from dialogs.texts import Texts
from storage.database import Database
from storage.models import Filing, OutboxMessage, Reminder, User, UserIdentity
from tests.db.talker import DESCRIPTIONS
from tests.drills.conftest import pick
from tests.drills.test_outage_drill import Reminded, person, seed_reminders
from tests.e2e.telegram_harness import BotProcess, emulator_running, free_port
from tests.emulator import BotApiEmulator, UserDriver, message_text

USERS = pick(10, 200)
QUICK_EVERY = 3  # users 0, 3, 6 ... type two answers without waiting, twice
REMINDERS = pick(20, 200)
REMINDER_WINDOW = pick(8.0, 40.0)  # seconds over which the reminders fall due, once people talk
COUNTY, COUNTY_NAME = "530127", "嵩明县"  # everyone files here: the numbers race across processes
REMINDER_COUNTY = "530181"  # 安宁市: the seeded rectification filings
FIRST_USER = 810_000_000
FIRST_REMINDED = 820_000_000
SECRET = "two-process-drill-secret"
REPLY_TIMEOUT = pick(60.0, 300.0)
STARTUP_TIMEOUT = 60.0
DRAIN_TIMEOUT = pick(60.0, 300.0)

# --- the load balancer -------------------------------------------------------------------------------


@dataclass
class Forwarded:
    update_id: int | None
    backend: int
    status: int


class RoundRobin:
    """Forwards each POST to the next backend in turn, as a plain load balancer would."""

    def __init__(self, backends: list[int]) -> None:
        self.backends = backends
        self.port = free_port()
        self.forwarded: list[Forwarded] = []
        self._turn = itertools.count()
        self._runner: web.AppRunner | None = None
        self._session: aiohttp.ClientSession | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", self.port).start()
        self._session = aiohttp.ClientSession()

    async def stop(self) -> None:
        if self._session is not None:
            await self._session.close()
        if self._runner is not None:
            await self._runner.cleanup()

    async def _forward(self, request: web.Request) -> web.Response:
        assert self._session is not None
        body = await request.read()
        backend = next(self._turn) % len(self.backends)
        headers = {k: v for k, v in request.headers.items() if k in (webhook.HEADER, "Content-Type")}
        try:
            async with self._session.post(
                f"http://127.0.0.1:{self.backends[backend]}{request.path_qs}", data=body, headers=headers
            ) as answer:
                status, payload = answer.status, await answer.read()
        except aiohttp.ClientError:
            status, payload = 502, b""
        try:
            update_id = json.loads(body).get("update_id")
        except ValueError:
            update_id = None
        self.forwarded.append(Forwarded(update_id, backend, status))
        return web.Response(status=status, body=payload, content_type="application/json")

    def backend_of(self, update_id: int) -> int:
        [served] = [f.backend for f in self.forwarded if f.update_id == update_id and f.status == 200]
        return served


# --- time: a zone where it is midday now, and a working day ---------------------------------------


def midday_zone() -> str:
    """A fixed-offset zone where the local hour is 12 now: reminders are allowed out (not quiet).

    The processes run on the real clock; this keeps the drill independent of when it runs.
    """
    offset = (12 - datetime.now(UTC).hour + 12) % 24 - 12  # in -12..11 hours
    return "Etc/GMT" if offset == 0 else f"Etc/GMT{-offset:+d}"  # POSIX names invert the sign


# --- the people ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    kind: str  # "text" or "press"
    value: str
    expect: str  # in the answer to this input: the next question
    key: str | None = None  # the filing answer this text is stored as


def script(n: int, today: date, units: list[str]) -> list[Step]:
    name = person("干部", n)
    unit = units[n % len(units)]

    def mine(key: str) -> str:
        return f"{DESCRIPTIONS[key]}（{name}）"

    return [
        Step("text", "/start", "请输入您的姓名"),
        Step("text", name, "请选择您所在的市"),
        Step("press", "昆明市", "请选择您所在的县"),
        Step("press", COUNTY_NAME, "请选择您所在的单位"),
        Step("press", unit, "请输入您的职务"),
        Step("text", "科员", "注册完成"),
        Step("text", "/new", "开始新建容错报备"),
        Step("press", "个人报备", "请填写事项名称"),
        Step("text", f"嵩明县重点项目先行实施（{name}）", "请选择报备事项的类别", "title"),
        Step("press", "K1 推进项目建设", "可能适用哪些容错情形"),
        Step("press", "✅ 选好了（已选 2 项）", "请说明事项背景"),
        Step("text", mine("background"), "请说明拟采取的具体做法", "background"),
        Step("text", mine("planned_action"), "可能突破或简化哪些规定", "planned_action"),
        Step("text", mine("rule_at_risk"), "必要性、紧迫性", "rule_at_risk"),
        Step("text", mine("necessity"), "是否经过集体研究", "necessity"),
        Step("press", "按规定无需集体研究", "可能出现哪些失误"),
        Step("text", mine("risks"), "风险防控措施", "risks"),
        Step("text", mine("controls"), "利益关联", "controls"),
        Step("press", "不存在利益关联", "计划开始日期"),
        Step("text", (today + timedelta(days=3)).isoformat(), "计划完成日期"),
        Step("text", (today + timedelta(days=120)).isoformat(), "关键节点"),
        Step("press", "跳过", "涉及资金"),
        Step("text", "50万", "其他附件"),
        Step("press", "跳过", "承诺书"),
        Step("press", "✍ 我承诺", "请核对报备内容"),
        Step("press", "✅ 确认无误，提交报备", "报备编号"),
    ]


BUSY = Texts("zh_CN")("error.busy")
MAX_BUSY = 10

# Typed back to back by the quick ones: each is a text step followed by another text step.
QUICK_PAIRS = (("background", "planned_action"), ("risks", "controls"))


@dataclass
class Pair:
    """Two answers typed without waiting, and what became of them."""

    first: str
    second: str
    update_ids: tuple[int, int]
    replies_in_order: bool = False


@dataclass
class Conversation:
    n: int
    emulator: BotApiEmulator
    user: UserDriver
    steps: list[Step]
    quick: bool
    pairs: list[Pair] = field(default_factory=list)
    update_ids: list[int] = field(default_factory=list)
    busy: int = 0  # "系统正忙" answers: the input was not handled and had to be sent again


def send(conversation: Conversation, step: Step) -> None:
    user = conversation.user
    if step.kind == "text":
        user.send_text(step.value)
    else:
        user.press(step.value)
    # The emulator queues the update synchronously: the newest one is this input's.
    conversation.update_ids.append(conversation.emulator.updates[-1]["update_id"])


async def converse(conversation: Conversation) -> None:
    user, steps = conversation.user, conversation.steps
    quick_firsts = {first for first, _ in QUICK_PAIRS} if conversation.quick else set()
    index = 0
    while index < len(steps):
        step = steps[index]
        if step.key in quick_firsts:
            second = steps[index + 1]
            send(conversation, step)
            send(conversation, second)
            replies = [message_text(m) for m in await user.wait_for_messages(2, REPLY_TIMEOUT)]
            assert all(any(s.expect in r for r in replies) for s in (step, second)), (
                replies,
                user.describe(),
            )
            conversation.pairs.append(
                Pair(
                    step.key or "",
                    second.key or "",
                    (conversation.update_ids[-2], conversation.update_ids[-1]),
                    step.expect in replies[0] and second.expect in replies[1],
                )
            )
            index += 2
            continue
        send(conversation, step)
        reply = message_text(await user.wait_for_message(REPLY_TIMEOUT))
        while reply == BUSY and conversation.busy < MAX_BUSY:
            # As the answer asks: send it again. A pressed question has lost its buttons, so
            # /start shows it again (with everything kept) first.
            conversation.busy += 1
            if step.kind == "press":
                send(conversation, Step("text", "/start", ""))
                await user.wait_for_message(REPLY_TIMEOUT)
            send(conversation, step)
            reply = message_text(await user.wait_for_message(REPLY_TIMEOUT))
        assert step.expect in reply, (step, reply, user.describe())
        index += 1


async def start_chat(user: UserDriver) -> None:
    user.send_text("/start")
    assert "欢迎回来" in message_text(await user.wait_for_message(REPLY_TIMEOUT)), user.describe()


# --- the processes -----------------------------------------------------------------------------------


def bot_process(
    emulator: BotApiEmulator, database_url: str, data_dir: Path, balancer: RoundRobin, env: dict[str, str]
) -> BotProcess:
    process = BotProcess(emulator, database_url, data_dir)
    process.env.update(
        {
            "RONGCUO_TELEGRAM_MODE": "webhook",
            "RONGCUO_WEBHOOK_URL": balancer.url,
            "RONGCUO_WEBHOOK_SECRET": SECRET,
            "RONGCUO_REMINDER_SECONDS": "1",
            **env,
        }
    )
    return process


async def until(condition: object, what: str, timeout: float, processes: list[BotProcess]) -> None:
    deadline = time.monotonic() + timeout
    while not condition():  # type: ignore[operator]
        for process in processes:
            assert process.process is not None
            assert process.process.poll() is None, f"a process exited:\n{process.output()[-3000:]}"
        assert time.monotonic() < deadline, f"{what} within {timeout}s:\n" + "\n".join(
            p.output()[-2000:] for p in processes
        )
        await asyncio.sleep(0.1)


async def backlog(database: Database, reminder_ids: list[int]) -> tuple[int, int]:
    async with database.sessions() as session:
        reminders = await session.scalar(
            select(func.count())
            .select_from(Reminder)
            .where(Reminder.id.in_(reminder_ids), Reminder.status == "pending")  # type: ignore[union-attr]
        )
        outbox = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "pending")
        )
    return int(reminders or 0), int(outbox or 0)


@pytest.mark.timeout(int(2 * STARTUP_TIMEOUT + REPLY_TIMEOUT * 3 + DRAIN_TIMEOUT + pick(60, 900)))
async def test_two_processes_behind_one_webhook(postgres_url: str, tmp_path: Path) -> None:
    zone = midday_zone()
    tz = ZoneInfo(zone)
    today = datetime.now(tz).date()
    overrides = tmp_path / "workdays.yaml"
    # Whatever day it is here, it is a working day for the drill (reminders wait out holidays).
    overrides.write_text(f"workdays: [{today.isoformat()}, {(today + timedelta(days=1)).isoformat()}]\n")
    env = {"RONGCUO_TIMEZONE": zone, "RONGCUO_WORKDAY_OVERRIDES": str(overrides)}
    settings = load_settings(
        database_url=postgres_url, data_dir=tmp_path / "seed", timezone=zone, workday_overrides=overrides
    )
    runtime = await build_runtime(settings)
    units = [u.name for u in runtime.directory.children(COUNTY)]
    database = runtime.database
    began = time.monotonic()
    try:
        async with emulator_running() as emulator:
            processes: list[BotProcess] = []
            balancer = RoundRobin([])
            try:
                for name in ("a", "b"):
                    processes.append(bot_process(emulator, postgres_url, tmp_path / name, balancer, env))
                balancer.backends = [int(p.env["RONGCUO_HTTP_PORT"]) for p in processes]
                await balancer.start()
                for process in processes:
                    process.start()
                await until(
                    lambda: len(emulator.calls_to("setWebhook")) >= 2,
                    "both processes registered the webhook",
                    STARTUP_TIMEOUT,
                    processes,
                )
                assert emulator.webhook["url"] == webhook.webhook_url(balancer.url, SECRET)
                started = time.monotonic()

                # Cadres with an item due today open their chats; their reminders fall due a little
                # after the conversations begin (rescheduled then, so they are due during the run).
                seeded = await seed_reminders(
                    runtime,
                    county=REMINDER_COUNTY,
                    first_chat=FIRST_REMINDED,
                    today=today,
                    due=[datetime.now(tz) + timedelta(days=1)] * REMINDERS,
                )
                await asyncio.gather(*(start_chat(emulator.user(r.chat_id)) for r in seeded))
                conversations = [
                    Conversation(
                        n,
                        emulator,
                        emulator.user(FIRST_USER + n),
                        script(n, today, units),
                        n % QUICK_EVERY == 0,
                    )
                    for n in range(USERS)
                ]
                talking = [asyncio.create_task(converse(c)) for c in conversations]
                await reschedule(database, seeded)
                try:
                    await asyncio.gather(*talking)
                finally:
                    for task in talking:
                        task.cancel()
                    await asyncio.gather(*talking, return_exceptions=True)
                talked = time.monotonic()
                ids = [r.reminder_id for r in seeded]
                deadline = time.monotonic() + DRAIN_TIMEOUT
                while (left := await backlog(database, ids)) != (0, 0):
                    assert time.monotonic() < deadline, (
                        f"reminders/outbox not done in {DRAIN_TIMEOUT}s: {left}"
                    )
                    await asyncio.sleep(0.2)
                drained = time.monotonic()
            finally:
                await asyncio.gather(*(asyncio.to_thread(p.stop) for p in processes))
                await balancer.stop()
            logs = [p.output() for p in processes]
            assert not emulator.internal_errors, emulator.internal_errors[:3]
            api_errors = list(emulator.errors)
            all_updates = [u["update_id"] for u in emulator.updates]
            pending_updates = emulator.webhook["pending_update_count"]
            reminder_calls = Counter(
                int(p["chat_id"])
                for p in emulator.calls_to("sendMessage")
                if "整改提醒" in str(p.get("text"))
            )
            reminder_sent = {
                r.chat_id: [m for m in emulator.sent(r.chat_id) if "整改提醒" in message_text(m)]
                for r in seeded
            }

        async with database.sessions() as session:
            filings = list(await session.scalars(select(Filing).where(Filing.jurisdiction_code == COUNTY)))
            users = {
                int(i.external_id): (u, i)
                for u, i in await session.execute(
                    select(User, UserIdentity).join(UserIdentity, UserIdentity.user_id == User.id)
                )
            }
            reminders = list(await session.scalars(select(Reminder).where(Reminder.id.in_(ids))))  # type: ignore[union-attr]
            outbox = list(await session.scalars(select(OutboxMessage)))
    finally:
        await database.dispose()

    # --- updates: each reached one process once, answered; both processes served -------------------
    assert pending_updates == 0
    assert not api_errors, [(e.method, e.status, e.description) for e in api_errors[:5]]
    served = Counter(f.update_id for f in balancer.forwarded if f.status == 200)
    assert set(served) == set(all_updates) and set(served.values()) == {1}, "every update served once"
    refused = [f for f in balancer.forwarded if f.status != 200]
    shares = Counter(f.backend for f in balancer.forwarded if f.status == 200)
    assert set(shares) == {0, 1}, shares
    for log_text in logs:
        assert "Traceback" not in log_text, log_text[log_text.index("Traceback") - 2000 :][:5000]

    # --- the database: every person registered, one filing each, answers as given -------------------
    by_user: dict[int, list[Filing]] = {}
    for filing in filings:
        by_user.setdefault(filing.user_id, []).append(filing)
    assert len(filings) == USERS, "one filing per person, no duplicate"
    assert {f.status for f in filings} == {"submitted"}
    assert sorted(f.seq or 0 for f in filings) == list(range(1, USERS + 1)), "numbers unique, no gap"
    order_kept_split = order_broken_split = same_process_pairs = replies_swapped = 0
    for conversation in conversations:
        user, _ = users[conversation.user.chat_id]
        name = conversation.steps[1].value
        assert (user.name, user.position, user.registered_at is not None) == (name, "科员", True)
        [filing] = by_user[user.id or 0]
        answers = {**filing.answers, "title": filing.title}
        given = {s.key: s.value for s in conversation.steps if s.key}
        quick_keys = {k for pair in conversation.pairs for k in (pair.first, pair.second)}
        for key, value in given.items():
            if key not in quick_keys:
                assert answers[key] == value, (conversation.n, key, answers[key], value)
        for pair in conversation.pairs:
            stored = (answers[pair.first], answers[pair.second])
            typed = (given[pair.first], given[pair.second])
            assert set(stored) == set(typed), ("an input was lost", conversation.n, stored, typed)
            split = balancer.backend_of(pair.update_ids[0]) != balancer.backend_of(pair.update_ids[1])
            same_process_pairs += not split
            order_kept_split += split and stored == typed
            order_broken_split += split and stored != typed
            replies_swapped += not pair.replies_in_order
            assert stored == typed, (
                "order broken",
                "across processes" if split else "",
                conversation.n,
                pair,
            )
            assert pair.replies_in_order, ("replies out of order", conversation.n)

    # --- reminders: each claimed once, queued once, sent once ------------------------------------------
    assert Counter(r.status for r in reminders) == {"sent": REMINDERS}
    assert Counter(r.attempts for r in reminders) == {1: REMINDERS}
    keys = {f"reminder:{r.reminder_id}:{r.user_id}": r for r in seeded}
    rows = [row for row in outbox if row.dedupe_key in keys]
    assert sorted(row.dedupe_key or "" for row in rows) == sorted(keys)
    assert all(row.status == "sent" and row.attempts == 1 for row in rows)
    assert {row.status for row in outbox} == {"sent"}
    assert reminder_calls == dict.fromkeys((r.chat_id for r in seeded), 1)
    for r in seeded:
        [message] = reminder_sent[r.chat_id]
        assert r.ref in message_text(message)
    by_owner = Counter((r.lease_owner or "?").rsplit(":", 1)[-1] for r in reminders)

    quick_pairs = sum(len(c.pairs) for c in conversations)
    # The dialog state's optimistic check at work: a commit that lost the race ran again.
    retries = Counter(
        re.sub(r"\d+", "N", line.split("reason=", 1)[1].strip())
        for text in logs
        for line in text.splitlines()
        if "conversation.retry" in line and "reason=" in line
    )
    busy = Counter(c.busy for c in conversations if c.busy)
    print(
        f"\n[two-process drill] {USERS} people ({sum(c.quick for c in conversations)} quick), "
        f"{len(all_updates)} updates, {REMINDERS} reminders; zone {zone}\n"
        f"  updates per process: {dict(shares)}; refused by the balancer (retried by Telegram): {len(refused)}\n"
        f"  quick pairs: {quick_pairs}; on one process {same_process_pairs} (order kept); split over two: "
        f"order kept {order_kept_split}, order BROKEN {order_broken_split} (answers swapped); "
        f"replies seen out of order {replies_swapped}; conversation retries {dict(retries)}\n"
        f"  answered 系统正忙 and sent again: {sum(c.busy for c in conversations)} times "
        f"(people by times: {dict(sorted(busy.items()))})\n"
        f"  reminders finished per process (pid): {dict(by_owner)}\n"
        f"  start {started - began:.1f}s, conversations {talked - started:.1f}s, drain {drained - talked:.1f}s"
    )
    assert not busy, "nobody should be told 系统正忙: a county's numbers are taken in turn"


async def reschedule(database: Database, seeded: list[Reminded]) -> None:
    """Make the seeded reminders fall due over the next REMINDER_WINDOW seconds."""
    now = datetime.now(UTC)
    async with database.sessions() as session:
        for n, r in enumerate(seeded):
            due = now + timedelta(seconds=1 + n * REMINDER_WINDOW / len(seeded))
            await session.execute(update(Reminder).where(Reminder.id == r.reminder_id).values(due_at=due))
        await session.commit()
