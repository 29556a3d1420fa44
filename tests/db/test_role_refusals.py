"""A cadre gets a polite refusal for every administrator's and officer's command declared in
dialogs/menus.py, typed or forged as a button with arguments; an officer for every administrator's
command. The lists come from menus.COMMANDS, so commands added later are covered as well."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.clock import ManualClock
from bot.runtime import Runtime
from dialogs import menus
from storage.models import AuditEntry, OutboxMessage, UserRole
from storage.uow import UnitOfWork
from tests.db.talker import Talker


def _restricted(role_missing: str) -> list[str]:
    """Commands whose audience does not include `role_missing`'s roles."""
    open_to = {"cadre": (menus.ANYONE, menus.REGISTERED), "officer": (menus.ANYONE, menus.REGISTERED)}
    names = []
    for command in menus.COMMANDS:
        if command.audience in open_to[role_missing]:
            continue
        roles = command.audience.split("|")
        if role_missing == "officer" and "officer" in roles:
            continue
        names.append(command.name)
    return names


def _refusal(name: str) -> str:
    return f"抱歉，您没有使用 /{name} 的权限。如有需要请联系管理员。"


async def _counts(runtime: Runtime) -> tuple[int, int]:
    async with UnitOfWork(runtime.database) as uow:
        roles = (await uow.session.execute(select(func.count()).select_from(UserRole))).scalar_one()
        sent = (await uow.session.execute(select(func.count()).select_from(OutboxMessage))).scalar_one()
    return roles, sent


async def test_the_lists_cover_the_administration_commands() -> None:
    cadre_refused = _restricted("cadre")
    assert {"users", "grant", "revoke", "move", "import", "audit", "queue", "accept", "visit"} <= set(
        cadre_refused
    )
    officer_refused = _restricted("officer")
    assert {"users", "grant", "revoke", "move", "import"} <= set(officer_refused)
    assert "audit" not in officer_refused and "queue" not in officer_refused


async def test_a_cadre_is_refused_every_admin_and_officer_command(
    runtime: Runtime, clock: ManualClock
) -> None:
    await runtime.admin.grant(9001, "admin", None, by="test")
    admin = Talker(runtime, clock, "9001")
    cadre = Talker(runtime, clock, "1001")
    await admin.register(name="李管")
    await cadre.register(name="张三")
    before = await _counts(runtime)
    names = _restricted("cadre")
    for name in names:
        assert await cadre.text(f"/{name}") == _refusal(name), name
        # A forged button carrying a complete, confirmed change is refused just the same.
        assert await cadre.text(f"/{name} #1 admin ~ok") == _refusal(name), name
    assert await _counts(runtime) == before  # no role changed, nobody was told anything
    said = await cadre.text("/help")
    assert all(f"/{name} " not in said for name in names)
    async with UnitOfWork(runtime.database) as uow:
        denied = (
            (await uow.session.execute(select(AuditEntry).where(AuditEntry.action == "access.denied")))
            .scalars()
            .all()
        )
    # Service-level commands record the attempt; the pure router's few (e.g. /selfcheck) are not.
    assert {"grant", "revoke", "move", "import", "audit", "users"} <= {e.subject_id for e in denied}


async def test_an_officer_is_refused_every_admin_command(runtime: Runtime, clock: ManualClock) -> None:
    await runtime.admin.grant(2001, "officer", "530127", by="test")
    officer = Talker(runtime, clock, "2001")
    await officer.register(name="王纪")
    before = await _counts(runtime)
    for name in _restricted("officer"):
        assert await officer.text(f"/{name} #1 officer 530181 ~ok") == _refusal(name), name
    assert await _counts(runtime) == before
