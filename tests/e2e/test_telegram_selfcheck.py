"""The self-check dialog through python-telegram-bot against the Bot API emulator."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from dialogs.policy.pack import load_pack
from storage.models import SelfCheckResult
from storage.uow import UnitOfWork
from tests.e2e.telegram_harness import bot_in_process, emulator_running
from tests.e2e.test_telegram_prefiling import register, say, tap
from tests.emulator import button_labels
from tests.seeds import SEEDS as SEED_COPY

SEEDS = SEED_COPY


@pytest.mark.skipif(not SEEDS.exists(), reason=f"{SEEDS} not found")
async def test_the_bullfrog_case_by_chat(database_url: str, tmp_path: Path, clock: ManualClock) -> None:
    pack = load_pack("yunnan")
    case = next(c for c in json.loads(SEEDS.read_text(encoding="utf-8")) if c["id"] == "yn-s1-bullfrog")
    async with (
        emulator_running() as emulator,
        bot_in_process(emulator, database_url, tmp_path, clock) as runtime,
    ):
        user = emulator.user(1001)
        await register(user)
        said = await say(user, "/selfcheck")
        assert "第 1/23 题" in said
        why = await tap(user, "❔ 为什么问这个")
        assert "为什么问这个：" in why

        while "容错自查结果" not in said:
            question = next(q for q in pack.questions if q.text["zh_CN"] in said)
            values = [c.value for c in question.choices]
            value = case["facts"].get(question.id, "unsure" if "unsure" in values else values[0])
            label = next(c.label["zh_CN"] for c in question.choices if c.value == value)
            said = await tap(user, label)

        assert "可能符合容错情形" in said and "S1 " in said and "可能免责" in said
        assert "由纪委监委依规依纪依法认定" in said
        result = user.messages[-1]
        assert button_labels(result) == ["📝 据此开始报备", "💾 保存结果", "🔁 重新自查"]
        assert "自查结果已保存" in await tap(user, "💾 保存结果")
        async with UnitOfWork(runtime.database) as uow:
            (record,) = (await uow.session.execute(select(SelfCheckResult))).scalars().all()
        assert record.saved and record.verdict == "tolerable"
        assert record.result["situations"] == ["S1"] and record.result["disposition_hint"] == "exempt"
        assert record.policy_version == pack.version
