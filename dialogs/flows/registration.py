"""Registration: name → city → county/district → unit → position.

The unit is chosen from the organisation directory with buttons, so filings can be routed to
the discipline commission of the right county later.
"""

from __future__ import annotations

import re
from dataclasses import replace

from dialogs import menus
from dialogs.context import Context
from dialogs.engine import Dialog
from dialogs.replies import Outcome, RegisterUser, Reply
from dialogs.steps import Answers, ChoiceStep, Option, TextStep

NAME = "registration"

_NOT_A_NAME = re.compile(r"[0-9０-９@#/\\<>{}\[\]|_=+*&^%$!?？！，,。;；:：\"“”]")


def _check_name(ctx: Context, value: str) -> str | None:
    if _NOT_A_NAME.search(value):
        return ctx.texts("reg.name_invalid")
    return None


def _units(ctx: Context, parent: str | None) -> list[Option]:
    return [Option(u.code, u.name) for u in ctx.directory.children(parent)]


def _finish(ctx: Context, answers: Answers) -> Outcome:
    unit = str(answers["unit"])
    effect = RegisterUser(name=answers["name"], unit_code=unit, position=answers["position"])
    text = ctx.texts(
        "reg.done",
        name=answers["name"],
        unit=ctx.directory.full_name(unit),
        position=answers["position"],
    )
    # The menu a registered cadre has, offered right away so the next step is one tap.
    registered = replace(ctx.viewer, registered=True, roles=ctx.viewer.roles | {"cadre"})
    menu = menus.start_menu(replace(ctx, viewer=registered))
    return Outcome(replies=[Reply(text, menu)], effects=[effect])


REGISTRATION = Dialog(
    name=NAME,
    title_key="reg.title",
    finish=_finish,
    steps=(
        TextStep("name", "reg.ask_name", "reg.field.name", min_len=2, max_len=30, validator=_check_name),
        ChoiceStep("city", "reg.ask_city", "reg.field.city", choices=lambda ctx, a: _units(ctx, None)),
        ChoiceStep(
            "county",
            "reg.ask_county",
            "reg.field.county",
            depends_on=("city",),
            choices=lambda ctx, a: _units(ctx, a.get("city")),
        ),
        ChoiceStep(
            "unit",
            "reg.ask_unit",
            "reg.field.unit",
            depends_on=("county",),
            columns=1,
            choices=lambda ctx, a: _units(ctx, a.get("county")),
        ),
        TextStep("position", "reg.ask_position", "reg.field.position", min_len=2, max_len=30),
    ),
)
