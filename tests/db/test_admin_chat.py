"""Administration in the chat: /grant, /revoke, /move and /users, as an administrator taps through
them, and every refusal they can meet."""

from __future__ import annotations

from sqlalchemy import select

from bot.clock import ManualClock
from bot.runtime import Runtime
from storage.models import AuditEntry, OutboxMessage, User
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def _people(runtime: Runtime, clock: ManualClock) -> dict[str, Talker]:
    """An administrator 李管 and two cadres, 张三 and 王五, all registered."""
    await runtime.admin.grant(9001, "admin", None, by="test")
    people = {
        "admin": Talker(runtime, clock, "9001"),
        "zhang": Talker(runtime, clock, "1001"),
        "wang": Talker(runtime, clock, "1002"),
    }
    for key, name in (("admin", "李管"), ("zhang", "张三"), ("wang", "王五")):
        await people[key].register(name=name)
    return people


async def _user(runtime: Runtime, telegram_id: str) -> User:
    async with UnitOfWork(runtime.database) as uow:
        found = await uow.users.by_identity("telegram", telegram_id)
        assert found is not None
        return found[0]


async def _roles(runtime: Runtime, telegram_id: str) -> list[tuple[str, str]]:
    user = await _user(runtime, telegram_id)
    async with UnitOfWork(runtime.database) as uow:
        return sorted((g.role, g.jurisdiction_code) for g in await uow.users.roles(user.id or 0))


async def _notices(runtime: Runtime, telegram_id: str) -> list[str]:
    async with UnitOfWork(runtime.database) as uow:
        rows = (
            (await uow.session.execute(select(OutboxMessage).where(OutboxMessage.chat_id == telegram_id)))
            .scalars()
            .all()
        )
    return [str(r.payload["text"]) for r in rows]


async def _audit(runtime: Runtime, telegram_id: str) -> list[tuple[str, int | None, str | None, str | None]]:
    user = await _user(runtime, telegram_id)
    async with UnitOfWork(runtime.database) as uow:
        entries = await uow.audit.for_subject("user", user.id or 0)
    return [
        (e.action, e.actor_user_id, e.from_state, e.to_state) for e in entries if e.action.startswith("role.")
    ]


async def test_grant_officer_by_buttons_city_then_county_then_confirm(
    runtime: Runtime, clock: ManualClock
) -> None:
    people = await _people(runtime, clock)
    admin = people["admin"]
    said = await admin.text("/grant")
    assert "授予角色：请选择人员" in said
    assert {"张三（杨桥街道办事处）", "王五（杨桥街道办事处）"} <= set(admin.labels())
    said = await admin.press("张三（杨桥街道办事处）")
    assert "要授予 张三（昆明市 / 嵩明县 / 杨桥街道办事处） 什么角色？" in said
    said = await admin.press("纪检监察干部")
    assert "请先选择市（州）" in said
    said = await admin.press("昆明市")
    assert "请选择昆明市的县（市、区）" in said and "嵩明县" in admin.labels()
    said = await admin.press("安宁市")
    assert "请确认：授予 张三（昆明市 / 嵩明县 / 杨桥街道办事处）「纪检监察干部（安宁市）」角色？" in said
    assert await _roles(runtime, "1001") == []  # nothing happens before the confirmation
    said = await admin.press("✅ 确认")
    assert "已授予 张三「纪检监察干部（安宁市）」角色" in said
    assert await _roles(runtime, "1001") == [("officer", "530181")]
    admin_id = (await _user(runtime, "9001")).id
    assert await _audit(runtime, "1001") == [("role.granted", admin_id, None, "officer")]
    assert await _notices(runtime, "1001") == [
        "您已被授予「纪检监察干部（安宁市）」角色。发送 /help 查看现在可以使用的功能。"
    ]
    # The new officer's menu now has the officer's commands.
    said = await people["zhang"].text("/help")
    assert "/queue" in said and "/audit" in said and "/grant" not in said


async def test_grant_typed_in_one_line_and_granting_twice(runtime: Runtime, clock: ManualClock) -> None:
    people = await _people(runtime, clock)
    admin = people["admin"]
    said = await admin.text("/grant 王五 管理员")
    assert "请确认：授予 王五（昆明市 / 嵩明县 / 杨桥街道办事处）「管理员」角色？" in said
    await admin.press("✅ 确认")
    assert await _roles(runtime, "1002") == [("admin", "")]
    said = await admin.text("/grant 王五 admin")
    assert said == "王五 已经是管理员，无需重复授予。"
    # A stale confirmation pressed again changes nothing and tells the same.
    said = await admin.text(f"/grant #{(await _user(runtime, '1002')).id} admin ~ok")
    assert said == "王五 已经是管理员，无需重复授予。"
    assert [a for a, *_ in await _audit(runtime, "1002")] == ["role.granted"]
    assert len(await _notices(runtime, "1002")) == 1


async def test_grant_refuses_unknown_people_roles_and_places(runtime: Runtime, clock: ManualClock) -> None:
    people = await _people(runtime, clock)
    admin = people["admin"]
    assert "找不到姓名包含“赵六”的已注册用户" in await admin.text("/grant 赵六")
    assert "找不到 Telegram ID 为 424242 的用户" in await admin.text("/grant 424242 admin")
    assert "找不到用户 #999" in await admin.text("/grant #999 admin")
    said = await admin.text("/grant 张三 superuser")
    assert "没有“superuser”这个角色" in said and admin.labels() == ["管理员", "纪检监察干部"]
    said = await admin.text("/grant 张三 officer 530127002")  # a unit, not a county
    assert "“530127002”不是组织名录中的县（市、区）" in said and "昆明市" in admin.labels()
    said = await admin.text("/grant 张三 officer 999999")
    assert "“999999”不是组织名录中的县（市、区）" in said
    # Several matches: pick one; the choice carries the rest of the command along.
    await Talker(runtime, clock, "1003").register(name="张三丰")
    said = await admin.text("/grant 张三 admin")
    assert said == "有 2 位用户的姓名包含“张三”，请选择："
    assert admin.labels() == ["张三（杨桥街道办事处）", "张三丰（杨桥街道办事处）"]
    said = await admin.press("张三丰（杨桥街道办事处）")
    assert said == "请确认：授予 张三丰（昆明市 / 嵩明县 / 杨桥街道办事处）「管理员」角色？"
    assert await _roles(runtime, "1003") == []
    # A Telegram id works as well as a name.
    said = await admin.text("/grant 1001 admin")
    assert "请确认：授予 张三" in said


async def test_revoke_and_the_last_administrator(runtime: Runtime, clock: ManualClock) -> None:
    people = await _people(runtime, clock)
    admin = people["admin"]
    said = await admin.text("/revoke 李管 admin")
    assert said == "不能撤销最后一位管理员的权限，否则将无人能管理本系统。请先为其他人授予管理员角色。"
    # Even a forged confirmation is refused, and nothing changes.
    said = await admin.text(f"/revoke #{(await _user(runtime, '9001')).id} admin ~ok")
    assert "不能撤销最后一位管理员" in said
    assert await _roles(runtime, "9001") == [("admin", "")]
    assert "王五 没有可撤销的角色" in await admin.text("/revoke 王五")

    await runtime.admin.grant(1001, "officer", "530127", by="test")
    await runtime.admin.grant(1001, "officer", "530181", by="test")
    said = await admin.text("/revoke")
    assert "撤销角色：请选择人员" in said and set(admin.labels()) >= {
        "李管（杨桥街道办事处）",
        "张三（杨桥街道办事处）",
    }
    said = await admin.press("张三（杨桥街道办事处）")
    assert "要撤销 张三" in said and admin.labels() == ["纪检监察干部（嵩明县）", "纪检监察干部（安宁市）"]
    said = await admin.press("纪检监察干部（安宁市）")
    assert "请确认：撤销 张三（昆明市 / 嵩明县 / 杨桥街道办事处） 的「纪检监察干部（安宁市）」角色？" in said
    said = await admin.press("取消")
    assert said == "已取消，未做任何更改。"
    assert await _roles(runtime, "1001") == [("officer", "530127"), ("officer", "530181")]
    await admin.text("/revoke 张三 officer 530181")
    said = await admin.press("✅ 确认")
    assert "已撤销 张三 的「纪检监察干部（安宁市）」角色" in said
    assert await _roles(runtime, "1001") == [("officer", "530127")]
    assert "张三 没有「管理员」角色" in await admin.text("/revoke 张三 admin")
    assert (await _notices(runtime, "1001"))[
        -1
    ] == "您的「纪检监察干部（安宁市）」角色已被撤销。如有疑问，请联系管理员。"

    # With a second administrator, the first may step down.
    await runtime.admin.grant(1002, "admin", None, by="test")
    await admin.text("/revoke 李管 admin")
    said = await admin.press("✅ 确认")
    assert "已撤销 李管 的「管理员」角色" in said
    assert await _roles(runtime, "9001") == []
    assert await _notices(runtime, "9001") == []  # they did it themselves
    # And is an administrator no more.
    assert "没有使用 /users 的权限" in await admin.text("/users")


async def test_move_an_officer_in_one_step(runtime: Runtime, clock: ManualClock) -> None:
    people = await _people(runtime, clock)
    admin = people["admin"]
    await runtime.admin.grant(1001, "officer", "530127", by="test")
    await runtime.admin.configure_jurisdiction(
        "530127", group_chat_id=None, clear_group=False, lead_telegram_id=1001, by="test"
    )
    said = await admin.text("/move")
    assert "调整辖区：请选择纪检监察干部" in said and admin.labels() == ["张三（杨桥街道办事处）"]
    said = await admin.press("张三（杨桥街道办事处）")
    assert "将 张三（昆明市 / 嵩明县 / 杨桥街道办事处） 从嵩明县调往：" in said
    await admin.press("昆明市")
    said = await admin.press("嵩明县")
    assert said == "调出和调入的都是嵩明县，无需调整。"
    await admin.text("/move 张三 530127 5301")
    said = await admin.press("盘龙区")
    assert (
        "请确认：将 张三（昆明市 / 嵩明县 / 杨桥街道办事处） 由「纪检监察干部（嵩明县）」调整为「纪检监察干部（盘龙区）」？"
        in said
    )
    said = await admin.press("✅ 确认")
    assert "已将 张三 由「纪检监察干部（嵩明县）」调整为「纪检监察干部（盘龙区）」" in said
    assert await _roles(runtime, "1001") == [("officer", "530103")]
    zhang = await _user(runtime, "1001")
    async with UnitOfWork(runtime.database) as uow:
        setting = await uow.settings.get("530127")
        moved = [e for e in await uow.audit.for_subject("user", zhang.id or 0) if e.action == "role.moved"]
    assert setting is not None and setting.lead_officer_id is None  # no longer leads 嵩明
    assert [(e.from_state, e.to_state, e.actor_user_id) for e in moved] == [
        ("530127", "530103", (await _user(runtime, "9001")).id)
    ]
    assert (await _notices(runtime, "1001"))[
        -1
    ] == "您负责的辖区已由嵩明县调整为盘龙区，今后盘龙区的报备将通知您。"
    # Refusals: not an officer, not that county, a place that is no county.
    assert "王五 不是纪检监察干部" in await admin.text("/move 王五")
    assert "张三 不是嵩明县的纪检监察干部" in await admin.text("/move 张三 530127 530181")
    assert "“5301999”不是组织名录中的县（市、区）" in await admin.text("/move 张三 530103 5301999")
    await runtime.admin.grant(1001, "officer", "530181", by="test")
    assert "张三 已经是安宁市的纪检监察干部" in await admin.text("/move 张三 530103 530181")
    assert await _roles(runtime, "1001") == [("officer", "530103"), ("officer", "530181")]


async def test_users_filter_buttons_and_pages(runtime: Runtime, clock: ManualClock) -> None:
    people = await _people(runtime, clock)
    admin = people["admin"]
    names = ("赵甲", "钱乙", "孙丙", "周丁", "吴戊", "郑己", "冯庚", "陈辛")
    for i, name in enumerate(names):
        await Talker(runtime, clock, str(3000 + i)).register(name=name)
    said = await admin.text("/users")
    assert "已注册用户（共 11 人）" in said and "（第 1/2 页）" in said and "……另有 3 人未显示。" in said
    assert {"全部", "管理员", "纪检监察干部", "干部", "下一页 ▶"} <= set(admin.labels())
    said = await admin.press("下一页 ▶")
    # Oldest first, 8 a page: the last three registered are on page 2.
    assert "（第 2/2 页）" in said and "陈辛｜" in said and "冯庚｜" in said and "赵甲｜" not in said
    said = await admin.press("管理员")
    assert said.splitlines() == ["管理员（共 1 人）：", "· 李管｜昆明市 / 嵩明县 / 杨桥街道办事处｜管理员"]
    said = await admin.text("/users 干部")
    assert said.startswith("干部（共 11 人）：")
    said = await admin.text("/users boss")
    assert "没有“boss”这个角色" in said


async def test_cli_grants_are_audited_and_notified(runtime: Runtime, clock: ManualClock) -> None:
    people = await _people(runtime, clock)
    assert people
    await runtime.admin.grant(1001, "officer", "530127", by="cli")
    await runtime.admin.move(1001, "530127", "530181", by="cli")
    zhang = await _user(runtime, "1001")
    async with UnitOfWork(runtime.database) as uow:
        query = select(AuditEntry).where(
            AuditEntry.subject_id == str(zhang.id), AuditEntry.subject_type == "user"
        )
        rows = (await uow.session.execute(query.order_by(AuditEntry.id))).scalars().all()
    labels = [(e.action, e.actor_label) for e in rows if e.action.startswith("role.")]
    assert labels == [("role.granted", "cli"), ("role.moved", "cli")]
    assert [n[:8] for n in await _notices(runtime, "1001")] == ["您已被授予「纪检", "您负责的辖区已由"]
