"""Which commands each kind of user has: drives /help, the start menu and Telegram's command menu."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from dialogs.actions import command_action
from dialogs.context import Context, Viewer
from dialogs.replies import Button

ANYONE = "anyone"
REGISTERED = "registered"


@dataclass(frozen=True, slots=True)
class MenuCommand:
    name: str
    description_key: str
    audience: str  # ANYONE, REGISTERED, or a role id
    on_start_menu: bool = False
    # Reached through buttons (with arguments), not listed in /help or the command menu.
    hidden: bool = False


COMMANDS: tuple[MenuCommand, ...] = (
    MenuCommand("start", "cmd.start", ANYONE),
    MenuCommand("help", "cmd.help", ANYONE, on_start_menu=True),
    MenuCommand("cancel", "cmd.cancel", ANYONE),
    MenuCommand("new", "cmd.new", REGISTERED, on_start_menu=True),
    MenuCommand("selfcheck", "cmd.selfcheck", REGISTERED, on_start_menu=True),
    MenuCommand("drafts", "cmd.drafts", REGISTERED, on_start_menu=True),
    MenuCommand("mine", "cmd.mine", REGISTERED, on_start_menu=True),
    MenuCommand("tasks", "rect.cmd.tasks", REGISTERED, on_start_menu=True),
    MenuCommand("me", "cmd.me", REGISTERED, on_start_menu=True),
    MenuCommand("queue", "cmd.queue", "officer", on_start_menu=True),
    MenuCommand("visits", "cmd.visits", "officer", on_start_menu=True),
    MenuCommand("users", "cmd.users", "admin", on_start_menu=True),
    MenuCommand("grant", "cmd.grant", "admin"),
    MenuCommand("revoke", "cmd.revoke", "admin"),
    MenuCommand("move", "cmd.move", "admin"),
    MenuCommand("invite", "inv.cmd", "admin"),
    MenuCommand("import", "cmd.import", "admin"),
    MenuCommand("audit", "cmd.audit", "officer|admin"),
    MenuCommand("stats", "stats.cmd", "officer|admin", on_start_menu=True),
    MenuCommand("export", "export.cmd", "officer|admin"),
    MenuCommand("link", "cmd.link", ANYONE),
    MenuCommand("lang", "cmd.lang", ANYONE),
    MenuCommand("resume", "cmd.resume", REGISTERED, hidden=True),
    MenuCommand("deldraft", "cmd.deldraft", REGISTERED, hidden=True),
    MenuCommand("filing", "cmd.filing", REGISTERED, hidden=True),
    MenuCommand("withdraw", "cmd.withdraw", REGISTERED, hidden=True),
    MenuCommand("savecheck", "cmd.savecheck", REGISTERED, hidden=True),
    MenuCommand("accept", "cmd.accept", "officer", hidden=True),
    MenuCommand("reject", "cmd.reject", "officer", hidden=True),
    MenuCommand("return", "cmd.return", "officer", hidden=True),
    MenuCommand("answer", "cmd.answer", REGISTERED, hidden=True),
    MenuCommand("rectify", "rect.cmd.rectify", "officer", hidden=True),
    MenuCommand("openreview", "cmd.openreview", "officer", hidden=True),
    MenuCommand("findings", "cmd.findings", "officer", hidden=True),
    MenuCommand("team", "cmd.team", "officer", hidden=True),
    MenuCommand("decide", "cmd.decide", "officer", hidden=True),
    MenuCommand("review", "cmd.review", "officer", hidden=True),
    MenuCommand("guidance", "cmd.guidance", "officer", hidden=True),
    MenuCommand("progress", "cmd.progress", REGISTERED, hidden=True),
    MenuCommand("itemok", "rect.cmd.itemok", "officer", hidden=True),
    MenuCommand("itemback", "rect.cmd.itemback", "officer", hidden=True),
    MenuCommand("extend", "rect.cmd.extend", "officer", hidden=True),
    MenuCommand("evidence", "rect.cmd.evidence", REGISTERED, hidden=True),
    MenuCommand("visit", "cmd.visit", "officer", hidden=True),
    MenuCommand("visitform", "cmd.visitform", REGISTERED, hidden=True),
    MenuCommand("close", "cmd.close", "officer", hidden=True),
)


def _allowed(command: MenuCommand, viewer: Viewer) -> bool:
    if command.audience == ANYONE:
        return True
    if command.audience == REGISTERED:
        return viewer.registered
    # "officer|admin": any one of these roles will do.
    return viewer.registered and any(viewer.has_role(r) for r in command.audience.split("|"))


def commands_for(viewer: Viewer) -> list[MenuCommand]:
    """What the user sees listed (help, menus); hidden commands stay reachable by their buttons."""
    return list(_visible(viewer.registered, viewer.roles))


@functools.lru_cache(maxsize=64)
def _visible(registered: bool, roles: frozenset[str]) -> tuple[MenuCommand, ...]:
    # Every update asks (the menu key); the answer depends on these two only, and there are few
    # combinations of them.
    viewer = Viewer(registered=registered, roles=roles)
    return tuple(c for c in COMMANDS if not c.hidden and _allowed(c, viewer))


def is_known(name: str) -> bool:
    return any(c.name == name for c in COMMANDS)


def allowed(name: str, viewer: Viewer) -> bool:
    return any(c.name == name and _allowed(c, viewer) for c in COMMANDS)


def menu_key(viewer: Viewer) -> str:
    """Changes exactly when the visible command set changes; channels cache menus by it."""
    return ",".join(c.name for c in commands_for(viewer))


def start_menu(ctx: Context) -> tuple[tuple[Button, ...], ...]:
    buttons = [
        Button(ctx.texts(f"menu.{c.name}"), command_action(c.name))
        for c in commands_for(ctx.viewer)
        if c.on_start_menu
    ]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def help_text(ctx: Context) -> str:
    lines = [f"/{c.name} — {ctx.texts(c.description_key)}" for c in commands_for(ctx.viewer)]
    return ctx.texts("help.header") + "\n" + "\n".join(lines)
