"""Throughput benchmark: the whole program in webhook mode against a bare python-telegram-bot echo bot.

    .venv/bin/python bench/throughput.py                        # SQLite, 3 alternating rounds
    .venv/bin/python bench/throughput.py --engine postgresql
    .venv/bin/python bench/throughput.py --profile /tmp/full.txt  # the full stack under pyinstrument

The bots run as child processes and are fed the same updates by POST to the same webhook route
(aiohttp -> bot.channels.webhook -> the PTB Application's update queue). The full program takes
each update through its dialog engine, stores it (one database commit per update) and answers;
the echo bot answers at once. Replies go to a minimal Bot API stub (bench/stub_api.py) in this
process, which times their arrival on the same clock that timed the POST.

What the users do: each registered cadre runs, again and again, the opening of a pre-filing --
/new, 个人报备, a title, a category, the situations, the four descriptions, /cancel -- ten updates,
each a stored dialog step. Every update waits for its complete answer before the next (a person
waits for the reply): "handling time" is from the POST to the arrival of the last Bot API call
that answers it. How many calls answer each step is learned in a warm-up cycle.

There are two echo bots: `echo` is a bare python-telegram-bot bot with PTB's default transport
(httpx), the baseline the issue names; `echo-aiohttp` sends through the transport the program
uses (bot/channels/telegram_transport.py), so the ratio against it is the program's own cost
with the HTTP client taken out. Rounds alternate echo, echo-aiohttp, full, ... so all see the
same machine load; each round runs once with one user (handling time with nothing queued) and
once with --users concurrent users (throughput). Floors (issue 10): full/echo updates-per-second
ratio >= 0.5 and p99 <= 20 ms on SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import count
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.stub_api import TOKEN, StubBotApi, callback_query_id  # noqa: E402
from bot.channels import webhook  # noqa: E402
from tests.e2e.telegram_harness import free_port  # noqa: E402

SECRET = "bench-throughput-secret"
REGISTRATION = [("text", "/start"), ("text", "张三"), ("press", "昆明市"), ("press", "嵩明县"),
                ("press", "杨桥街道办事处"), ("text", "副主任")]  # fmt: skip
CYCLE = [
    ("text", "/new"),
    ("press", "个人报备"),
    ("text", "杨桥片区批而未供土地盘活项目"),
    ("press", "K1 推进项目建设"),
    ("press", "✅ 选好了"),
    ("text", "片区内有 120 亩批而未供土地，长期闲置，群众反映强烈，上级要求年底前盘活。"),
    ("text", "拟先行启动土地平整和道路建设，同步补办用地手续。"),
    ("text", "可能与“先批后建”的用地管理规定不一致。"),
    ("text", "若等待全部手续办结再动工，将错过今年的施工窗口，项目资金可能被收回。"),
    ("text", "/cancel"),
]
Step = tuple[str, str]


@dataclass
class User:
    chat: int
    answers: list[int] = field(default_factory=list)  # expected Bot API calls per CYCLE step


@dataclass
class Round:
    bot: str
    users: int
    latencies: list[float]
    wall: float
    misses: int
    cpu: float  # seconds of CPU the bot's process used in the round (user + system)

    @property
    def rate(self) -> float:
        return len(self.latencies) / self.wall


class Driver:
    """Plays Telegram: builds updates, posts them to a bot's webhook, waits for the answers at the stub."""

    def __init__(self, stub: StubBotApi, session: aiohttp.ClientSession) -> None:
        self.stub = stub
        self.session = session
        self._update_ids = count(1)
        self._message_ids = count(1_000_000)
        self._serials = count(1)

    async def post(self, port: int, chat: int, step: Step) -> None:
        kind, value = step
        user = {
            "id": chat,
            "is_bot": False,
            "first_name": "三",
            "last_name": "张",
            "language_code": "zh-hans",
        }
        update: dict[str, Any] = {"update_id": next(self._update_ids)}
        if kind == "text":
            message: dict[str, Any] = {
                "message_id": next(self._message_ids),
                "date": int(time.time()),
                "chat": {"id": chat, "type": "private", "first_name": "三"},
                "from": user,
                "text": value,
            }
            if value.startswith("/"):
                message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(value)}]
            update["message"] = message
        else:
            shown = self._message_with_button(chat, value)
            data = _button_data(shown, value) if shown else value
            update["callback_query"] = {
                "id": callback_query_id(chat, next(self._serials)),
                "from": user,
                "chat_instance": str(chat),
                "data": data,
                "message": shown
                or {
                    "message_id": next(self._message_ids),
                    "date": int(time.time()),
                    "chat": {"id": chat, "type": "private"},
                    "text": value,
                },
            }
        path = webhook.PATH_PREFIX + webhook.path_secret(SECRET)
        async with self.session.post(
            f"http://127.0.0.1:{port}{path}",
            json=update,
            headers={webhook.HEADER: webhook.header_token(SECRET)},
        ) as response:
            if response.status != 200:
                raise RuntimeError(f"webhook answered {response.status}: {await response.text()}")

    def _message_with_button(self, chat: int, label: str) -> dict[str, Any] | None:
        """The newest message in the chat with a button whose label starts with `label`."""
        for _, method, params in reversed(self.stub.chats[chat].calls):
            if method not in {"sendmessage", "editmessagetext"} or not params.get("reply_markup"):
                continue
            message = self.stub.message_from(chat, params)
            if _button_data(message, label) is not None:
                return message
        return None

    async def step_until_quiet(self, port: int, chat: int, step: Step, quiet: float = 0.3) -> int:
        """Post and count the calls that answer it: those arriving until the chat is quiet for `quiet` s."""
        before = len(self.stub.chats[chat].calls)
        await self.post(port, chat, step)
        seen = await self.stub.wait_for_calls(chat, before + 1, within=15)
        if seen is None:
            raise RuntimeError(f"no answer to {step} in chat {chat}")
        while await self.stub.wait_for_calls(chat, len(self.stub.chats[chat].calls) + 1, quiet):
            pass
        return len(self.stub.chats[chat].calls) - before

    async def step_timed(self, port: int, chat: int, step: Step, expected: int) -> float | None:
        before = len(self.stub.chats[chat].calls)
        started = time.perf_counter()
        await self.post(port, chat, step)
        arrived = await self.stub.wait_for_calls(chat, before + expected, within=10)
        return None if arrived is None else arrived - started


def _button_data(message: dict[str, Any], label: str) -> str | None:
    markup = message.get("reply_markup") or {}
    for row in markup.get("inline_keyboard", []):
        for button in row:
            if str(button.get("text", "")).startswith(label):
                return str(button.get("callback_data"))
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, from /proc (Linux)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def run_round(
    driver: Driver,
    bot: str,
    port: int,
    pid: int,
    users: Sequence[User],
    cycles: int,
    expected_echo: dict[str, int],
) -> Round:
    latencies: list[float] = []
    misses = 0

    async def one(user: User) -> None:
        nonlocal misses
        for _ in range(cycles):
            for index, step in enumerate(CYCLE):
                expected = user.answers[index] if bot == "full" else expected_echo[step[0]]
                took = await driver.step_timed(port, user.chat, step, expected)
                if took is None:
                    misses += 1
                    await driver.step_until_quiet(port, user.chat, ("text", "/cancel"))
                    break
                latencies.append(took)

    started, cpu = time.perf_counter(), cpu_seconds(pid)
    await asyncio.gather(*(one(user) for user in users))
    return Round(bot, len(users), latencies, time.perf_counter() - started, misses, cpu_seconds(pid) - cpu)


def percentile(values: Sequence[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


# --- the two bots ---------------------------------------------------------------------------------


async def wait_ready(
    session: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes], log: Path
) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{url}: the process exited:\n{tail(log)}")
        try:
            async with session.get(url) as response:
                if response.status in (200, 404, 405):
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"{url} did not answer within 60 s")


def tail(log: Path) -> str:
    return log.read_text(errors="replace")[-3000:]


def start_full(
    stub: StubBotApi, database_url: str, workdir: Path, port: int, profile: str | None
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "RONGCUO_TELEGRAM_TOKEN": TOKEN,
        "RONGCUO_TELEGRAM_API_URL": stub.base_url,
        "RONGCUO_TELEGRAM_MODE": "webhook",
        "RONGCUO_WEBHOOK_URL": f"http://127.0.0.1:{port}/",
        "RONGCUO_WEBHOOK_SECRET": SECRET,
        "RONGCUO_DATABASE_URL": database_url,
        "RONGCUO_DATA_DIR": str(workdir / "data"),
        "RONGCUO_HTTP_PORT": str(port),
        "RONGCUO_LOG_LEVEL": "WARNING",
    }
    command = [sys.executable, "-m", "bot", "run"]
    if profile:
        command = [
            sys.executable,
            "-m",
            "pyinstrument",
            "-r",
            "text",
            "--show-all",
            "-o",
            profile,
            "-m",
            "bot",
            "run",
        ]
    log = (workdir / "full.log").open("ab")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)


def start_echo(stub: StubBotApi, workdir: Path, port: int, transport: str) -> subprocess.Popen[bytes]:
    log = (workdir / f"echo-{transport}.log").open("ab")
    return subprocess.Popen(
        [sys.executable, str(ROOT / "bench" / "echo_bot.py"), stub.base_url, str(port), SECRET, transport],
        cwd=ROOT,
        stdout=log,
        stderr=log,
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()


# --- the run ----------------------------------------------------------------------------------------


async def run(args: argparse.Namespace) -> None:
    from tests.databases import PostgresServer, migrated_sqlite

    workdir = Path(tempfile.mkdtemp(prefix="bench-throughput-"))
    server = None
    if args.engine == "postgresql":
        server = PostgresServer()
        await server.setup()
        if server.unavailable:
            raise SystemExit(server.unavailable)
        database_url = await server.clone()
    else:
        database_url = await migrated_sqlite(workdir)
    stub = StubBotApi()
    await stub.start()
    full_port, echo_port, echo_aiohttp_port = free_port(), free_port(), free_port()
    full = start_full(stub, database_url, workdir, full_port, args.profile)
    echo = start_echo(stub, workdir, echo_port, "httpx")
    echo_aiohttp = start_echo(stub, workdir, echo_aiohttp_port, "aiohttp")
    try:
        async with aiohttp.ClientSession() as session:
            await wait_ready(session, f"http://127.0.0.1:{full_port}/healthz", full, workdir / "full.log")
            await wait_ready(session, f"http://127.0.0.1:{echo_port}/", echo, workdir / "echo-httpx.log")
            await wait_ready(
                session, f"http://127.0.0.1:{echo_aiohttp_port}/", echo_aiohttp, workdir / "echo-aiohttp.log"
            )
            driver = Driver(stub, session)
            users = [User(chat=700_000 + n) for n in range(args.users)]
            started = time.perf_counter()

            async def warm_up(user: User) -> None:
                for step in REGISTRATION + CYCLE:
                    await driver.step_until_quiet(full_port, user.chat, step)
                user.answers = [await driver.step_until_quiet(full_port, user.chat, step) for step in CYCLE]

            await asyncio.gather(*(warm_up(user) for user in users))
            echo_chat = 800_000
            expected_echo = {
                kind: await driver.step_until_quiet(echo_port, echo_chat, (kind, "x"))
                for kind in ("text", "press")
            }
            print(
                f"{args.engine}: {args.users} users registered and warmed up in {time.perf_counter() - started:.1f} s;"
                f" Bot API calls per step: full {users[0].answers}, echo {expected_echo}"
            )
            echo_users = [User(chat=810_000 + n) for n in range(args.users)]
            rounds: list[Round] = []
            for number in range(1, args.rounds + 1):
                for width in (1, args.users):
                    for bot, port, pid, crowd in (
                        ("echo", echo_port, echo.pid, echo_users),
                        ("echo-aiohttp", echo_aiohttp_port, echo_aiohttp.pid, echo_users),
                        ("full", full_port, full.pid, users),
                    ):
                        result = await run_round(
                            driver, bot, port, pid, crowd[:width], args.cycles, expected_echo
                        )
                        rounds.append(result)
                        print(
                            f"round {number} {bot:12} users={width:2}: {len(result.latencies):4} updates"
                            f" in {result.wall:5.2f} s = {result.rate:6.1f}/s,"
                            f" p50 {percentile(result.latencies, 50) * 1000:5.1f} ms,"
                            f" p99 {percentile(result.latencies, 99) * 1000:5.1f} ms,"
                            f" CPU {result.cpu / len(result.latencies) * 1000:4.1f} ms/update"
                            + (f", {result.misses} unanswered" if result.misses else "")
                        )
            report(rounds, args)
    finally:
        stop(full)
        stop(echo)
        stop(echo_aiohttp)
        await stub.stop()
        if server is not None:
            await server.drop(database_url)
            await server.teardown()
        if args.profile:
            print(f"profile of the full stack: {args.profile}")
        shutil.rmtree(workdir, ignore_errors=True)


def report(rounds: list[Round], args: argparse.Namespace) -> None:
    print(
        f"\n{args.engine}, {args.rounds} alternating rounds, {args.cycles} cycle(s) of {len(CYCLE)} steps per user"
    )
    print("| bot | users | updates | updates/s | p50 | p99 | max | bot CPU per update |")
    print("|---|---|---|---|---|---|---|---|")
    summary: dict[tuple[str, int], float] = {}
    for bot in ("echo", "echo-aiohttp", "full"):
        for width in sorted({r.users for r in rounds}):
            chosen = [r for r in rounds if r.bot == bot and r.users == width]
            latencies = [x for r in chosen for x in r.latencies]
            rate = sum(len(r.latencies) for r in chosen) / sum(r.wall for r in chosen)
            summary[(bot, width)] = rate
            misses = sum(r.misses for r in chosen)
            cpu = sum(r.cpu for r in chosen) / len(latencies)
            print(
                f"| {bot} | {width} | {len(latencies)} | {rate:.1f} |"
                f" {percentile(latencies, 50) * 1000:.1f} ms | {percentile(latencies, 99) * 1000:.1f} ms |"
                f" {max(latencies) * 1000:.1f} ms | {cpu * 1000:.2f} ms |"
                + (f" ({misses} unanswered)" if misses else "")
            )
    for baseline in ("echo", "echo-aiohttp"):
        for width in sorted({r.users for r in rounds}):
            ratios = [
                f.rate / e.rate
                for e, f in zip(
                    [r for r in rounds if r.bot == baseline and r.users == width],
                    [r for r in rounds if r.bot == "full" and r.users == width],
                    strict=True,
                )
            ]
            print(
                f"ratio full/{baseline}, {width} user(s): "
                f"{summary[('full', width)] / summary[(baseline, width)]:.3f}"
                f" (per round: {', '.join(f'{x:.3f}' for x in ratios)}; median {statistics.median(ratios):.3f})"
            )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--engine", choices=["sqlite", "postgresql"], default="sqlite")
    parser.add_argument("--users", type=int, default=8, help="concurrent users in the throughput rounds")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--cycles", type=int, default=3, help="pre-filing openings per user per round")
    parser.add_argument("--profile", help="run the full stack under pyinstrument, write its text report here")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
