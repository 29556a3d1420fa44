"""/stats and `rongcuo stats` against the hand-computed figures of tests/db/stats_data.py, who may see
what, and the figures the services store at write time (submission, initial review, decision)."""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from bot.services.stats.compute import compute_stats
from dialogs import menus
from dialogs.policy.evaluator import evaluate
from storage.models import AuditEntry, Filing, SelfCheckResult, ToleranceReview
from storage.repositories.stats import StatsQuery
from storage.uow import UnitOfWork
from tests.db import stats_data
from tests.db.talker import Talker
from tests.e2e.test_cli import rongcuo

ROOT = Path(__file__).resolve().parents[2]


async def _people(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    await runtime.admin.grant(2001, "officer", stats_data.SONGMING, by="test")
    await runtime.admin.grant(3001, "admin", None, by="test")
    people = {
        "cadre": Talker(runtime, clock, "1001"),
        "officer": Talker(runtime, clock, "2001"),
        "admin": Talker(runtime, clock, "3001"),
    }
    for key, name in (("cadre", "张三"), ("officer", "王纪"), ("admin", "管理员")):
        await people[key].register(name=name)
    return people


async def _user_id(runtime: Runtime, external_id: str) -> int:
    async with UnitOfWork(runtime.database) as uow:
        found = await uow.users.by_identity("telegram", external_id)
    assert found is not None and found[0].id is not None
    return found[0].id


@pytest.fixture
async def seeded(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    people = await _people(runtime, clock)
    await stats_data.seed(runtime, await _user_id(runtime, "1001"), await _user_id(runtime, "2001"))
    return people


async def test_the_officer_sees_the_figures_of_the_own_jurisdiction(seeded: dict[str, Talker]) -> None:
    said = await seeded["officer"].text("/stats 2026")
    lines = said.splitlines()
    assert lines[0] == "📊 容错纠错统计｜2026年｜嵩明县"
    assert lines[1] == "（数据截至 2026-11-23 09:30）"
    # The seed's "51 received, 34 formally accepted" line, with the rest of the funnel.
    assert (
        "【报备】收到报备 51 件，正式受理 34 件，不予受理 14 件，退回补正待补充 1 件，待初审 1 件，"
        "受理前撤回 1 件；受理率 70.8%（按已作出受理或不予受理决定的计）。"
    ) in lines
    assert (
        "初审用时（按工作时间计）：中位数 6.0 小时，已作出初审 49 件；超过时限 19 件（逾期作出 18 件，逾期尚未初审 1 件）。"
    ) in lines
    assert "  4小时以内 18｜4小时至1个工作日 11｜1至2个工作日 17｜超过2个工作日 3" in lines
    assert "K1 推进项目建设：收到 20，受理 15，不予受理 5" in lines
    assert "K6 招商引资、重点产业发展：收到 29，受理 18，不予受理 8" in lines
    assert "K9 民生工程：收到 2，受理 1，不予受理 1" in lines
    assert "K2 处置突发事件：收到 0，受理 0，不予受理 0" in lines
    assert "S4 重点领域关键环节积极作为：49 件" in lines
    assert "S6 改革创新中探索：20 件" in lines
    assert "S3 急难险重任务中勇于担当：2 件" in lines
    assert "S1 执行上级决策部署出现偏差：0 件" in lines
    # Unit-level cells of 1 or 2 are hidden.
    units = lines[lines.index("【按单位】（为保护个人信息，1至2件的数字显示为“<3”）") + 1 :][:3]
    assert units == [
        "杨桥街道办事处：收到 40，受理 31，不予受理 7",
        "嵩阳街道办事处：收到 9，受理 <3，不予受理 6",
        "杨林镇：收到 <3，受理 <3，不予受理 <3",
    ]
    assert "2026-01：收到 24，受理 18，不予受理 6，退回补正 0，待初审 0" in lines
    assert "2026-02：收到 22，受理 16，不予受理 6，退回补正 0，待初审 0" in lines
    assert "2026-03：收到 4，受理 0，不予受理 2，退回补正 1，待初审 0" in lines
    assert "2026-07：收到 0，受理 0，不予受理 0，退回补正 0，待初审 0" in lines
    assert "2026-11：收到 1，受理 0，不予受理 0，退回补正 0，待初审 1" in lines
    assert (
        "【容错认定】本期启动 6 件：报备事项出现偏差（关联报备） 2，收到举报 3，审计发现 1，巡视巡察发现 0，"
        "干部本人或单位申请 0"
    ) in lines
    assert "本期作出认定 6 件：容错免责 2，容错减责（从轻、减轻） 1，不予容错 2，澄清正名 1" in lines
    assert (
        "自查参考结论与认定结果一致 3/4（75.0%）；另有 2 件无法比较（自查结论待定、未自查或澄清正名）。"
    ) in lines
    assert (
        "【整改】本期下达 7 项：未完成 3 项（其中已逾期 1 项），已完成 4 项；按期验收率 66.7%（2/3）；延期 1 项。"
    ) in lines
    assert "【回访】本期应回访 5 次：按期完成 2 次，逾期完成 1 次，逾期未回访 1 次，今日到期 1 次。" in lines
    # One jurisdiction: period buttons only.
    assert seeded["officer"].labels() == ["本月", "本季度", "✓ 本年", "全部时间"]


async def test_every_figure_against_the_hand_computed_ones(
    runtime: Runtime, seeded: dict[str, Talker], clock: ManualClock
) -> None:
    query = StatsQuery(date(2026, 1, 1), date(2026, 12, 31), (stats_data.SONGMING,), now=clock.now())
    async with UnitOfWork(runtime.database) as uow:
        figures = (await compute_stats(uow, query, categories=["K1", "K6", "K9"])).to_dict()
    assert figures["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert figures["filings"] == {
        "received": 51,
        "accepted": 34,
        "not_accepted": 14,
        "returned": 1,
        "pending": 1,
        "withdrawn": 1,
        "acceptance_rate": 0.7083,  # 34 / 48
    }
    assert [(c["category"], c["received"], c["accepted"]) for c in figures["categories"]] == [
        ("K1", 20, 15),
        ("K6", 29, 18),
        ("K9", 2, 1),
    ]
    assert sorted((s["situation"], s["claimed"]) for s in figures["situations"]) == [
        ("S3", 2),
        ("S4", 49),
        ("S6", 20),
    ]
    assert [(u["unit_code"], u["received"], u["accepted"], u["not_accepted"]) for u in figures["units"]] == [
        (stats_data.U1, 40, 31, 7),
        (stats_data.U2, 9, 2, 6),
        (stats_data.U3, 2, 1, 1),
    ]
    months = {
        m["month"]: (m["received"], m["accepted"], m["not_accepted"], m["returned"], m["pending"])
        for m in figures["by_month"]
    }
    assert list(months) == [f"2026-{m:02d}" for m in range(1, 13)]
    assert months["2026-01"] == (24, 18, 6, 0, 0)  # includes the filing of 01-01 00:30 (2025-12-31 UTC)
    assert months["2026-02"] == (22, 16, 6, 0, 0)
    assert months["2026-03"] == (4, 0, 2, 1, 0)
    assert months["2026-11"] == (1, 0, 0, 0, 1)
    assert sum(m[0] for m in months.values()) == 51
    assert figures["review_time"] == {
        "decided": 49,
        "median_work_hours": 6.0,
        "sla_breaches": 19,
        "late_decisions": 18,
        "waiting_past_deadline": 1,
        "histogram": [
            {"bucket": "le_4h", "count": 18},
            {"bucket": "4h_1d", "count": 11},
            {"bucket": "1d_2d", "count": 17},
            {"bucket": "gt_2d", "count": 3},
        ],
    }
    assert figures["reviews"] == {
        "opened": 6,
        "decided": 6,
        "by_source": {"linked_filing": 2, "complaint": 3, "audit": 1, "inspection": 0, "self_application": 0},
        "by_outcome": {"exempt": 2, "mitigate": 1, "not_tolerated": 2, "cleared": 1},
    }
    assert figures["verdict_match"] == {"decided": 6, "comparable": 4, "matched": 3, "share": 0.75}
    assert figures["rectification"] == {
        "total": 7,
        "open": 3,
        "closed": 4,
        "accepted": 3,
        "accepted_on_time": 2,
        "on_time_rate": 0.6667,
        "overdue_now": 1,
        "extended": 1,
    }
    assert figures["visits"] == {"due": 5, "done_on_time": 2, "done_late": 1, "overdue": 1, "due_today": 1}


async def test_the_admin_sees_every_jurisdiction_and_can_narrow_it(seeded: dict[str, Talker]) -> None:
    admin = seeded["admin"]
    said = await admin.text("/stats 2026")
    assert said.splitlines()[0] == "📊 容错纠错统计｜2026年｜全部辖区"
    # 嵩明 51 + 安宁 5 received; 34 + 4 accepted; 14 not accepted: 38 / 52 = 73.1%.
    assert "【报备】收到报备 56 件，正式受理 38 件，不予受理 14 件，退回补正待补充 1 件，待初审 2 件" in said
    assert "73.1%" in said
    labels = admin.labels()
    assert labels[:4] == ["本月", "本季度", "✓ 本年", "全部时间"]
    assert "✓ 全部辖区" in labels and "安宁" in labels and "嵩明" in labels
    said = await admin.press("安宁")
    assert said.splitlines()[0] == "📊 容错纠错统计｜2026年｜安宁市"
    assert "【报备】收到报备 5 件，正式受理 4 件，不予受理 0 件，退回补正待补充 0 件，待初审 1 件" in said
    # 1.0, 2.0, 3.0 and 4.0 hours: the mean of the middle two.
    assert "中位数 2.5 小时，已作出初审 4 件；超过时限 0 件" in said
    assert "✓ 安宁" in admin.labels()
    said = await admin.press("全部时间")
    assert said.splitlines()[0] == "📊 容错纠错统计｜全部时间｜安宁市"


async def test_the_officer_may_not_look_at_another_jurisdiction(
    runtime: Runtime, seeded: dict[str, Talker]
) -> None:
    officer = seeded["officer"]
    for asked in ("/stats 2026 @530181", "/stats 2026 安宁市", "/stats 安宁"):
        said = await officer.text(asked)
        assert said == "抱歉，您只能查看本人负责辖区（嵩明县）的统计。", asked
    async with UnitOfWork(runtime.database) as uow:
        denied = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.subject_type == "stats")))
            .scalars()
            .all()
        )
    assert (denied[0].action, denied[0].subject_id) == ("access.denied", "530181")
    assert len(denied) == 3
    said = await officer.text("/stats 2026 @530127")
    assert said.splitlines()[0] == "📊 容错纠错统计｜2026年｜嵩明县"


async def test_a_cadre_is_refused_every_officer_and_admin_command(seeded: dict[str, Talker]) -> None:
    cadre = seeded["cadre"]
    restricted = [c.name for c in menus.COMMANDS if c.audience not in (menus.ANYONE, menus.REGISTERED)]
    assert "stats" in restricted and "users" in restricted
    for name in restricted:
        said = await cadre.text(f"/{name}")
        assert said == f"抱歉，您没有使用 /{name} 的权限。如有需要请联系管理员。", name
    # Nor does a button carrying /stats get round it.
    said = await cadre.send_action("/stats all @all")
    assert said == "抱歉，您没有使用 /stats 的权限。如有需要请联系管理员。"


async def test_bad_input_gets_a_polite_answer_in_the_users_language(seeded: dict[str, Talker]) -> None:
    officer = seeded["officer"]
    said = await officer.text("/stats 2026-13")
    assert said == "抱歉，“2026-13”中的月份不对：月份应在 1 到 12 之间。"
    assert officer.labels() == ["本月", "本季度", "本年", "全部时间"]
    said = await officer.text("/stats 2026-06..2026-01")
    assert said == "抱歉，起始时间 2026-06 晚于结束时间 2026-01，请把先后顺序对调后再试。"
    said = await officer.text("/stats @北京")
    assert said == "抱歉，找不到名为“北京”的县（市、区）。请用代码（如 530127）或名称（如 嵩明县）。"
    await officer.text("/lang")
    await officer.press("English")
    said = await officer.text("/stats yesterday")
    assert said.startswith('Sorry, I cannot read "yesterday" as a period.')
    said = await officer.text("/stats 2026-01..2026-06")
    assert said.splitlines()[0] == "📊 Tolerance and correction statistics | 1/2026 to 6/2026 | 嵩明县"
    assert "[Filings] 50 received, 34 formally accepted, 14 not accepted" in said


async def test_period_buttons_compute_the_figures_again(seeded: dict[str, Talker]) -> None:
    officer = seeded["officer"]
    await officer.text("/stats")
    said = await officer.press("本季度")
    assert said.splitlines()[0] == "📊 容错纠错统计｜2026年第4季度｜嵩明县"
    # Only filing F (2026-11-18) was submitted in the fourth quarter.
    assert "【报备】收到报备 1 件，正式受理 0 件，不予受理 0 件，退回补正待补充 0 件，待初审 1 件" in said
    said = await officer.press("全部时间")
    # The 2025-12-31 23:30 filing joins: 52 received, 35 accepted.
    assert "【报备】收到报备 52 件，正式受理 35 件" in said
    assert "2025-12：收到 1，受理 1，不予受理 0，退回补正 0，待初审 0" in said


async def test_an_officer_of_two_jurisdictions_gets_both_and_a_choice(
    runtime: Runtime, seeded: dict[str, Talker]
) -> None:
    await runtime.admin.grant(2001, "officer", stats_data.ANNING, by="test")
    officer = seeded["officer"]
    said = await officer.text("/stats 2026")
    assert said.splitlines()[0] == "📊 容错纠错统计｜2026年｜嵩明县、安宁市"
    assert "收到报备 56 件，正式受理 38 件" in said
    assert officer.labels()[4:] == ["✓ 全部辖区", "嵩明", "安宁"]


async def test_write_time_figures_from_submission_and_initial_review(
    runtime: Runtime, clock: ManualClock
) -> None:
    people = await _people(runtime, clock)
    cadre, officer = people["cadre"], people["officer"]
    await cadre.fill_prefiling()
    await cadre.press("✅ 确认无误，提交报备")  # Monday 2026-11-23 09:30
    clock.advance(timedelta(hours=26))  # Tuesday 11:30
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
    await officer.text(f"/accept {filing.id}")
    await officer.press("🟢 绿色：低风险，备案即可")
    await officer.press("跳过")
    await officer.press("✅ 确认受理")
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
    assert filing.status == "accepted" and filing.submitted_month == 202611
    # Mon 09:30-12:00 2.5 h + 13:30-17:30 4 h, Tue 09:00-11:30 2.5 h = 9 office hours; due end of Tue.
    assert filing.review_work_hours == 9.0 and filing.review_late is False
    assert filing.situation_mask == 0b101000  # S4 and S6, K1's situations the cadre kept
    said = await officer.text("/stats month")
    assert "【报备】收到报备 1 件，正式受理 1 件" in said
    assert "中位数 9.0 小时，已作出初审 1 件；超过时限 0 件" in said
    assert "S4 重点领域关键环节积极作为：1 件" in said


async def test_a_decision_records_the_advisory_verdict(
    runtime: Runtime, accepted: dict[str, Talker], clock: ManualClock
) -> None:
    async with UnitOfWork(runtime.database) as uow:
        filing = (await uow.session.execute(select(Filing))).scalars().one()
        # The first seed case of DOMAIN.md §6.5: tolerable under S1.
        facts = json.loads((ROOT / "tests" / "data" / "selfcheck-seed-cases.json").read_text())[0]["facts"]
        evaluation = evaluate(runtime.env.policy, facts)
        assert evaluation.verdict == "tolerable"
        check = SelfCheckResult(
            user_id=filing.user_id,
            mode="standalone",
            answers=facts,
            result=evaluation.to_json(),
            verdict=evaluation.verdict,
            policy_id=runtime.env.policy.id,
            policy_version=runtime.env.policy.version,
            created_at=clock.now(),
        )
        uow.session.add(check)
        await uow.session.flush()
        filing.selfcheck_id = check.id
        uow.session.add(filing)
        await uow.commit()
    officer = accepted["officer"]
    await officer.text(f"/filing {filing.id}")
    await officer.press("⚖ 启动容错认定")
    await officer.press("收到举报")
    await officer.text("群众反映该项目未批先建，存在违规用地。")
    await officer.press("✅ 启动认定")
    await officer.press("📝 记录核查情况")
    await officer.text("经核查，项目经党工委集体研究，动机为公，未谋取私利，已及时补办手续。")
    await officer.press("✅ 提交审定")
    await officer.press("⚖ 记录会议决定")
    await officer.text("2026-11-23")
    await officer.text("联席会议认为该事项符合容错情形，依规认定。")
    await officer.press("不予容错")
    await officer.press("✅ 确认认定")
    async with UnitOfWork(runtime.database) as uow:
        review = (await uow.session.execute(select(ToleranceReview))).scalars().one()
    assert review.outcome == "not_tolerated" and review.advisory_verdict == "tolerable"
    said = await officer.text("/stats")
    assert "本期作出认定 1 件：容错免责 0，容错减责（从轻、减轻） 0，不予容错 1，澄清正名 0" in said
    assert "自查参考结论与认定结果一致 0/1（0.0%）" in said


async def test_the_command_line_prints_the_same_figures_as_json(
    runtime: Runtime, seeded: dict[str, Talker], database_url: str, tmp_path: Path
) -> None:
    env = {"RONGCUO_DATABASE_URL": database_url, "RONGCUO_DATA_DIR": str(tmp_path / "cli")}
    args = ("--from", "2026-01-01", "--to", "2026-12-31")
    done = rongcuo("stats", "--json", *args, "--jurisdiction", stats_data.ANNING, cwd=tmp_path, env=env)
    assert done.returncode == 0, done.stderr
    figures = json.loads(done.stdout)
    assert figures["period"] == {"from": "2026-01-01", "to": "2026-12-31"}
    assert figures["jurisdictions"] == [stats_data.ANNING]
    assert figures["filings"] == {
        "received": 5,
        "accepted": 4,
        "not_accepted": 0,
        "returned": 0,
        "pending": 1,
        "withdrawn": 0,
        "acceptance_rate": 1.0,
    }
    assert figures["review_time"]["median_work_hours"] == 2.5
    assert figures["review_time"]["histogram"][0] == {"bucket": "le_4h", "count": 4}
    assert {s["situation"]: s["claimed"] for s in figures["situations"]}["S1"] == 5
    assert figures["units"] == [
        {
            "unit_code": stats_data.ANNING_UNIT,
            "received": 5,
            "accepted": 4,
            "not_accepted": 0,
            "returned": 0,
            "pending": 1,
            "withdrawn": 0,
            "acceptance_rate": 1.0,
        }
    ]
    assert figures["reviews"]["by_outcome"]["exempt"] == 1
    everything = json.loads(rongcuo("stats", "--json", *args, cwd=tmp_path, env=env).stdout)
    assert everything["jurisdictions"] is None and everything["filings"]["received"] == 56
    text = rongcuo("stats", *args, "--jurisdiction", stats_data.SONGMING, cwd=tmp_path, env=env)
    assert "【报备】收到报备 51 件，正式受理 34 件" in text.stdout

    wrong = rongcuo("stats", "--json", "--jurisdiction", "530127002", cwd=tmp_path, env=env)
    assert wrong.returncode == 2
    assert wrong.stderr.strip().endswith("--jurisdiction: 530127002 is not a county/district code")
    reversed_ = rongcuo("stats", "--from", "2026-06-01", "--to", "2026-01-01", cwd=tmp_path, env=env)
    assert reversed_.returncode == 2 and "--from 2026-06-01 is after --to 2026-01-01" in reversed_.stderr
