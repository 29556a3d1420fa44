"""Invitations: an administrator names a person and their unit; the one-time link signs that person
in to the web chat, already known by name and unit, with the roles the invitation carries.

Made from the command line (`rongcuo admin invite`) or by an administrator in the chat (/invite).
Only the SHA-256 of a link's token is stored.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.clock import Clock
from bot.services import admin
from bot.services.admin import Actor, AdminError
from bot.services.calls import Call, CommandResult
from dialogs.directory import OrgDirectory
from dialogs.events import Command, Event
from dialogs.flows.registration import NAME as REGISTRATION
from dialogs.replies import Reply
from dialogs.state import DialogState
from storage.database import Database
from storage.models import Invitation
from storage.uow import UnitOfWork

WEB = "web"
PATH = "/invite/"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class InviteSettings:
    public_url: str = "http://127.0.0.1:8080"
    valid_for: timedelta = timedelta(hours=72)

    def link(self, token: str) -> str:
        return self.public_url.rstrip("/") + PATH + token


@dataclass(frozen=True, slots=True)
class Created:
    link: str
    expires_at: datetime


def _check(
    directory: OrgDirectory, name: str, unit_code: str, role: str | None, jurisdiction: str | None
) -> str:
    """The jurisdiction code to grant with; raises AdminError (with a chat message key) when refused."""
    name = name.strip()
    if not 2 <= len(name) <= 30:
        raise AdminError(key="inv.bad_name")
    unit = directory.get(unit_code)
    if unit is None or unit.level != "unit":
        # Registration places a person in a unit (below a county): a county code is not enough.
        raise AdminError(key="inv.bad_unit", code=unit_code)
    if role is None:
        if jurisdiction:
            raise AdminError(key="inv.jurisdiction_without_role")
        return ""
    if role not in admin.GRANTABLE_ROLES:
        raise AdminError(key="inv.bad_role", role=role, roles=", ".join(admin.GRANTABLE_ROLES))
    if role == "officer":
        county = directory.get(jurisdiction or "")
        if county is None or county.level != "county":
            raise AdminError(key="inv.bad_county", code=jurisdiction or "")
        return county.code
    if jurisdiction:
        raise AdminError(key="inv.jurisdiction_without_role")
    return ""


async def create(
    uow: UnitOfWork,
    now: datetime,
    directory: OrgDirectory,
    settings: InviteSettings,
    *,
    name: str,
    unit_code: str,
    role: str | None,
    jurisdiction: str | None,
    actor: Actor,
) -> Created:
    code = _check(directory, name, unit_code, role, jurisdiction)
    token = secrets.token_urlsafe(24)
    invitation = await uow.invitations.create(
        Invitation(
            token_hash=token_hash(token),
            name=name.strip(),
            unit_code=unit_code,
            role=role,
            jurisdiction_code=code,
            created_by=actor.label or f"user:{actor.user_id}",
            created_at=now,
            expires_at=now + settings.valid_for,
        )
    )
    uow.audit.record(
        at=now,
        action="invitation.created",
        subject_type="invitation",
        subject_id=invitation.id or 0,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        data={"name": invitation.name, "unit_code": unit_code, "role": role, "jurisdiction_code": code},
    )
    return Created(settings.link(token), invitation.expires_at)


class Refusal(Enum):
    UNKNOWN = "unknown"
    USED = "used"
    EXPIRED = "expired"


class InvitationService:
    """The command line's and the web channel's way in; the chat command is `invite` below."""

    def __init__(
        self,
        database: Database,
        directory: Callable[[], OrgDirectory],
        clock: Clock,
        settings: InviteSettings,
    ) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock
        self.settings = settings

    async def create(
        self, name: str, unit_code: str, role: str | None, jurisdiction: str | None, *, by: str
    ) -> Created:
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            created = await create(
                uow,
                now,
                self._directory(),
                self.settings,
                name=name,
                unit_code=unit_code,
                role=role,
                jurisdiction=jurisdiction,
                actor=Actor(label=by),
            )
            await uow.commit()
        return created

    async def redeem(self, token: str) -> str | Refusal:
        """A new web session id speaking for the invited person, or why the link does not work."""
        now = self._clock.now()
        hashed = token_hash(token)
        directory = self._directory()
        async with UnitOfWork(self._database) as uow:
            invitation = await uow.invitations.find(hashed)
            if invitation is None:
                return Refusal.UNKNOWN
            if not await uow.invitations.claim(hashed, now):
                return Refusal.USED if invitation.used_at is not None else Refusal.EXPIRED
            session_id = secrets.token_urlsafe(18)
            user, _ = await uow.users.create(channel=WEB, external_id=session_id, now=now)
            assert user.id is not None and invitation.id is not None
            user.name, user.unit_code = invitation.name, invitation.unit_code
            uow.session.add(user)
            await uow.invitations.set_user(invitation.id, user.id)
            actor = Actor(label=invitation.created_by)
            if invitation.role:
                await admin.grant_role(
                    uow, now, directory, user, invitation.role, invitation.jurisdiction_code, actor
                )
            await uow.dialog_states.save(
                user.id, _registration_at_position(directory, invitation), expected_version=None, now=now
            )
            uow.audit.record(
                at=now,
                action="invitation.used",
                subject_type="invitation",
                subject_id=invitation.id,
                actor_user_id=user.id,
                data={"user_id": user.id},
            )
            await uow.commit()
        return session_id

    async def command(self, call: Call, command: Command) -> CommandResult:
        """`/invite 姓名 单位代码 [角色 [辖区代码]]` in the admin chat: the link to pass on."""
        texts = call.ctx.texts
        tokens = command.args.split()
        if not 2 <= len(tokens) <= 4:
            return CommandResult([Reply(texts("inv.usage"))])
        name, unit_code = tokens[0], tokens[1]
        try:
            created = await create(
                call.uow,
                call.now,
                call.ctx.directory,
                self.settings,
                name=name,
                unit_code=unit_code,
                role=tokens[2] if len(tokens) > 2 else None,
                jurisdiction=tokens[3] if len(tokens) > 3 else None,
                actor=Actor(user_id=call.user.id),
            )
        except AdminError as error:
            assert error.key is not None
            return CommandResult([Reply(texts(error.key, **error.params))])
        until = created.expires_at.astimezone(call.env.tz).strftime("%Y-%m-%d %H:%M")
        unit = call.ctx.directory.full_name(unit_code)
        return CommandResult(
            [Reply(texts("inv.created", name=name, unit=unit, link=created.link, until=until))]
        )


def _registration_at_position(directory: OrgDirectory, invitation: Invitation) -> dict[str, object]:
    """Registration with name and unit answered: the person only gives their position (and may go
    back to correct the unit, as in any registration)."""
    codes = [u.code for u in directory.path(invitation.unit_code)]
    city, county, unit = codes[-3:]
    state = DialogState(
        dialog=REGISTRATION,
        step="position",
        answers={"name": invitation.name, "city": city, "county": county, "unit": unit},
        history=["name", "city", "county", "unit"],
    )
    return state.to_json()


async def admitted(database: Database, channel: str, external_id: str, event: Event) -> bool:
    """With open registration off: may this session talk to the bot? Only someone already known
    (invited, linked) or someone linking now, with `/link CODE`."""
    if isinstance(event, Command) and event.name == "link" and event.args.strip():
        return True
    async with UnitOfWork(database) as uow:
        found = await uow.users.by_identity(channel, external_id)
    # A failed /link leaves a nameless user behind: that must not open the registration dialog.
    return found is not None and (found[0].registered_at is not None or found[0].name is not None)
