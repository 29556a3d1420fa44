"""Granting, revoking and moving roles, and listing users: from the command line and, for
administrators, in the chat (/grant, /revoke, /move, /users).

Both paths share one core per change: it checks, writes the grant, records who did what in the
audit log and queues a notice to the person affected, all in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from bot.clock import Clock
from bot.services.calls import Call, CommandResult
from bot.services.notify import queue_message
from dialogs.actions import MAX_ACTION_BYTES
from dialogs.context import Context
from dialogs.directory import OrgDirectory
from dialogs.events import Command
from dialogs.flows import admin as flow
from dialogs.parsing.ids import record_id
from dialogs.replies import Button, Reply
from dialogs.texts import Texts
from storage.database import Database
from storage.models import User
from storage.repositories.users import ANY_ROLE, RoleGrant
from storage.uow import UnitOfWork

GRANTABLE_ROLES = flow.ROLES
TELEGRAM = "telegram"
CLI = "cli"


class AdminError(ValueError):
    """A refused change. `key` names the message shown in the chat; the CLI prints it in English."""

    def __init__(self, message: str = "", *, key: str | None = None, **params: object) -> None:
        self.key, self.params = key, params
        super().__init__(message or (Texts("en")(key, **params) if key else ""))


@dataclass(frozen=True, slots=True)
class UserLine:
    user_id: int
    name: str | None
    unit: str | None
    registered: bool
    telegram_ids: list[str]
    grants: list[RoleGrant]


@dataclass(frozen=True, slots=True)
class Actor:
    user_id: int | None = None
    label: str | None = None  # "cli" for the command line


# ---- the changes themselves (shared by the command line and the chat) ----------------------------


def _held(grants: list[RoleGrant], role: str, code: str | None) -> list[RoleGrant]:
    return [g for g in grants if g.role == role and (code is None or g.jurisdiction_code == code)]


def _where(directory: OrgDirectory, code: str) -> str:
    unit = directory.get(code)
    return unit.name if unit else code


async def _tell(
    uow: UnitOfWork, now: datetime, target: User, actor: Actor, render: Callable[[Texts], Reply], key: str
) -> None:
    """The person affected hears of it, unless they made the change themselves or never registered
    (a placeholder made by a grant: Telegram lets a bot write only to people who wrote to it)."""
    if target.registered_at is None or target.id == actor.user_id:
        return
    await queue_message(uow, now, target, render, dedupe_key=f"{key}:{now.isoformat()}")


async def grant_role(
    uow: UnitOfWork,
    now: datetime,
    directory: OrgDirectory,
    target: User,
    role: str,
    code: str,
    actor: Actor,
) -> bool:
    """Give `role` (for county `code` when an officer); False when it was held already."""
    assert target.id is not None
    if not await uow.users.grant(target.id, role, code, now=now, by=actor.label or f"user:{actor.user_id}"):
        return False
    uow.audit.record(
        at=now,
        action="role.granted",
        subject_type="user",
        subject_id=target.id,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        to_state=role,
        data={"jurisdiction_code": code},
    )

    def render(t: Texts) -> Reply:
        return Reply(t("adm.notice.granted", role=flow.role_text(t, directory, role, code)))

    await _tell(uow, now, target, actor, render, f"role:{target.id}:granted:{role}:{code}")
    return True


async def revoke_role(
    uow: UnitOfWork,
    now: datetime,
    directory: OrgDirectory,
    target: User,
    role: str,
    code: str | None,
    actor: Actor,
) -> int:
    """Take `role` away (one county's, or all of them when `code` is None); how many grants went."""
    assert target.id is not None
    held = _held(await uow.users.roles(target.id), role, code)
    if not held:
        return 0
    if role == "admin":
        holders = await uow.users.lock_holders("admin")
        if not [h for h in holders if h != target.id]:
            raise AdminError(key="adm.last_admin")
    removed = await uow.users.revoke(target.id, role, code)
    for grant in held:
        if grant.jurisdiction_code:
            # Escalations must not keep going to someone who no longer serves the county.
            await uow.settings.clear_lead(grant.jurisdiction_code, target.id, now=now)
        uow.audit.record(
            at=now,
            action="role.revoked",
            subject_type="user",
            subject_id=target.id,
            actor_user_id=actor.user_id,
            actor_label=actor.label,
            from_state=role,
            data={"jurisdiction_code": grant.jurisdiction_code},
        )
    codes = [g.jurisdiction_code for g in held]

    def render(t: Texts) -> Reply:
        roles = "、".join(flow.role_text(t, directory, role, c) for c in codes)
        return Reply(t("adm.notice.revoked", role=roles))

    await _tell(uow, now, target, actor, render, f"role:{target.id}:revoked:{role}:{code}")
    return removed


async def move_officer(
    uow: UnitOfWork,
    now: datetime,
    directory: OrgDirectory,
    target: User,
    from_code: str,
    to_code: str,
    actor: Actor,
) -> None:
    """Move an officer from one county to another in one step: never both, never neither."""
    assert target.id is not None
    destination = directory.get(to_code)
    if destination is None or destination.level != "county":
        raise AdminError(key="adm.bad_county", code=to_code)
    grants = await uow.users.roles(target.id)
    if not _held(grants, "officer", from_code):
        raise AdminError(
            key="adm.move.not_held", name=_name(target), jurisdiction=_where(directory, from_code)
        )
    if from_code == to_code:
        raise AdminError(key="adm.move.same", jurisdiction=destination.name)
    if _held(grants, "officer", to_code):
        raise AdminError(key="adm.move.already", name=_name(target), jurisdiction=destination.name)
    await uow.users.move_role(target.id, "officer", from_code, to_code)
    await uow.settings.clear_lead(from_code, target.id, now=now)
    uow.audit.record(
        at=now,
        action="role.moved",
        subject_type="user",
        subject_id=target.id,
        actor_user_id=actor.user_id,
        actor_label=actor.label,
        from_state=from_code,
        to_state=to_code,
        data={"role": "officer"},
    )

    def render(t: Texts) -> Reply:
        return Reply(t("adm.notice.moved", old=_where(directory, from_code), new=_where(directory, to_code)))

    await _tell(uow, now, target, actor, render, f"role:{target.id}:moved:{from_code}:{to_code}")


def _name(user: User) -> str:
    return user.name or f"#{user.id}"


# ---- the command line ----------------------------------------------------------------------------


class AdminService:
    def __init__(self, database: Database, directory: Callable[[], OrgDirectory], clock: Clock) -> None:
        self._database = database
        self._directory = directory
        self._clock = clock

    def _county(self, code: str) -> None:
        unit = self._directory().get(code)
        if unit is None or unit.level != "county":
            raise AdminError(f"{code!r} is not a county or district in the organisation directory")

    def _check(self, role: str, jurisdiction: str | None) -> str:
        if role not in GRANTABLE_ROLES:
            raise AdminError(f"unknown role {role!r}; choose one of: {', '.join(GRANTABLE_ROLES)}")
        if role == "officer":
            if not jurisdiction:
                raise AdminError("an officer needs --jurisdiction CODE (a county or district code)")
            self._county(jurisdiction)
            return jurisdiction
        if jurisdiction:
            raise AdminError("--jurisdiction applies to officers only")
        return ""

    async def _known(self, uow: UnitOfWork, telegram_id: int) -> User:
        found = await uow.users.by_identity(TELEGRAM, str(telegram_id))
        if found is None:
            raise AdminError(f"no user with Telegram id {telegram_id}")
        return found[0]

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
            added = await grant_role(uow, now, self._directory(), found[0], role, code, Actor(label=by))
            await uow.commit()
        return added

    async def revoke(self, telegram_id: int, role: str, jurisdiction: str | None, *, by: str) -> int:
        if role not in GRANTABLE_ROLES:
            raise AdminError(f"unknown role {role!r}; choose one of: {', '.join(GRANTABLE_ROLES)}")
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            user = await self._known(uow, telegram_id)
            removed = await revoke_role(
                uow, now, self._directory(), user, role, jurisdiction, Actor(label=by)
            )
            await uow.commit()
        return removed

    async def move(self, telegram_id: int, from_code: str, to_code: str, *, by: str) -> None:
        self._county(to_code)
        now = self._clock.now()
        async with UnitOfWork(self._database) as uow:
            user = await self._known(uow, telegram_id)
            await move_officer(uow, now, self._directory(), user, from_code, to_code, Actor(label=by))
            await uow.commit()

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
        self._county(code)
        unit = self._directory().get(code)
        assert unit is not None
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
        directory = self._directory()
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
                        unit=directory.full_name(user.unit_code) if user.unit_code else None,
                        registered=user.registered_at is not None,
                        telegram_ids=[i.external_id for i in identities if i.channel == TELEGRAM],
                        grants=grants,
                    )
                )
        return lines


# ---- the chat ------------------------------------------------------------------------------------


def _say(text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> CommandResult:
    return CommandResult([Reply(text, buttons)])


def _label(ctx: Context, user: User) -> str:
    """How a person appears on a button: name and unit, short enough for one line."""
    if user.name is None:
        return ctx.texts("adm.unregistered", id=user.id)
    unit = ctx.directory.get(user.unit_code) if user.unit_code else None
    return f"{user.name}（{unit.name}）"[:30] if unit else user.name


def _who(ctx: Context, user: User) -> str:
    unit = ctx.directory.full_name(user.unit_code) if user.unit_code else "—"
    return ctx.texts("adm.who", name=_name(user), unit=unit)


async def _pick(call: Call, command: str, args: flow.Args, listed: str, ask_key: str) -> User | CommandResult:
    """The person a command is about: `#id` (buttons), a Telegram id, or part of a name; with no
    argument, a page of candidates (`listed`: cadre, officer or any role holder) to choose from."""
    texts, uow = call.ctx.texts, call.uow
    if not args.tokens:
        total = await uow.users.count_listed(listed)
        if total == 0:
            return _say(texts("adm.nobody"))
        page = min(args.page, flow.pages(total))
        found = await uow.users.list_with_roles(
            listed, limit=flow.PAGE_SIZE, offset=(page - 1) * flow.PAGE_SIZE
        )
        buttons = [Button(_label(call.ctx, u), f"/{command} #{u.id}") for u, _ in found]
        rows = (*flow.rows_of(buttons), flow.page_row(call.ctx, f"/{command}", page, total))
        text = texts(ask_key) + "\n" + texts("adm.page", page=page, pages=flow.pages(total))
        return _say(text, tuple(r for r in rows if r))
    token, rest = args.tokens[0], " ".join(args.tokens[1:])
    if token.startswith("#") and token[1:].isdigit():
        user = await uow.users.get(found) if (found := record_id(token[1:])) else None
        if user is None:
            return _say(texts("adm.no_user", who=token))
        return user
    if token.isdigit():
        found_identity = await uow.users.by_identity(TELEGRAM, token)
        if found_identity is None:
            return _say(texts("adm.no_telegram_user", id=token))
        return found_identity[0]
    matches = await uow.users.search(token, limit=flow.PAGE_SIZE + 1)
    if not matches:
        return _say(texts("adm.no_user_named", name=token))
    if len(matches) == 1:
        return matches[0]
    shown = matches[: flow.PAGE_SIZE]
    buttons = [Button(_label(call.ctx, u), _carry(f"/{command} #{u.id}", rest)) for u in shown]
    more = texts("adm.narrow") if len(matches) > flow.PAGE_SIZE else ""
    return _say(texts("adm.several", name=token, count=len(shown)) + more, flow.rows_of(buttons))


def _carry(action: str, rest: str) -> str:
    """The rest of what was typed rides along on the button, if Telegram's 64 bytes allow."""
    carried = f"{action} {rest}".strip()
    return carried if len(carried.encode()) <= MAX_ACTION_BYTES else action


def _actor(call: Call) -> Actor:
    return Actor(user_id=call.user.id)


def _refused(call: Call, error: AdminError) -> CommandResult:
    assert error.key is not None
    return _say(call.ctx.texts(error.key, **error.params))


def _jurisdiction_step(
    call: Call, prefix: str, code: str | None, ask_key: str, **params: object
) -> str | CommandResult:
    """A county code from the buttons (city, then county), or the question that leads to one."""
    ctx = call.ctx
    if code is None:
        return _say(
            ctx.texts(ask_key, **params) + "\n" + ctx.texts("adm.pick_city"), flow.city_buttons(ctx, prefix)
        )
    unit = ctx.directory.get(code)
    if unit is not None and unit.level == "city":
        text = ctx.texts(ask_key, **params) + "\n" + ctx.texts("adm.pick_county", city=unit.name)
        return _say(text, flow.county_buttons(ctx, prefix, unit.code))
    if unit is None or unit.level != "county":
        return _say(ctx.texts("adm.bad_county", code=code), flow.city_buttons(ctx, prefix))
    return code


async def grant_command(call: Call, command: Command) -> CommandResult:
    """/grant [person [role [county]]]: buttons lead through each choice; a confirmation applies it."""
    ctx, texts = call.ctx, call.ctx.texts
    args = flow.parse_args(command.args)
    if args.cancelled:
        return _say(texts("adm.cancelled"))
    picked = await _pick(call, "grant", args, "cadre", "adm.grant.ask_user")
    if isinstance(picked, CommandResult):
        return picked
    user, rest = picked, args.tokens[1:]
    assert user.id is not None
    prefix = f"/grant #{user.id}"
    role_buttons = (tuple(Button(texts(f"role.{r}"), f"{prefix} {r}") for r in flow.ROLES),)
    if not rest:
        return _say(texts("adm.grant.ask_role", who=_who(ctx, user)), role_buttons)
    role = flow.role_of(rest[0])
    if role not in flow.ROLES:
        return _say(texts("adm.bad_role", role=rest[0]), role_buttons)
    code = ""
    if role == "officer":
        step = _jurisdiction_step(
            call,
            f"{prefix} officer",
            rest[1] if len(rest) > 1 else None,
            "adm.grant.ask_county",
            who=_who(ctx, user),
        )
        if isinstance(step, CommandResult):
            return step
        code = step
    label = flow.role_label(ctx, role, code)
    if _held(await call.uow.users.roles(user.id), role, code):
        return _say(texts("adm.grant.already", name=_name(user), role=label))
    if not args.confirmed:
        text = texts("adm.grant.confirm", who=_who(ctx, user), role=label)
        return _say(text, flow.confirm_buttons(ctx, f"{prefix} {role} {code}".strip()))
    await grant_role(call.uow, call.now, ctx.directory, user, role, code, _actor(call))
    return _say(texts("adm.grant.done", name=_name(user), role=label))


async def revoke_command(call: Call, command: Command) -> CommandResult:
    """/revoke [person [role [county]]]: the person's roles as buttons, then a confirmation."""
    ctx, texts = call.ctx, call.ctx.texts
    args = flow.parse_args(command.args)
    if args.cancelled:
        return _say(texts("adm.cancelled"))
    picked = await _pick(call, "revoke", args, ANY_ROLE, "adm.revoke.ask_user")
    if isinstance(picked, CommandResult):
        return picked
    user, rest = picked, args.tokens[1:]
    assert user.id is not None
    prefix = f"/revoke #{user.id}"
    grants = await call.uow.users.roles(user.id)
    if not grants:
        return _say(texts("adm.revoke.none", name=_name(user)))
    held_buttons = tuple(
        (
            Button(
                flow.role_label(ctx, g.role, g.jurisdiction_code),
                f"{prefix} {g.role} {g.jurisdiction_code}".strip(),
            ),
        )
        for g in sorted(grants, key=lambda g: (g.role, g.jurisdiction_code))
    )
    if not rest:
        return _say(texts("adm.revoke.ask_role", who=_who(ctx, user)), held_buttons)
    role = flow.role_of(rest[0])
    if role not in flow.ROLES:
        return _say(texts("adm.bad_role", role=rest[0]), held_buttons)
    code = rest[1] if len(rest) > 1 else None
    held = _held(grants, role, code)
    if not held:
        return _say(
            texts("adm.revoke.not_held", name=_name(user), role=flow.role_label(ctx, role, code)),
            held_buttons,
        )
    if role == "officer" and len(held) > 1:
        return _say(texts("adm.revoke.which", name=_name(user)), held_buttons)
    code = held[0].jurisdiction_code
    label = flow.role_label(ctx, role, code)
    if role == "admin" and not [u for u in await call.uow.users.lock_holders("admin") if u != user.id]:
        return _say(texts("adm.last_admin"))
    if not args.confirmed:
        text = texts("adm.revoke.confirm", who=_who(ctx, user), role=label)
        return _say(text, flow.confirm_buttons(ctx, f"{prefix} {role} {code}".strip()))
    try:
        await revoke_role(call.uow, call.now, ctx.directory, user, role, code or None, _actor(call))
    except AdminError as exc:
        return _refused(call, exc)
    return _say(texts("adm.revoke.done", name=_name(user), role=label))


async def move_command(call: Call, command: Command) -> CommandResult:
    """/move [officer [from [to]]]: an officer moves from one county to another in one step."""
    ctx, texts = call.ctx, call.ctx.texts
    args = flow.parse_args(command.args)
    if args.cancelled:
        return _say(texts("adm.cancelled"))
    picked = await _pick(call, "move", args, "officer", "adm.move.ask_user")
    if isinstance(picked, CommandResult):
        return picked
    user, rest = picked, args.tokens[1:]
    assert user.id is not None
    prefix = f"/move #{user.id}"
    counties = sorted(
        g.jurisdiction_code for g in _held(await call.uow.users.roles(user.id), "officer", None)
    )
    if not counties:
        return _say(texts("adm.move.not_officer", name=_name(user)))
    from_buttons = tuple((Button(flow.role_label(ctx, "officer", c), f"{prefix} {c}"),) for c in counties)
    if not rest and len(counties) > 1:
        return _say(texts("adm.move.ask_from", who=_who(ctx, user)), from_buttons)
    from_code = rest[0] if rest else counties[0]
    if from_code not in counties:
        where = ctx.directory.get(from_code)
        text = texts("adm.move.not_held", name=_name(user), jurisdiction=where.name if where else from_code)
        return _say(text, from_buttons)
    origin = ctx.directory.get(from_code)
    step = _jurisdiction_step(
        call,
        f"{prefix} {from_code}",
        rest[1] if len(rest) > 1 else None,
        "adm.move.ask_to",
        who=_who(ctx, user),
        old=origin.name if origin else from_code,
    )
    if isinstance(step, CommandResult):
        return step
    to_code = step
    old, new = flow.role_label(ctx, "officer", from_code), flow.role_label(ctx, "officer", to_code)
    if to_code == from_code:
        return _say(texts("adm.move.same", jurisdiction=ctx.directory.get(to_code).name))  # type: ignore[union-attr]
    if to_code in counties:
        return _say(texts("adm.move.already", name=_name(user), jurisdiction=ctx.directory.get(to_code).name))  # type: ignore[union-attr]
    if not args.confirmed:
        text = texts("adm.move.confirm", who=_who(ctx, user), old=old, new=new)
        return _say(text, flow.confirm_buttons(ctx, f"{prefix} {from_code} {to_code}"))
    try:
        await move_officer(call.uow, call.now, ctx.directory, user, from_code, to_code, _actor(call))
    except AdminError as exc:
        return _refused(call, exc)
    return _say(texts("adm.move.done", name=_name(user), old=old, new=new))


async def users_command(call: Call, command: Command) -> CommandResult:
    """/users [role]: who is registered and which roles they hold, a page at a time."""
    ctx, texts, uow = call.ctx, call.ctx.texts, call.uow
    args = flow.parse_args(command.args)
    role = flow.role_of(args.tokens[0]) if args.tokens else None
    filters = (
        (Button(texts("adm.users.all"), "/users"),),
        tuple(Button(texts(f"role.{r}"), f"/users {r}") for r in flow.LISTED_ROLES),
    )
    if args.tokens and role is None:
        return _say(texts("adm.bad_role", role=args.tokens[0]), filters)
    total = await uow.users.count_listed(role)
    if total == 0:
        return _say(texts("users.none"), filters)
    page = min(args.page, flow.pages(total))
    rows = await uow.users.list_with_roles(role, limit=flow.PAGE_SIZE, offset=(page - 1) * flow.PAGE_SIZE)
    if role is None:
        lines = [texts("users.header", count=total)]
    else:
        lines = [texts("adm.users.header_role", role=texts(f"role.{role}"), count=total)]
    for user, grants in rows:
        roles = "、".join(flow.role_label(ctx, g.role, g.jurisdiction_code) for g in grants) or texts(
            "role.cadre"
        )
        unit = ctx.directory.full_name(user.unit_code) if user.unit_code else "—"
        lines.append(texts("users.line", name=user.name or f"#{user.id}", unit=unit, roles=roles))
    shown_until = (page - 1) * flow.PAGE_SIZE + len(rows)
    if total > shown_until:
        lines.append(texts("users.more", count=total - shown_until))
    if total > flow.PAGE_SIZE:
        lines.append(texts("adm.page", page=page, pages=flow.pages(total)))
    paging = flow.page_row(ctx, f"/users {role or ''}".strip(), page, total)
    return _say("\n".join(lines), tuple(r for r in (paging, *filters) if r))


COMMANDS = {"grant": grant_command, "revoke": revoke_command, "move": move_command, "users": users_command}
