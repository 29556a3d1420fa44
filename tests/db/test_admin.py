"""Role administration as the command line does it."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from bot.services.admin import AdminError
from storage.uow import UnitOfWork


async def test_grant_creates_a_placeholder_user_for_an_unknown_telegram_id(runtime: Runtime) -> None:
    assert await runtime.admin.grant(777, "admin", None, by="cli") is True
    assert await runtime.admin.grant(777, "admin", None, by="cli") is False
    lines = await runtime.admin.list_users()
    assert [(line.telegram_ids, [g.role for g in line.grants], line.registered) for line in lines] == [
        (["777"], ["admin"], False)
    ]


async def test_officer_needs_a_county_jurisdiction(runtime: Runtime) -> None:
    with pytest.raises(AdminError, match="needs --jurisdiction"):
        await runtime.admin.grant(1, "officer", None, by="cli")
    with pytest.raises(AdminError, match="not a county"):
        await runtime.admin.grant(1, "officer", "530127002", by="cli")  # a unit, not a county
    with pytest.raises(AdminError, match="unknown role"):
        await runtime.admin.grant(1, "superuser", None, by="cli")
    assert await runtime.admin.grant(1, "officer", "530127", by="cli")
    assert await runtime.admin.grant(1, "officer", "530181", by="cli")  # a second jurisdiction
    (line,) = await runtime.admin.list_users("officer")
    assert sorted(g.jurisdiction_code for g in line.grants) == ["530127", "530181"]


async def test_revoke_removes_the_role_and_is_audited(runtime: Runtime) -> None:
    await runtime.admin.grant(5, "officer", "530127", by="cli")
    assert await runtime.admin.revoke(5, "officer", None, by="cli") == 1
    assert await runtime.admin.list_users("officer") == []
    async with UnitOfWork(runtime.database) as uow:
        found = await uow.users.by_identity("telegram", "5")
        assert found is not None
        actions = [e.action for e in await uow.audit.for_subject("user", found[0].id or 0)]
    assert actions == ["role.granted", "role.revoked"]
    with pytest.raises(AdminError, match="no user"):
        await runtime.admin.revoke(999, "admin", None, by="cli")
