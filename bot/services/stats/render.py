"""The /stats message in the reader's language. Pure: figures in, text out.

Unit-level cells under model.SMALL_CELL are shown as "<3" so that nobody can be identified; the
totals, categories, situations and months are not unit-level and are shown as they are.
"""

from __future__ import annotations

from calendar import monthrange
from collections.abc import Callable, Mapping
from datetime import date

from bot.services.stats.model import FilingCounts, GroupCounts, Stats, suppressed
from dialogs.directory import OrgDirectory
from dialogs.policy.pack import PolicyPack
from dialogs.texts import Texts

UNITS_LISTED = 15
MONTHS_LISTED = 12


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"


def _name(texts: Texts, value: Mapping[str, str]) -> str:
    return value.get(texts.locale) or value["zh_CN"]


def period_label(texts: Texts, first: date | None, last: date | None) -> str:
    if first is None and last is None:
        return texts("stats.period.all")
    if first is None or last is None:
        return texts(
            "stats.period.range",
            first=first.isoformat() if first else "…",
            last=last.isoformat() if last else "…",
        )
    whole_months = first.day == 1 and last.day == monthrange(last.year, last.month)[1]
    if not whole_months:
        return texts("stats.period.range", first=first.isoformat(), last=last.isoformat())
    if (first.month, last.month) == (1, 12) and first.year == last.year:
        return texts("stats.period.year", year=first.year)
    if (first.year, first.month) == (last.year, last.month):
        return texts("stats.period.month", year=first.year, month=first.month)
    if first.year == last.year and first.month % 3 == 1 and last.month == first.month + 2:
        return texts("stats.period.quarter", year=first.year, quarter=(first.month + 2) // 3)
    return texts(
        "stats.period.range",
        first=texts("stats.period.month", year=first.year, month=first.month),
        last=texts("stats.period.month", year=last.year, month=last.month),
    )


def scope_label(texts: Texts, jurisdictions: tuple[str, ...] | None, directory: OrgDirectory) -> str:
    if jurisdictions is None:
        return texts("stats.scope.all")
    names = []
    for code in jurisdictions:
        unit = directory.get(code)
        names.append(unit.name if unit else code)
    return "、".join(names) if texts.locale != "en" else ", ".join(names)


def _group_line(texts: Texts, name: str, counts: FilingCounts, *, small_cells: bool = False) -> str:
    shown = suppressed if small_cells else (lambda n: n)
    return texts(
        "stats.group_line",
        name=name,
        received=shown(counts.received),
        accepted=shown(counts.accepted),
        not_accepted=shown(counts.not_accepted),
    )


def _parts(texts: Texts, name_of: Callable[[str], str], counts: tuple[tuple[str, int], ...]) -> str:
    separator = "; " if texts.locale == "en" else "，"
    return separator.join(texts("stats.part", name=name_of(key), count=count) for key, count in counts)


def render_stats(texts: Texts, stats: Stats, *, policy: PolicyPack, directory: OrgDirectory) -> str:
    f = stats.filings
    lines = [
        texts(
            "stats.header",
            period=period_label(texts, stats.first_day, stats.last_day),
            scope=scope_label(texts, stats.jurisdictions, directory),
        ),
        texts("stats.as_of", time=stats.generated_at[:16].replace("T", " ")),
        "",
        texts(
            "stats.filings",
            received=f.received,
            accepted=f.accepted,
            not_accepted=f.not_accepted,
            returned=f.returned,
            pending=f.pending,
            withdrawn=f.withdrawn,
            rate=percent(f.acceptance_rate),
        ),
    ]
    rt = stats.review_time
    median = (
        "—" if rt.median_work_hours is None else texts("stats.hours", hours=f"{rt.median_work_hours:.1f}")
    )
    lines.append(
        texts(
            "stats.review_time",
            median=median,
            decided=rt.decided,
            breaches=rt.sla_breaches,
            late=rt.late_decisions,
            waiting=rt.waiting_past_deadline,
        )
    )
    separator = "｜" if texts.locale != "en" else " | "
    lines.append(
        "  "
        + separator.join(
            texts("stats.part", name=texts(f"stats.bucket.{key}"), count=count) for key, count in rt.histogram
        )
    )

    lines += ["", texts("stats.section.categories")]
    for group in stats.categories:
        try:
            name = f"{group.key} {_name(texts, policy.category(group.key).name)}"
        except (KeyError, LookupError):
            name = group.key
        lines.append(_group_line(texts, name, group.counts))

    lines += ["", texts("stats.section.situations")]
    for situation, count in stats.situations:
        try:
            name = f"{situation} {_name(texts, policy.situation(situation).title)}"
        except (KeyError, LookupError):
            name = situation
        lines.append(texts("stats.situation_line", name=name, count=count))

    lines += ["", texts("stats.section.units")]
    lines += _unit_lines(texts, stats.units, directory)

    lines += ["", texts("stats.section.months")]
    months = stats.by_month[-MONTHS_LISTED:]
    for row in months:
        c = row.counts
        lines.append(
            texts(
                "stats.month_line",
                month=row.key,
                received=c.received,
                accepted=c.accepted,
                not_accepted=c.not_accepted,
                returned=c.returned,
                pending=c.pending,
            )
        )
    if len(stats.by_month) > MONTHS_LISTED:
        lines.append(texts("stats.months_more", count=MONTHS_LISTED))

    reviews, match = stats.reviews, stats.verdict_match
    lines += [
        "",
        texts(
            "stats.reviews.opened",
            count=reviews.opened,
            parts=_parts(texts, lambda k: texts(f"tr.source.{k}"), reviews.by_source),
        ),
        texts(
            "stats.reviews.decided",
            count=reviews.decided,
            parts=_parts(texts, lambda k: texts(f"tr.outcome.{k}"), reviews.by_outcome),
        ),
        texts(
            "stats.verdict_match",
            matched=match.matched,
            comparable=match.comparable,
            share=percent(match.share),
            other=match.decided - match.comparable,
        ),
    ]
    r = stats.rectification
    lines += [
        "",
        texts(
            "stats.rectification",
            total=r.total,
            open=r.open,
            overdue=r.overdue_now,
            closed=r.closed,
            rate=percent(r.on_time_rate),
            on_time=r.accepted_on_time,
            accepted=r.accepted,
            extended=r.extended,
        ),
    ]
    v = stats.visits
    lines += [
        "",
        texts(
            "stats.visits",
            due=v.due,
            on_time=v.done_on_time,
            late=v.done_late,
            overdue=v.overdue,
            today=v.due_today,
        ),
    ]
    return "\n".join(lines)


def _unit_lines(texts: Texts, units: tuple[GroupCounts, ...], directory: OrgDirectory) -> list[str]:
    lines = []
    for group in units[:UNITS_LISTED]:
        unit = directory.get(group.key)
        lines.append(_group_line(texts, unit.name if unit else group.key, group.counts, small_cells=True))
    if len(units) > UNITS_LISTED:
        lines.append(texts("stats.units_more", count=len(units) - UNITS_LISTED))
    if not units:
        lines.append(texts("stats.none"))
    return lines
