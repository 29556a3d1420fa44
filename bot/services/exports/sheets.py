"""What each sheet of an export holds: its columns, how a stored row becomes cells, where rows come from.

Free-text columns (what people typed: titles, descriptions, findings, notes) are marked `free` and
appear only in the full export, which only administrators may ask for and which is audit-logged.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from dialogs.directory import OrgDirectory
from dialogs.policy.pack import PolicyPack
from dialogs.texts import Texts
from storage.database import Database
from storage.models import Filing, RectificationItem, ReturnVisit, ToleranceReview
from storage.uow import UnitOfWork

BATCH = 500

# Kinds of cell: writers format dates and times, and never read text as a formula.
TEXT, INT, DATE, DATETIME = "text", "int", "date", "datetime"


@dataclass(frozen=True, slots=True)
class Render:
    """What turning stored values into cells needs: the language, the directory, the time zone;
    and for the summary, the policy pack (category and situation names) and the export's time."""

    texts: Texts
    directory: OrgDirectory
    tz: ZoneInfo
    policy: PolicyPack
    now: datetime

    def label(self, template: str, value: str | None) -> str | None:
        """A stored code (status, outcome) as its label ("status.{}"); an unknown code stays as it is."""
        if not value:
            return None
        key = template.format(value)
        return self.texts(key) if self.texts.has(key) else value

    def local(self, value: datetime | None) -> datetime | None:
        # Excel has no time zones: the local wall-clock time, as officials read it.
        return value.astimezone(self.tz).replace(tzinfo=None) if value else None

    def county(self, code: str | None) -> str | None:
        unit = self.directory.get(code) if code else None
        return unit.name if unit else code

    def unit(self, code: str | None) -> str | None:
        return self.directory.full_name(code) if code else None

    def yes_no(self, value: bool) -> str:
        return self.texts("export.yes" if value else "export.no")


def sheet_title(texts: Texts, key: str) -> str:
    return texts(f"export.sheet.{key}")


@dataclass(frozen=True, slots=True)
class Column:
    header_key: str
    value: Callable[[Render, Any], Any]
    kind: str = TEXT
    width: int = 14
    free: bool = False


Fetch = Callable[[UnitOfWork, int, int, Collection[str] | None], Any]


@dataclass(frozen=True, slots=True)
class TableSheet:
    key: str  # file name of its CSV, and the suffix of its title's message id
    columns: tuple[Column, ...]
    fetch: Fetch  # one page of (row, extra) pairs after an id

    def title(self, texts: Texts) -> str:
        return sheet_title(texts, self.key)

    def visible(self, full: bool) -> tuple[Column, ...]:
        return tuple(c for c in self.columns if full or not c.free)

    async def batches(
        self, database: Database, jurisdictions: Collection[str] | None, render: Render, full: bool
    ) -> AsyncIterator[list[list[Any]]]:
        columns = self.visible(full)
        after = 0
        while True:
            # A short transaction per page (see storage/repositories/exports.py).
            async with UnitOfWork(database) as uow:
                page: Sequence[tuple[Any, Any]] = await self.fetch(uow, after, BATCH, jurisdictions)
            if not page:
                return
            yield [[c.value(render, pair) for c in columns] for pair in page]
            after = page[-1][0].id
            if len(page) < BATCH:
                return


def _answer(name: str) -> Callable[[Render, Any], Any]:
    def get(render: Render, pair: tuple[Filing, str | None]) -> Any:
        value = pair[0].answers.get(name)
        return value if isinstance(value, str) else None

    return get


def _filing_kind(render: Render, pair: tuple[Filing, str | None]) -> str | None:
    return render.label("pf.kind.{}", pair[0].filer_kind)


def _situations(render: Render, pair: tuple[Filing, str | None]) -> str | None:
    value = pair[0].answers.get("situations")
    return "、".join(str(v) for v in value) if isinstance(value, list) and value else None


def _iso_date(render: Render, value: Any) -> date | None:
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _funds(render: Render, pair: tuple[Filing, str | None]) -> int | None:
    value = pair[0].answers.get("funds")
    return value if isinstance(value, int) and not isinstance(value, bool) else None


FILINGS = TableSheet(
    "filings",
    (
        Column("export.col.number", lambda r, p: p[0].number, width=18),
        Column("export.col.status", lambda r, p: r.label("status.{}", p[0].status), width=14),
        Column("export.col.county", lambda r, p: r.county(p[0].jurisdiction_code), width=10),
        Column("export.col.unit", lambda r, p: r.unit(p[0].unit_code), width=36),
        Column("export.col.filer", lambda r, p: p[1], width=10),
        Column("export.col.kind", _filing_kind, width=10),
        Column("export.col.category", lambda r, p: p[0].category, width=8),
        Column("export.col.situations", _situations, width=12),
        Column("export.col.colour", lambda r, p: r.label("export.colour.{}", p[0].risk_colour), width=8),
        Column("export.col.submitted_at", lambda r, p: r.local(p[0].submitted_at), DATETIME, 17),
        Column("export.col.review_due_at", lambda r, p: r.local(p[0].review_due_at), DATETIME, 17),
        Column("export.col.reviewed_at", lambda r, p: r.local(p[0].reviewed_at), DATETIME, 17),
        Column("export.col.decision_number", lambda r, p: p[0].decision_number, width=22),
        Column("export.col.start_date", lambda r, p: _iso_date(r, p[0].answers.get("start_date")), DATE, 12),
        Column("export.col.end_date", lambda r, p: _iso_date(r, p[0].answers.get("end_date")), DATE, 12),
        Column("export.col.funds", _funds, INT, 14),
        Column("export.col.withdrawn_at", lambda r, p: r.local(p[0].withdrawn_at), DATETIME, 17),
        Column("export.col.closed_at", lambda r, p: r.local(p[0].closed_at), DATETIME, 17),
        Column("pf.field.title", lambda r, p: p[0].title, width=30, free=True),
        *(
            Column(f"pf.field.{name}", _answer(name), width=40, free=True)
            for name in (
                "background",
                "planned_action",
                "rule_at_risk",
                "necessity",
                "risks",
                "controls",
                "conflict_detail",
            )
        ),
    ),
    lambda uow, after, limit, j: uow.exports.filings(after, limit, j),
)


def _review(pair: tuple[ToleranceReview, str | None]) -> ToleranceReview:
    return pair[0]


REVIEWS = TableSheet(
    "reviews",
    (
        Column("export.col.number", lambda r, p: p[1], width=18),
        Column("export.col.county", lambda r, p: r.county(_review(p).jurisdiction_code), width=10),
        Column("export.col.source", lambda r, p: r.label("tr.source.{}", _review(p).source), width=24),
        Column("export.col.review_status", lambda r, p: r.label("tr.status.{}", _review(p).status), width=16),
        Column("export.col.outcome", lambda r, p: r.label("tr.outcome.{}", _review(p).outcome), width=18),
        Column("export.col.decision_number", lambda r, p: _review(p).decision_number, width=22),
        Column("export.col.meeting_date", lambda r, p: _review(p).meeting_date, DATE, 12),
        Column("export.col.opened_at", lambda r, p: r.local(_review(p).opened_at), DATETIME, 17),
        Column("export.col.decided_at", lambda r, p: r.local(_review(p).decided_at), DATETIME, 17),
        Column("export.col.reason", lambda r, p: _review(p).reason, width=40, free=True),
        Column("export.col.findings", lambda r, p: _review(p).findings, width=40, free=True),
        Column("export.col.meeting_decision", lambda r, p: _review(p).meeting_decision, width=40, free=True),
    ),
    lambda uow, after, limit, j: uow.exports.reviews(after, limit, j),
)


def _item(pair: tuple[RectificationItem, str | None]) -> RectificationItem:
    return pair[0]


RECTIFICATIONS = TableSheet(
    "rectification",
    (
        Column("export.col.number", lambda r, p: p[1], width=18),
        Column("export.col.item_no", lambda r, p: _item(p).item_no, INT, 8),
        Column("export.col.item_status", lambda r, p: r.label("rect.status.{}", _item(p).status), width=12),
        Column("export.col.due_date", lambda r, p: _item(p).due_date, DATE, 12),
        Column("export.col.original_due_date", lambda r, p: _item(p).original_due_date, DATE, 12),
        Column("export.col.extended", lambda r, p: r.yes_no(_item(p).extended), width=8),
        Column("export.col.created_at", lambda r, p: r.local(_item(p).created_at), DATETIME, 17),
        Column("export.col.item_submitted_at", lambda r, p: r.local(_item(p).submitted_at), DATETIME, 17),
        Column("export.col.accepted_at", lambda r, p: r.local(_item(p).accepted_at), DATETIME, 17),
        Column("export.col.problem", lambda r, p: _item(p).problem, width=40, free=True),
        Column("export.col.measure", lambda r, p: _item(p).measure, width=40, free=True),
        Column("export.col.evidence", lambda r, p: _item(p).evidence_text, width=40, free=True),
        Column("export.col.officer_note", lambda r, p: _item(p).officer_note, width=40, free=True),
    ),
    lambda uow, after, limit, j: uow.exports.rectifications(after, limit, j),
)


def _visit(pair: tuple[ReturnVisit, str | None]) -> ReturnVisit:
    return pair[0]


VISITS = TableSheet(
    "visits",
    (
        Column("export.col.number", lambda r, p: p[1], width=18),
        Column("export.col.county", lambda r, p: r.county(_visit(p).jurisdiction_code), width=10),
        Column("export.col.visit_seq", lambda r, p: _visit(p).seq, INT, 8),
        Column("export.col.outcome", lambda r, p: r.label("tr.outcome.{}", _visit(p).outcome), width=18),
        Column("export.col.visit_due", lambda r, p: _visit(p).due_date, DATE, 12),
        Column(
            "export.col.visit_status", lambda r, p: r.label("visit.status.{}", _visit(p).status), width=10
        ),
        Column("export.col.visited_on", lambda r, p: _visit(p).visited_on, DATE, 12),
        Column("export.col.visit_form", lambda r, p: r.label("visit.form.{}", _visit(p).form), width=12),
        Column("export.col.visit_stage", lambda r, p: r.label("visit.stage.{}", _visit(p).stage), width=12),
        Column("export.col.recorded_at", lambda r, p: r.local(_visit(p).recorded_at), DATETIME, 17),
        Column("export.col.visit_notes", lambda r, p: _visit(p).notes, width=40, free=True),
        Column("export.col.next_step", lambda r, p: _visit(p).next_step, width=40, free=True),
    ),
    lambda uow, after, limit, j: uow.exports.visits(after, limit, j),
)

TABLES: tuple[TableSheet, ...] = (FILINGS, REVIEWS, RECTIFICATIONS, VISITS)
