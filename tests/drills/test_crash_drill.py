"""Crash drill (issue 10): scripted conversations against a bot process that is SIGKILLed and restarted.

    RONGCUO_DRILLS=full .venv/bin/pytest tests/drills/test_crash_drill.py -q -s
    RONGCUO_CRASH_SEED=1234 ...   # replay one run's users and kill times

Each user registers, files a whole pre-filing and runs a self-check (tests/drills/crash_script.py)
while a killer SIGKILLs `python -m bot run` at random moments and starts it again. At the end every
answer a user saw acknowledged is in the database, each user has exactly one filing and it is
submitted, and every conversation was finished.

getUpdates answers here after a short network delay, as the real Bot API does: the offset that
confirms a batch reaches "Telegram" a moment after the bot has started handling it, so a kill in
that moment makes Telegram deliver updates again that the dead process had already applied.
Before the bot remembered applied update ids (the processed_update table), this drill saw such a
redelivered milestone recorded twice and a redelivered /new open a second, empty draft; the last
test here replays both deterministically. A user who sends an answer again after a silence (the
"impatient" ones) can still put it on the next question: the summary check catches that.
"""

from __future__ import annotations

import asyncio
import copy
import functools
import os
import random
import statistics
import time
from collections import Counter
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from telegram import Update

from bot.channels.telegram import TelegramChannel, build_application
from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import build_runtime
from storage.database import Database
from storage.models import Filing, SelfCheckResult, User, UserIdentity
from storage.uow import UnitOfWork
from tests.drills.conftest import pick
from tests.drills.crash_script import TZ, Outcome, ScriptedUser, files_as_compared, make_plan, stored_filing
from tests.e2e.telegram_harness import BotProcess, emulator_running
from tests.e2e.test_telegram_prefiling import register, say, tap
from tests.emulator import BotApiEmulator, button_labels, message_text

CONVERSATIONS = pick(6, 200)
CONCURRENCY = pick(6, 20)
MIN_KILLS = pick(3, 20)
# CI stops killing after a few kills so that its run stays short; the full drill kills throughout.
MAX_KILLS = pick(5, 1_000_000)
# When the killer strikes: mostly at a random moment after the process has started polling (while
# it handles updates), sometimes during its start-up (~2.5 s of imports, then the database).
KILL_DURING_STARTUP = 0.2
STARTUP_WINDOW = (0.0, 3.0)
SERVING_WINDOW = (0.3, 4.0)
PAUSE = (0.2, 1.5)  # seconds before the process is started again
# How long a user waits for a reply before doing something about it.
PATIENCE = (2.0, 5.0)
# The Bot API's round trip as getUpdates sees it (a long way from Yunnan to Telegram).
NETWORK_DELAY = 0.15


class DelayedEmulator(BotApiEmulator):
    """The emulator with getUpdates answered after a network delay, counting each delivery of an update."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay
        self.deliveries: Counter[int] = Counter()

    async def _get_updates(self, p: Any) -> list[dict[str, Any]]:
        # The offset in this request confirms the previous batch only once it arrives; if the bot
        # dies meanwhile, aiohttp cancels this handler and the batch stays pending.
        await asyncio.sleep(self.delay)
        delivered = await super()._get_updates(p)
        self.deliveries.update(u["update_id"] for u in delivered)
        return delivered


class Killer:
    """SIGKILLs the bot process at random moments and starts it again after a short pause."""

    def __init__(self, bot: BotProcess, emulator: BotApiEmulator, rng: random.Random) -> None:
        self.bot, self.emulator, self.rng = bot, emulator, rng
        self.kills = 0
        self.during_startup = 0
        self.stop = asyncio.Event()

    async def run(self) -> None:
        while not self.stop.is_set() and self.kills < MAX_KILLS:
            calls_before = len(self.emulator.calls)
            if self.rng.random() < KILL_DURING_STARTUP:
                self.during_startup += 1
                delay = self.rng.uniform(*STARTUP_WINDOW)
            else:
                # Wait for this process's first getUpdates: from then on it is serving.
                polled = functools.partial(self._polled_since, calls_before)
                polling = await self.emulator._signal.wait_for(polled, 60)
                assert polling, f"the bot did not start polling\n{self.bot.output()[-3000:]}"
                delay = self.rng.uniform(*SERVING_WINDOW)
            try:
                await asyncio.wait_for(self.stop.wait(), delay)
                return
            except TimeoutError:
                pass
            self.bot.kill()
            self.kills += 1
            await asyncio.sleep(self.rng.uniform(*PAUSE))
            self.bot.start()

    def _polled_since(self, calls_before: int) -> bool:
        calls = self.emulator.calls
        return self.stop.is_set() or any(name == "getUpdates" for name, _ in calls[calls_before:])


async def _converse(users: list[ScriptedUser], concurrency: int) -> list[Outcome]:
    gate = asyncio.Semaphore(concurrency)

    async def one(user: ScriptedUser) -> Outcome:
        async with gate:
            return await user.run()

    return await asyncio.gather(*(one(u) for u in users))


@pytest.mark.timeout(pick(240, 3600))
async def test_acknowledged_answers_survive_random_kills(database_url: str, tmp_path: Path) -> None:
    seed = int(os.environ.get("RONGCUO_CRASH_SEED") or random.SystemRandom().randrange(10**6))
    print(f"\ncrash drill seed {seed} (RONGCUO_CRASH_SEED={seed} replays it)")
    rng = random.Random(seed)
    today = datetime.now(TZ).date()
    emulator = DelayedEmulator(NETWORK_DELAY)
    await emulator.start()
    bot = BotProcess(emulator, database_url, tmp_path / "bot")
    users = [
        ScriptedUser(emulator, make_plan(5000 + i, rng, today), patience=rng.uniform(*PATIENCE))
        for i in range(CONVERSATIONS)
    ]
    killer = Killer(bot, emulator, random.Random(rng.random()))
    started = time.monotonic()
    bot.start()
    try:
        killing = asyncio.create_task(killer.run())
        try:
            outcomes = await _converse(users, CONCURRENCY)
        finally:
            killer.stop.set()
            await killing
        duration = time.monotonic() - started
        # The last process serves what is still queued, then stops in good order.
        await emulator.wait_until_polling(timeout=30)
        quiet = await emulator._signal.wait_for(lambda: not emulator.pending_updates, 30)
        assert quiet, f"updates still pending: {len(emulator.pending_updates)}\n{bot.output()[-3000:]}"
        await asyncio.sleep(1.0)
    finally:
        bot.stop()
        await emulator.stop()

    assert not emulator.internal_errors, emulator.internal_errors
    redelivered = sum(1 for n in emulator.deliveries.values() if n > 1)
    log = bot.output()
    summary = {
        "seed": seed,
        "conversations": len(outcomes),
        "kills": killer.kills,
        "kills_during_startup": killer.during_startup,
        "duration_s": round(duration, 1),
        "user_actions": sum(o.actions for o in outcomes),
        "updates": len(emulator.updates),
        "redelivered_updates": redelivered,
        "duplicates_ignored": log.count("conversation.duplicate_update"),
        "conversation_s_median": round(statistics.median(o.seconds for o in outcomes), 1),
        "timeouts": sum(o.timeouts for o in outcomes),
        "users_with_timeouts": sum(1 for o in outcomes if o.timeouts),
        "max_timeouts_one_user": max(o.timeouts for o in outcomes),
        "impatient_resends": sum(o.resends for o in outcomes),
        "summary_fixes": sum(len(o.summary_fixes) for o in outcomes),
        "selfcheck_reruns": sum(max(o.selfcheck_runs - 1, 0) for o in outcomes),
        "apologies": sum(o.apologies for o in outcomes),
    }
    print("crash drill:", summary)

    assert killer.kills >= MIN_KILLS, f"only {killer.kills} kills: the drill proved little {summary}"
    await _check_database(database_url, users, outcomes)
    # A patient user never sends an answer twice, so the summary can only be wrong for them if
    # the bot applied one update twice.
    wrong = {u.plan.user_id: o.summary_fixes for u, o in zip(users, outcomes, strict=True) if o.summary_fixes}
    patient_wrong = {uid: f for uid, f in wrong.items() if not users[uid - 5000].plan.impatient}
    transcripts = "\n".join(users[uid - 5000].describe() for uid in list(patient_wrong)[:2])
    assert not patient_wrong, (
        f"summaries a patient user had to correct: {patient_wrong} {summary}\n{transcripts}"
    )
    assert summary["apologies"] == 0, summary


async def _check_database(database_url: str, users: list[ScriptedUser], outcomes: list[Outcome]) -> None:
    database = Database(database_url)
    try:
        async with UnitOfWork(database) as uow:
            session = uow.session
            people = {
                identity.external_id: user
                for user, identity in (
                    await session.execute(
                        select(User, UserIdentity).join(UserIdentity, UserIdentity.user_id == User.id)
                    )
                ).all()
            }
            filings = (await session.execute(select(Filing))).scalars().all()
            checks = (await session.execute(select(SelfCheckResult))).scalars().all()
    finally:
        await database.dispose()

    assert len(people) == len(users), f"{len(people)} user rows for {len(users)} people"
    by_user: dict[int, list[Filing]] = {}
    for filing in filings:
        by_user.setdefault(filing.user_id, []).append(filing)
    checks_by_id = {c.id: c for c in checks}
    numbers = Counter(f.number for f in filings if f.number)
    assert all(n == 1 for n in numbers.values()), f"filing numbers given twice: {numbers.most_common(3)}"

    for user, outcome in zip(users, outcomes, strict=True):
        try:
            _check_user(user, outcome, people, by_user, checks_by_id)
        except AssertionError as exc:
            raise AssertionError(f"{exc}\n{user.describe()}") from exc


def _check_user(
    user: ScriptedUser,
    outcome: Outcome,
    people: dict[str, User],
    by_user: dict[int, list[Filing]],
    checks_by_id: dict[int | None, SelfCheckResult],
) -> None:
    plan, who = user.plan, f"user {user.plan.user_id}"
    acked = outcome.acked
    # Registration: every answer acknowledged, and the profile as entered.
    person = people[str(plan.user_id)]
    assert set(acked["registration"]) == {"name", "city", "county", "unit", "position"}, (who, acked)
    assert person.registered_at is not None, who
    assert (person.name, person.unit_code, person.position) == (
        acked["registration"]["name"],
        acked["registration"]["unit"],
        acked["registration"]["position"],
    ), who

    # Pre-filing: one filing row, submitted, with every acknowledged answer and exactly the plan.
    rows = by_user.get(person.id or 0, [])
    assert len(rows) == 1, f"{who} has {len(rows)} filing rows: {[(f.id, f.status, f.title) for f in rows]}"
    (filing,) = rows
    assert filing.status == "submitted" and filing.number == outcome.filing_number, (
        who,
        filing.status,
        filing.number,
        outcome.filing_number,
    )
    answers = {k: files_as_compared(v) for k, v in filing.answers.items()}
    for step, value in acked["filing"].items():
        if step != "summary":
            assert answers.get(step) == files_as_compared(value), (who, step, answers.get(step), value)
    assert answers == {k: files_as_compared(v) for k, v in stored_filing(plan).items()}, who
    assert filing.title == plan.filing["title"], who

    # Self-check: the result the user saved holds the answers of that run and the verdict shown.
    assert outcome.selfcheck_id is not None, who
    record = checks_by_id.get(outcome.selfcheck_id)
    assert record is not None and record.user_id == person.id and record.saved, (who, record)
    assert record.mode == "standalone" and record.verdict == outcome.verdict, (who, record.verdict)
    assert record.answers == acked["selfcheck"], (who, record.answers, acked["selfcheck"])
    assert all(plan.selfcheck[q] == v for q, v in record.answers.items()), who


async def test_a_redelivered_update_changes_nothing(
    database_url: str, tmp_path: Path, clock: ManualClock
) -> None:
    """What the drill's kills provoke, made deterministic: Telegram hands over again updates that
    a dead process had applied but not confirmed. They must leave the dialog as it was, and send
    nothing (the person saw their answers already)."""
    async with emulator_running() as emulator:
        runtime = await build_runtime(load_settings(database_url=database_url, data_dir=tmp_path), clock)
        application = build_application(
            emulator.token, emulator.base_url, emulator.base_file_url, polling=True
        )
        channel = TelegramChannel(application, runtime.conversations, runtime.clock)
        await channel.start(polling=True)

        async def redeliver(update: dict[str, Any]) -> None:
            # As the updater does with a fetched batch: the same update, its update_id included.
            await application.update_queue.put(Update.de_json(copy.deepcopy(update), application.bot))

        try:
            user = emulator.user(1001)
            await register(user)
            await say(user, "/new")
            new_update = emulator.updates[-1]
            await tap(user, "个人报备")
            await say(user, "杨桥片区批而未供土地盘活项目")
            await tap(user, "K1 推进项目建设")
            situations = user.messages[-1]
            user.press("☐ S1 执行上级决策部署出现偏差")
            toggle_update = emulator.updates[-1]
            ticked = await user.wait_for_edit(situations["message_id"])
            assert "✅ 选好了（已选 3 项）" in button_labels(ticked)

            # Applied again, the tick would untick S1 and /new would open a second, empty draft,
            # dropping the answers given since. The person's next press is handled after both.
            await redeliver(toggle_update)
            await redeliver(new_update)
            assert "请说明事项背景" in await tap(user, "✅ 选好了（已选 3 项）")
            await user.assert_no_new_messages()
            marked = next(m for m in user.messages if m["message_id"] == situations["message_id"])
            assert message_text(marked).endswith("→ ✅ 选好了（已选 3 项）")
            async with UnitOfWork(runtime.database) as uow:
                (filing,) = (await uow.session.execute(select(Filing))).scalars().all()
            assert filing.status == "draft" and filing.answers["situations"] == ["S1", "S4", "S6"]
        finally:
            await channel.stop()
            await runtime.database.dispose()
