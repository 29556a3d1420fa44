"""Top of the conversation: commands, starting and resuming dialogs, and what to say outside any dialog.

`route` is pure like the engine; commands that need the database are answered by the service
layer before the router is called.
"""

from __future__ import annotations

from dialogs import engine, menus
from dialogs.context import Context
from dialogs.engine import Result
from dialogs.events import Command, Event, Open, Press, parse_text
from dialogs.flows import selfcheck
from dialogs.flows.registration import REGISTRATION
from dialogs.registry import dialogs_for
from dialogs.replies import Outcome, Reply
from dialogs.state import DialogState


def route(state: DialogState | None, event: Event, ctx: Context) -> Result:
    dialogs = dialogs_for(ctx.policy)
    if state is not None and (state.dialog not in dialogs or not dialogs[state.dialog].has_step(state.step)):
        # A dialog or step that no longer exists in code (or in the policy pack): drop it rather
        # than strand the user. Pre-filing drafts stay in their filing rows and can be resumed.
        state = None
    if isinstance(event, Press) and event.action.startswith("/"):
        event = parse_text(event.at, event.action)
    if isinstance(event, Command):
        return _command(state, event, ctx)
    if isinstance(event, Open):
        return _open(state, ctx)
    if state is not None and not state.paused:
        return engine.handle(dialogs[state.dialog], state, event, ctx)
    if not ctx.viewer.registered:
        return _registration(state, ctx, greet=state is None)
    if isinstance(event, Press):
        return Result(state, _menu(ctx, ctx.texts("router.button_expired")))
    return Result(state, _menu(ctx, ctx.texts("router.idle")))


def _command(state: DialogState | None, event: Command, ctx: Context) -> Result:
    name = event.name
    dialogs = dialogs_for(ctx.policy)
    if name == "start":
        if not ctx.viewer.registered:
            return _registration(state, ctx, greet=True)
        if state is not None:
            # The pause message promises that /start continues where the user left off.
            return engine.resume(dialogs[state.dialog], state, ctx)
        return Result(state, _menu(ctx, ctx.texts("router.welcome_back", name=ctx.viewer.name or "")))
    if name == "help":
        return Result(state, Outcome(replies=[Reply(menus.help_text(ctx), menus.start_menu(ctx))]))
    if name == "cancel":
        if state is not None and not state.paused:
            return engine.pause(dialogs[state.dialog], state, ctx)
        return Result(state, _menu(ctx, ctx.texts("router.nothing_to_cancel")))
    if not menus.is_known(name):
        return Result(state, Outcome(replies=[Reply(ctx.texts("router.unknown_command", command=name))]))
    if not ctx.viewer.registered:
        return _registration(state, ctx, greet=False, notice=ctx.texts("router.register_first"))
    if not menus.allowed(name, ctx.viewer):
        return Result(state, Outcome(replies=[Reply(ctx.texts("router.not_allowed", command=name))]))
    if name == "me":
        return Result(state, Outcome(replies=[Reply(_profile(ctx), menus.start_menu(ctx))]))
    if name == "selfcheck" and selfcheck.NAME in dialogs:
        return engine.start(dialogs[selfcheck.NAME], ctx, intro=ctx.texts("sc.intro"))
    # Known and allowed but answered by the service layer (it needs the database); reaching here is a bug.
    return Result(state, Outcome(replies=[Reply(ctx.texts("router.unknown_command", command=name))]))


def _open(state: DialogState | None, ctx: Context) -> Result:
    if state is not None and not state.paused:
        return engine.resume(dialogs_for(ctx.policy)[state.dialog], state, ctx)
    if not ctx.viewer.registered:
        return _registration(state, ctx, greet=True)
    return Result(state, _menu(ctx, ctx.texts("router.welcome_back", name=ctx.viewer.name or "")))


def _registration(
    state: DialogState | None, ctx: Context, *, greet: bool, notice: str | None = None
) -> Result:
    intro = ctx.texts("greeting") if greet else notice
    if state is not None and state.dialog == REGISTRATION.name:
        result = engine.resume(REGISTRATION, state, ctx)
        if intro:
            result.outcome.replies.insert(0, Reply(intro))
        return result
    return engine.start(REGISTRATION, ctx, intro=intro)


def _menu(ctx: Context, text: str) -> Outcome:
    return Outcome(replies=[Reply(text, menus.start_menu(ctx))])


def _profile(ctx: Context) -> str:
    viewer = ctx.viewer
    roles = "、".join(ctx.texts(f"role.{r}") for r in sorted(viewer.roles)) or ctx.texts("role.cadre")
    lines = [
        ctx.texts("me.header"),
        ctx.texts("me.name", name=viewer.name or ""),
        ctx.texts("me.unit", unit=ctx.directory.full_name(viewer.unit_code) if viewer.unit_code else "—"),
        ctx.texts("me.position", position=viewer.position or ""),
        ctx.texts("me.roles", roles=roles),
    ]
    if viewer.jurisdictions:
        names = "、".join(ctx.directory.full_name(c) for c in sorted(viewer.jurisdictions))
        lines.append(ctx.texts("me.jurisdictions", jurisdictions=names))
    return "\n".join(lines)
