"""Officers read filings of their jurisdiction with the self-check grouped by review dimension,
rendered against the exact policy pack version the cadre was checked with."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import select

from bot.clock import ManualClock
from bot.config import load_settings
from bot.runtime import Runtime, build_runtime
from storage.models import Filing
from storage.uow import UnitOfWork
from tests.db.talker import Talker

ROOT = Path(__file__).resolve().parents[2]


async def submit_with_selfcheck(talker: Talker) -> Filing:
    await talker.register()
    await talker.fill_prefiling()
    said = await talker.press("🧭 提交前先做容错自查")
    while "请核对报备内容" not in said:
        labels = talker.labels()
        said = await talker.press("是" if "是" in labels else labels[0])
    await talker.press("✅ 确认无误，提交报备")
    async with UnitOfWork(talker.runtime.database) as uow:
        return (await uow.session.execute(select(Filing))).scalars().one()


async def test_officer_of_the_jurisdiction_sees_the_evaluation_by_dimension(
    runtime: Runtime, clock: ManualClock
) -> None:
    cadre = Talker(runtime, clock, "1001")
    filing = await submit_with_selfcheck(cadre)
    await runtime.admin.grant(2001, "officer", "530127", by="test")
    await runtime.admin.grant(2002, "officer", "530181", by="test")  # another county
    officer, stranger = Talker(runtime, clock, "2001"), Talker(runtime, clock, "2002")
    for talker, name in ((officer, "纪检甲"), (stranger, "纪检乙")):
        await talker.register(name=name)

    shown = await officer.text(f"/filing {filing.id}")
    assert "报备 嵩明-2026-0001" in shown and "报备人：张三（昆明市 / 嵩明县 / 杨桥街道办事处）" in shown
    assert "【容错自查（参考）】" in shown and "自查答案（按审查维度）" in shown
    for dimension in ("R1 ", "R2 ", "R3 ", "R4 ", "R6 "):
        assert dimension in shown, dimension
    assert "↩ 撤回报备" not in officer.labels()  # officers read; only the cadre withdraws

    refused = await stranger.text(f"/filing {filing.id}")
    assert "无权查看" in refused and "杨桥片区" not in refused
    # The cadre's own view has no dimension breakdown but can withdraw.
    own = await cadre.text(f"/filing {filing.id}")
    assert "自查答案（按审查维度）" not in own and "↩ 撤回报备" in cadre.labels()


async def test_an_old_filing_still_shows_the_pack_it_was_checked_against(
    runtime: Runtime, clock: ManualClock, database_url: str, tmp_path: Path
) -> None:
    cadre = Talker(runtime, clock, "1001")
    filing = await submit_with_selfcheck(cadre)
    old_version = runtime.conversations.env.policy.version
    await runtime.admin.grant(2001, "officer", "530127", by="test")

    # The locality replaces its pack: a question is reworded, so the version changes.
    text = (ROOT / "dialogs" / "policy" / "packs" / "yunnan.yaml").read_text(encoding="utf-8")
    old_question = "出发点是否为推动工作、服务群众等公共利益？"
    assert old_question in text
    new_pack = tmp_path / "yunnan-2027.yaml"
    new_pack.write_text(text.replace(old_question, "出发点是否为公共利益（2027 年修订）？"), encoding="utf-8")
    settings = load_settings(database_url=database_url, data_dir=tmp_path / "d2", policy_pack=str(new_pack))
    later = await build_runtime(settings, clock)
    try:
        assert later.conversations.env.policy.version != old_version
        officer = Talker(later, clock, "2001")
        await officer.register(name="纪检甲")
        shown = await officer.text(f"/filing {filing.id}")
        assert f"yunnan {old_version}" in shown
        assert old_question in shown and "2027 年修订" not in shown
    finally:
        await later.database.dispose()
