"""The conversation service on a real database (SQLite and PostgreSQL): what is stored after each step."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.runtime import Runtime, build_runtime
from dialogs.events import Unsupported
from storage.errors import ConcurrentUpdate
from storage.models import AuditEntry, DialogStateRow, User, UserIdentity
from storage.uow import UnitOfWork
from tests.db.talker import Talker


async def stored_state(runtime: Runtime, external_id: str = "1001") -> DialogStateRow | None:
    async with UnitOfWork(runtime.database) as uow:
        found = await uow.users.by_identity("telegram", external_id)
        assert found is not None
        return await uow.session.get(DialogStateRow, found[0].id)


async def test_registration_is_stored_after_every_step(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    said = await talker.text("/start")
    assert "请输入您的姓名" in said
    await talker.text("张三")
    row = await stored_state(runtime)
    assert row is not None and row.step == "city" and row.data["answers"] == {"name": "张三"}
    await talker.press("昆明市")
    await talker.press("嵩明县")
    await talker.press("杨桥街道办事处")
    said = await talker.text("副主任")
    assert "注册完成" in said
    assert await stored_state(runtime) is None
    async with UnitOfWork(runtime.database) as uow:
        user, identity = (await uow.users.by_identity("telegram", "1001")) or (None, None)
        assert user is not None and identity is not None
        assert (user.name, user.unit_code, user.position) == ("张三", "530127002", "副主任")
        assert user.registered_at == clock.now()
        assert identity.display_name == "Zhang"
        audit = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "user.registered")))
            .scalars()
            .all()
        )
        assert len(audit) == 1 and audit[0].subject_id == str(user.id)


async def test_a_new_process_continues_where_the_old_one_stopped(
    runtime: Runtime, clock: ManualClock, database_url: str, tmp_path
) -> None:
    talker = Talker(runtime, clock)
    await talker.text("/start")
    await talker.text("张三")
    await talker.press("昆明市")
    # A second runtime on the same database stands for a restarted (or another) process.
    from bot.config import load_settings

    other = await build_runtime(load_settings(database_url=database_url, data_dir=tmp_path / "d2"), clock)
    try:
        said = await Talker(other, clock).text("/start")
        assert "继续注册" in said and "请选择您所在的县" in said
    finally:
        await other.database.dispose()


async def test_unsupported_input_keeps_the_dialog_where_it_was(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    await talker.text("/start")
    said = await talker.send(Unsupported(clock.now(), "voice"))
    assert "收到了语音" in said and "姓名" in said
    said = await talker.text("张" * 5000)
    assert "5000 个字" in said
    row = await stored_state(runtime)
    assert row is not None and row.step == "name" and row.data["answers"] == {}


async def test_a_stale_version_is_refused(runtime: Runtime, clock: ManualClock) -> None:
    talker = Talker(runtime, clock)
    await talker.text("/start")
    row = await stored_state(runtime)
    assert row is not None
    async with UnitOfWork(runtime.database) as uow:
        await uow.dialog_states.save(row.user_id, row.data, expected_version=row.version, now=clock.now())
        await uow.commit()
    async with UnitOfWork(runtime.database) as uow:
        with pytest.raises(ConcurrentUpdate):
            await uow.dialog_states.save(row.user_id, row.data, expected_version=row.version, now=clock.now())


async def test_concurrent_events_of_one_user_are_all_applied_in_turn(
    runtime: Runtime, clock: ManualClock
) -> None:
    talker = Talker(runtime, clock)
    await talker.text("/start")
    # Two texts at once: the first is the name, the second is refused as a city (needs a button).
    results = await asyncio.gather(talker.text("张三"), talker.text("李四"))
    assert any("请选择您所在的市" in r for r in results)
    row = await stored_state(runtime)
    assert row is not None and row.step == "city" and row.data["answers"]["name"] in ("张三", "李四")


async def test_first_contact_from_many_users_at_once_creates_one_user_each(
    runtime: Runtime, clock: ManualClock
) -> None:
    talkers = [Talker(runtime, clock, external_id=str(5000 + i)) for i in range(20)]
    await asyncio.gather(*(t.text("/start") for t in talkers), *(t.text("/help") for t in talkers))
    async with UnitOfWork(runtime.database) as uow:
        users = (await uow.session.execute(select(func.count()).select_from(User))).scalar_one()
        identities = (await uow.session.execute(select(func.count()).select_from(UserIdentity))).scalar_one()
    assert users == identities == 20


async def test_admin_sees_users_command_and_cadre_is_refused(runtime: Runtime, clock: ManualClock) -> None:
    cadre, admin = Talker(runtime, clock, "2001"), Talker(runtime, clock, "2002")
    for talker, name in ((cadre, "张三"), (admin, "李四")):
        await talker.text("/start")
        await talker.text(name)
        await talker.press("昆明市")
        await talker.press("嵩明县")
        await talker.press("杨桥街道办事处")
        await talker.text("科员")
    await runtime.admin.grant(2002, "admin", None, by="test")
    said = await admin.text("/users")
    assert "已注册用户（共 2 人）" in said and "张三" in said and "李四｜" in said and "管理员" in said
    said = await cadre.text("/users")
    assert "没有使用 /users 的权限" in said
    assert "张三｜" not in said
