"""Messages during implementation (事中): an officer's guidance to the cadre, the cadre's progress
reports (milestone updates) to the officers. Both may carry files."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dialogs.engine import Dialog
from dialogs.flows.review import FILING, FilingText
from dialogs.replies import Effect, Outcome
from dialogs.steps import FilesStep


@dataclass(frozen=True, slots=True)
class PostUpdate(Effect):
    filing_id: int
    kind: str  # guidance | milestone_update
    text: str
    attachments: list[dict[str, Any]] = field(default_factory=list)


def _finish(kind: str):
    def finish(ctx, answers):
        return Outcome(
            effects=[
                PostUpdate(int(answers[FILING]), kind, answers["text"], list(answers.get("files") or []))
            ]
        )

    return finish


GUIDANCE_DIALOG = Dialog(
    name="update_guidance",
    title_key="up.guidance_title",
    finish=_finish("guidance"),
    steps=(
        FilingText("text", "up.ask_guidance", "up.field.guidance", min_len=5, max_len=2000),
        FilesStep("files", "up.ask_files", "up.field.files", optional=True),
    ),
)

PROGRESS_DIALOG = Dialog(
    name="update_progress",
    title_key="up.progress_title",
    finish=_finish("milestone_update"),
    steps=(
        FilingText("text", "up.ask_progress", "up.field.progress", min_len=5, max_len=2000),
        FilesStep("files", "up.ask_files", "up.field.files", optional=True),
    ),
)

DIALOGS = (GUIDANCE_DIALOG, PROGRESS_DIALOG)
