"""Importing the organisation directory in the chat: the dry run's report, the confirmation, the
directory in use at once, and still in use after a restart (the shipped YAML does not come back)."""

from __future__ import annotations

from pathlib import Path

import yaml
from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime, build_runtime
from bot.services.directory import DIRECTORY, IMPORTED
from bot.services.directory_import import apply
from dialogs.directory import OrgUnit
from dialogs.directory_import import write_xlsx
from dialogs.events import Attachment, parse_document
from storage.models import AuditEntry, OrgUnitRow
from storage.uow import UnitOfWork
from tests.db.talker import Talker

ROOT = Path(__file__).resolve().parents[2]
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


class FakeTelegramFiles:
    """What the Bot API would hand out for each file_id."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def __call__(self, file_id: str) -> bytes:
        return self.files[file_id]


def new_directory(runtime: Runtime) -> bytes:
    """The shipped directory without 杨桥 (where our people work) and 杨林镇, with 530127001 renamed,
    and with a new district of one unit."""
    units = [u for u in runtime.directory if u.code not in ("530127002", "530127003")]
    units = [
        OrgUnit(u.code, "嵩阳街道", u.level, u.parent_code) if u.code == "530127001" else u for u in units
    ]
    units += [
        OrgUnit("530199", "滇池新区", "county", "5301", "新区"),
        OrgUnit("530199001", "新区管委会", "unit", "530199"),
    ]
    return write_xlsx(units)


async def _admin(runtime: Runtime, clock: ManualClock) -> tuple[Talker, FakeTelegramFiles]:
    files = FakeTelegramFiles()
    runtime.files.telegram = files
    await runtime.admin.grant(9001, "admin", None, by="test")
    admin = Talker(runtime, clock, "9001")
    await admin.register(name="李管")
    return admin, files


def _document(clock: ManualClock, file_id: str, name: str, data: bytes, mime: str = XLSX) -> Attachment:
    return Attachment(clock.now(), "document", file_id, name, mime, len(data))


async def test_import_with_caption_confirm_and_restart(runtime: Runtime, clock: ManualClock) -> None:
    admin, files = await _admin(runtime, clock)
    files.files["f1"] = new_directory(runtime)
    said = await admin.send(parse_document(_document(clock, "f1", "名录.xlsx", files.files["f1"]), "/import"))
    assert said.splitlines() == [
        # The shipped 7 cities, 24 counties, 197 units; less two units, plus a district and its unit.
        "《名录.xlsx》检查通过：共 228 条（7 个市、25 个县（市、区）、196 个单位）。",
        "导入后将新增 2 条、更新 1 条、停用 2 条（停用的单位保留记录，但不能再被选择）。",
        "停用的单位中有 1 个仍被用户、报备或纪检监察干部的辖区引用：530127002",
        "确认导入吗？",
    ]
    assert admin.labels() == ["✅ 确认导入", "取消"]
    assert runtime.directory.get("530199") is None  # a dry run changes nothing
    said = await admin.press("✅ 确认导入")
    assert said == "已导入《名录.xlsx》：新增 2 条、更新 1 条、停用 2 条。新名录立即生效，重启后仍然保留。"
    # In use at once: a newcomer registers in the new district.
    newcomer = Talker(runtime, clock, "1005")
    await newcomer.register(name="赵新", county="滇池新区", unit="新区管委会")
    assert runtime.directory.get("530127002") is None
    async with UnitOfWork(runtime.database) as uow:
        rows = {r.code: r for r in await uow.org_units.every()}
        entry = await uow.audit.latest(DIRECTORY, IMPORTED)
    assert rows["530127002"].active is False and rows["530127001"].name == "嵩阳街道"
    assert entry is not None and entry.data["added"] == 2 and entry.data["deactivated"] == 2

    # A restart (same settings: the shipped YAML is still the configured file) keeps the import.
    again = await build_runtime(runtime.settings, clock)
    try:
        assert again.directory.get("530199") is not None
        assert again.directory.get("530127002") is None
        assert again.directory.get("530127001").name == "嵩阳街道"  # type: ignore[union-attr]
    finally:
        await again.database.dispose()


async def test_import_after_the_command_and_bad_rows(runtime: Runtime, clock: ManualClock) -> None:
    admin, files = await _admin(runtime, clock)
    said = await admin.text("/import")
    assert said.startswith("请发送组织名录文件（YAML 或 XLSX，不超过 5 MB）")
    said = await admin.text("这是名录")
    assert "这一步需要发送名录文件，您发送的是文字" in said
    said = await admin.send(_document(clock, "p1", "名录.pdf", b"%PDF", "application/pdf"))
    assert "“名录.pdf”不是 .yaml、.yml 或 .xlsx 文件" in said
    shipped = yaml.safe_load((ROOT / "dialogs" / "data" / "org_directory.yaml").read_text(encoding="utf-8"))
    county = shipped["cities"][0]["counties"][0]
    county["units"][1]["code"] = county["units"][0]["code"]  # a duplicate
    county["units"][2]["name"] = ""  # no name
    text = yaml.safe_dump(shipped, allow_unicode=True, sort_keys=False)
    files.files["y1"] = text.encode()
    lines = text.splitlines()
    first = lines.index("    - code: '530102001'") + 1  # 1-based lines of the entries
    said = await admin.send(_document(clock, "y1", "bad.yaml", files.files["y1"], "application/x-yaml"))
    assert said.splitlines() == [
        "《bad.yaml》有 2 处问题：",
        f"· 第 {first + 2} 行：代码“530102001”重复，第 {first} 行已经使用。",
        f"· 第 {first + 4} 行：缺少名称。",
        "没有导入任何内容。",
        "请修改文件后重新发送 /import。",
    ]
    assert admin.labels() == []  # nothing to confirm
    async with UnitOfWork(runtime.database) as uow:
        assert await uow.audit.latest(DIRECTORY, IMPORTED) is None
    # The dialog ended with the report; a plain text now is an ordinary message again.
    assert "请发送组织名录文件" not in await admin.text("你好")


async def test_a_confirmation_must_be_fresh_and_ones_own(runtime: Runtime, clock: ManualClock) -> None:
    admin, files = await _admin(runtime, clock)
    await runtime.admin.grant(9002, "admin", None, by="test")
    other = Talker(runtime, clock, "9002")
    await other.register(name="周管")
    files.files["f1"] = new_directory(runtime)
    await admin.send(parse_document(_document(clock, "f1", "名录.xlsx", files.files["f1"]), "/import"))
    action = admin.action("✅ 确认导入")
    expired = "这次检查已失效（超过 24 小时、文件已变化，或不是您发起的）。请重新发送 /import。"
    assert await other.send_action(action) == expired
    files.files["f1"] = files.files["f1"] + b"changed"  # the same id now gives other bytes
    assert await admin.send_action(action) == expired
    async with UnitOfWork(runtime.database) as uow:
        assert await uow.audit.latest(DIRECTORY, IMPORTED) is None
        checked = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "directory.checked")))
            .scalars()
            .all()
        )
        active = len([r for r in await uow.org_units.every() if r.active])
    assert [c.data["file"] for c in checked] == ["名录.xlsx"] and active == 228
    assert await admin.send_action("/import ~no") == "已取消导入，组织名录未做任何更改。"


async def test_the_start_up_sync_still_runs_until_an_import(runtime: Runtime, clock: ManualClock) -> None:
    async with UnitOfWork(runtime.database) as uow:
        row = await uow.session.get(OrgUnitRow, "530127001")
        assert row is not None
        row.name = "改过的名字"
        await uow.commit()
    again = await build_runtime(runtime.settings, clock)
    try:
        assert again.directory.get("530127001").name != "改过的名字"  # type: ignore[union-attr]
    finally:
        await again.database.dispose()


async def test_another_process_picks_up_an_import_on_reload(runtime: Runtime, clock: ManualClock) -> None:
    other = await build_runtime(runtime.settings, clock)  # a second process on the same database
    try:
        async with UnitOfWork(other.database) as uow:
            report = await apply(
                uow, clock.now(), "名录.xlsx", new_directory(runtime), actor_user_id=None, actor_label="cli"
            )
            await uow.commit()
        assert report.ok and (report.added, report.updated, len(report.deactivated)) == (2, 1, 2)
        assert runtime.directory.get("530199") is None  # this process still serves what it loaded
        await runtime.live.reload(runtime.database)  # what its reload tick does every minute
        assert runtime.directory.get("530199") is not None and runtime.directory.get("530127002") is None
        # The administration service reads the same live directory: the new district is a county.
        assert await runtime.admin.grant(2001, "officer", "530199", by="test")
    finally:
        await other.database.dispose()
