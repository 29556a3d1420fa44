"""/lang: each person chooses the language the bot speaks to them, whatever their phone says.

The first language comes from the Telegram client's `language_code` when the account is made;
/lang overrides it for good. Switching never costs input: the dialog the person is in is shown
again, at the same step, in the new language.
"""

from __future__ import annotations

import dataclasses

from bot.services.calls import Call, CommandResult
from dialogs import router
from dialogs.actions import command_action
from dialogs.events import Command, Open
from dialogs.replies import Button, Reply
from dialogs.texts import LANGUAGE_NAMES, LOCALES, Texts


def _choose(call: Call) -> CommandResult:
    current = call.user.locale
    buttons = tuple(
        (Button(("✓ " if code == current else "") + LANGUAGE_NAMES[code], command_action(f"lang {code}")),)
        for code in LOCALES
    )
    return CommandResult(replies=[Reply(call.ctx.texts("lang.choose"), buttons)])


def _parse(raw: str) -> str | None:
    """The buttons' codes, and what people type instead: "zh-TW", "EN", "繁體中文"."""
    by_name = {name.lower(): code for code, name in LANGUAGE_NAMES.items()}
    by_code = {code.lower().replace("_", "-"): code for code in LOCALES}
    key = raw.strip().lower().replace("_", "-")
    return by_name.get(key) or by_code.get(key)


async def lang(call: Call, command: Command) -> CommandResult:
    wanted = command.args.strip()
    if not wanted:
        return _choose(call)
    locale = _parse(wanted)
    if locale is None:
        unknown = _choose(call)
        unknown.replies.insert(0, Reply(call.ctx.texts("lang.unknown", value=wanted[:40])))
        return unknown
    user = call.user
    if user.locale != locale:
        user.locale = locale
        user.updated_at = call.now
        call.uow.session.add(user)
    ctx = dataclasses.replace(call.ctx, texts=Texts(locale))
    # What opening the chat would show: the current question again, or the menu.
    shown = router.route(call.state, Open(at=call.now), ctx)
    replies = [Reply(ctx.texts("lang.done", language=LANGUAGE_NAMES[locale])), *shown.outcome.replies]
    return CommandResult(replies=replies, state=shown.state)


COMMANDS = {"lang": lang}
