"""Closing a filing (办结): the officer writes a short summary and confirms. Nothing about the
filing is reminded afterwards; open rectification items are closed with it."""

from __future__ import annotations

from dataclasses import dataclass

from dialogs.engine import Dialog
from dialogs.flows.review import FILING, FilingConfirm, FilingText
from dialogs.replies import Effect, Outcome


@dataclass(frozen=True, slots=True)
class CloseFiling(Effect):
    filing_id: int
    summary: str


CLOSE_DIALOG = Dialog(
    name="filing_close",
    title_key="close.title",
    finish=lambda ctx, a: Outcome(effects=[CloseFiling(int(a[FILING]), a["summary"])]),
    steps=(
        FilingText("summary", "close.ask_summary", "close.field.summary", min_len=5, max_len=2000),
        FilingConfirm("confirm", "close.confirm", "close.field.confirm", button_key="close.button"),
    ),
)

DIALOGS = (CLOSE_DIALOG,)
