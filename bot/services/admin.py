"""Granting and revoking roles, and listing users: used by the command line and by admins in chat."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.services.calls import Call, CommandResult
from dialogs.context import Context
from dialogs.directory import OrgDirectory
from dialogs.events import Command
from dialogs.replies import Reply
from storage.database import Database
from storage.repositories.users import RoleGrant
from storage.uow import UnitOfWork

GRANTABLE_ROLES = ("admin", "officer")
TELEGRAM = "telegram"


class AdminError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class UserLine:
    user_id: int
    name: str | None
    unit: str | None
    registered: bool
    telegram_ids: list[str]
    grants: list[RoleGrant]


class AdminService:
    def __init__(self, database: Database, directory: OrgDirectory, clock: Clock) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock

    def _check(self, role: str, jurisdiction: str | None) -> str:
        if role not in GRANTABLE_ROLES:
            raise AdminError(f"unknown role {role!r}; choose one of: {', '.join(GRANTABLE_ROLES)}")
        if role == "officer":
            if not jurisdiction:
                raise AdminError("an officer needs --jurisdiction CODE (a county or district code)")
            unit = self._directory.get(jurisdiction)
            if unit is None or unit.level != "county":
                raise AdminError(
                    f"{jurisdiction!r} is not a county or district in the organisation directory"
                )
            return jurisdiction
        if jurisdiction:
            raise AdminError("--jurisdiction applies to officers only")
        return ""

    async def grant(self, telegram_id: int, role: str, jurisdiction: str | None, *, by: str) -> bool:
        """Grant a role to a Telegram account, creating a placeholder user if it never wrote yet.

        Returns False when the grant already existed.
        """
        code = self._check(role, jurisdiction)
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            found = await uow.users.by_identity(TELEGRAM, str(telegram_id))
            if found is None:
                found = await uow.users.create(channel=TELEGRAM, external_id=str(telegram_id), now=now)
            user, _ = found
            assert user.id is not None
            added = await uow.users.grant(user.id, role, code, now=now, by=by)
            if added:
                uow.audit.record(
                    at=now,
                    action="role.granted",
                    subject_type="user",
                    subject_id=user.id,
                    actor_label=by,
                    to_state=role,
                    data={"jurisdiction_code": code, "telegram_id": telegram_id},
                )
            await uow.commit()
        return added

    async def revoke(self, telegram_id: int, role: str, jurisdiction: str | None, *, by: str) -> int:
        if role not in GRANTABLE_ROLES:
            raise AdminError(f"unknown role {role!r}; choose one of: {', '.join(GRANTABLE_ROLES)}")
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            found = await uow.users.by_identity(TELEGRAM, str(telegram_id))
            if found is None:
                raise AdminError(f"no user with Telegram id {telegram_id}")
            user, _ = found
            assert user.id is not None
            removed = await uow.users.revoke(user.id, role, jurisdiction)
            if removed:
                uow.audit.record(
                    at=now,
                    action="role.revoked",
                    subject_type="user",
                    subject_id=user.id,
                    actor_label=by,
                    from_state=role,
                    data={"jurisdiction_code": jurisdiction, "telegram_id": telegram_id},
                )
            await uow.commit()
        return removed

    async def configure_jurisdiction(
        self,
        code: str,
        *,
        group_chat_id: str | None,
        clear_group: bool,
        lead_telegram_id: int | None,
        by: str,
    ) -> str:
        """Set a county's officers' group chat (for digests) and its lead officer (for escalations)."""
        unit = self._directory.get(code)
        if unit is None or unit.level != "county":
            raise AdminError(f"{code!r} is not a county or district in the organisation directory")
        if group_chat_id is not None and not group_chat_id.lstrip("-").isdigit():
            raise AdminError("--group-chat-id must be a Telegram chat id such as -1001234567890")
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            lead_id = None
            if lead_telegram_id is not None:
                found = await uow.users.by_identity(TELEGRAM, str(lead_telegram_id))
                roles = await uow.users.roles(found[0].id or 0) if found else []
                if not any(g.role == "officer" and g.jurisdiction_code == code for g in roles):
                    raise AdminError(f"Telegram user {lead_telegram_id} is not an officer of {code}")
                lead_id = found[0].id if found else None
            setting = await uow.settings.set(
                code, now=now, group_chat_id=group_chat_id, lead_officer_id=lead_id, clear_group=clear_group
            )
            uow.audit.record(
                at=now,
                action="jurisdiction.configured",
                subject_type="jurisdiction",
                subject_id=code,
                actor_label=by,
                data={"group_chat_id": setting.group_chat_id, "lead_officer_id": setting.lead_officer_id},
            )
            await uow.commit()
        return f"{unit.name}: group chat {setting.group_chat_id or '-'}, lead officer #{setting.lead_officer_id or '-'}"

    async def list_users(self, role: str | None = None, limit: int = 1000) -> list[UserLine]:
        async with UnitOfWork(self._database) as uow:
            rows = await uow.users.list_with_roles(role, limit=limit)
            lines = []
            for user, grants in rows:
                assert user.id is not None
                identities = await uow.users.identities(user.id)
                lines.append(
                    UserLine(
                        user_id=user.id,
                        name=user.name,
                        unit=self._directory.full_name(user.unit_code) if user.unit_code else None,
                        registered=user.registered_at is not None,
                        telegram_ids=[i.external_id for i in identities if i.channel == TELEGRAM],
                        grants=grants,
                    )
                )
        return lines


USERS_SHOWN = 30


async def users_command(call: Call, command: Command) -> CommandResult:
    """/users for admins: who is registered and which roles they hold (optionally filtered by role)."""
    return CommandResult(await _users_listing(call.uow, call.ctx, command.args.strip() or None))


async def _users_listing(uow: UnitOfWork, ctx: Context, role: str | None) -> list[Reply]:
    rows = await uow.users.list_with_roles(role, limit=USERS_SHOWN)
    if not rows:
        return [Reply(ctx.texts("users.none"))]
    total = await uow.users.count_listed(role)
    lines = [ctx.texts("users.header", count=total)]
    for user, grants in rows:
        roles = "、".join(
            ctx.texts(f"role.{g.role}")
            + (f"（{ctx.directory.full_name(g.jurisdiction_code)}）" if g.jurisdiction_code else "")
            for g in grants
        ) or ctx.texts("role.cadre")
        unit = ctx.directory.full_name(user.unit_code) if user.unit_code else "—"
        lines.append(ctx.texts("users.line", name=user.name or f"#{user.id}", unit=unit, roles=roles))
    if total > USERS_SHOWN:
        lines.append(ctx.texts("users.more", count=total - USERS_SHOWN))
    return [Reply("\n".join(lines))]
