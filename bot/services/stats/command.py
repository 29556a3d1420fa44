"""/stats [PERIOD] [@JURISDICTION]: the figures for officers (their own jurisdictions) and admins
(any jurisdiction, or all of them). Cadres never get here: dialogs/menus.py declares the command
for "officer|admin" and the conversation service refuses everyone else politely.

PERIOD is anything bot/services/stats/period.py reads (`2026-01..2026-06`, `2026-03`, `2026`,
`quarter`, `本季度` ...); JURISDICTION a county code, its name or short name, or `all`. Buttons
carry both, so a press computes the figures again for the new choice.
"""

from __future__ import annotations

import asyncio

from bot.services.calls import Call, CommandResult
from bot.services.stats import render
from bot.services.stats.chart import stats_chart
from bot.services.stats.compute import compute_stats
from bot.services.stats.period import NAMED, Period, PeriodError, named, parse_period
from dialogs.directory import OrgDirectory
from dialogs.events import Command
from dialogs.replies import Button, OutgoingFile, Reply
from storage.repositories.stats import StatsQuery

ALL_SCOPES = "all"
SCOPE_BUTTONS_PER_ROW = 3


class _ScopeRefused(Exception):
    pass


def _county(directory: OrgDirectory, token: str) -> str | None:
    """The county/district a token names: its code, name or short name."""
    for unit in directory:
        if unit.level == "county" and token in (unit.code, unit.name, unit.short_name):
            return unit.code
    return None


def _split(args: str, directory: OrgDirectory) -> tuple[str, str | None]:
    """(period text, scope token or None): `@x` is always a scope; a bare county name too."""
    period_words, scope = [], None
    for word in args.split():
        if word.startswith("@"):
            scope = word[1:]
        elif _county(directory, word) is not None:
            scope = word
        else:
            period_words.append(word)
    return " ".join(period_words), scope


def _visible(call: Call) -> tuple[str, ...] | None:
    """What the caller may count: None (everything) for admins, else their own jurisdictions."""
    viewer = call.ctx.viewer
    return None if viewer.has_role("admin") else tuple(sorted(viewer.jurisdictions))


def _scope(call: Call, token: str | None) -> tuple[str, ...] | None:
    visible = _visible(call)
    if token is None or token.lower() in (ALL_SCOPES, "全部"):
        return visible
    code = _county(call.ctx.directory, token)
    if code is None:
        raise PeriodError("stats.scope.unknown", value=token)
    if visible is not None and code not in visible:
        raise _ScopeRefused(code)
    return (code,)


def _scope_token(scope: tuple[str, ...] | None, visible: tuple[str, ...] | None) -> str:
    return ALL_SCOPES if scope == visible or scope is None else scope[0]


def _buttons(call: Call, period: Period, scope: tuple[str, ...] | None) -> tuple[tuple[Button, ...], ...]:
    texts, visible = call.ctx.texts, _visible(call)
    here = _scope_token(scope, visible)

    def mark(label: str, current: bool) -> str:
        return f"✓ {label}" if current else label

    today = call.now.astimezone(call.env.tz).date()

    def same(name: str) -> bool:
        other = named(name, today)
        return (other.first, other.last) == (period.first, period.last)

    periods = tuple(
        Button(mark(texts(f"stats.button.{name}"), same(name)), f"/stats {name} @{here}") for name in NAMED
    )
    rows: list[tuple[Button, ...]] = [periods]
    counties = (
        [u.code for u in call.ctx.directory if u.level == "county"] if visible is None else list(visible)
    )
    if len(counties) > 1:
        choices = [
            Button(mark(texts("stats.scope.all"), here == ALL_SCOPES), f"/stats {period.token} @{ALL_SCOPES}")
        ]
        for code in counties:
            unit = call.ctx.directory.get(code)
            label = unit.display_short if unit else code
            choices.append(Button(mark(label, here == code), f"/stats {period.token} @{code}"))
        rows += [
            tuple(choices[i : i + SCOPE_BUTTONS_PER_ROW])
            for i in range(0, len(choices), SCOPE_BUTTONS_PER_ROW)
        ]
    return tuple(rows)


def _period_buttons(call: Call) -> tuple[tuple[Button, ...], ...]:
    texts = call.ctx.texts
    return (tuple(Button(texts(f"stats.button.{name}"), f"/stats {name}") for name in NAMED),)


async def stats(call: Call, command: Command) -> CommandResult:
    texts, viewer = call.ctx.texts, call.ctx.viewer
    if not viewer.has_role("admin") and not viewer.jurisdictions:
        return CommandResult([Reply(texts("stats.scope.none"))])
    today = call.now.astimezone(call.env.tz).date()
    period_text, token = _split(command.args, call.ctx.directory)
    try:
        period = parse_period(period_text, today)
        scope = _scope(call, token)
    except PeriodError as error:
        return CommandResult([Reply(texts(error.key, **error.params), _period_buttons(call))])
    except _ScopeRefused:
        call.uow.audit.record(
            at=call.now,
            action="access.denied",
            subject_type="stats",
            subject_id=token or "-",
            actor_user_id=call.user.id,
            comment=f"/stats {command.args}"[:200],
        )
        allowed = render.scope_label(texts, _visible(call), call.ctx.directory)
        return CommandResult([Reply(texts("stats.scope.not_yours", allowed=allowed), _period_buttons(call))])
    policy = call.env.policy
    query = StatsQuery(period.first, period.last, scope, now=call.now, tz=call.env.tz)
    figures = await compute_stats(
        call.uow,
        query,
        categories=[c.id for c in policy.categories],
        situations=[s.id for s in policy.situations],
    )
    text = render.render_stats(texts, figures, policy=policy, directory=call.ctx.directory)
    # Drawn in a worker thread: matplotlib is CPU work that would stall every other conversation.
    png = await asyncio.to_thread(stats_chart, figures, texts)
    return CommandResult(
        [
            Reply(text + "\n\n" + texts("stats.hint"), _buttons(call, period, scope)),
            Reply(
                texts("chart.caption"),
                attachment=OutgoingFile("photo", "rongcuo-stats.png", png, "image/png"),
            ),
        ]
    )


COMMANDS = {"stats": stats}
