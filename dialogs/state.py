"""Per-user dialog state, stored as JSON after every step.

Dialog and step names are stable strings (never class paths) so renaming code cannot strand
a user in the middle of a dialog.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any


def new_instance_id() -> str:
    # Short: it travels in every callback_data, which Telegram caps at 64 bytes.
    return secrets.token_hex(3)


@dataclass(slots=True)
class DialogState:
    dialog: str
    step: str
    instance: str = field(default_factory=new_instance_id)
    answers: dict[str, Any] = field(default_factory=dict)
    history: list[str] = field(default_factory=list)
    paused: bool = False
    # Set while editing one answer from the summary: the dialog goes back there afterwards.
    return_to: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "dialog": self.dialog,
            "step": self.step,
            "instance": self.instance,
            "answers": dict(self.answers),
            "history": list(self.history),
            "paused": self.paused,
            "return_to": self.return_to,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> DialogState:
        return cls(
            dialog=str(data["dialog"]),
            step=str(data["step"]),
            instance=str(data.get("instance") or new_instance_id()),
            answers=dict(data.get("answers") or {}),
            history=[str(s) for s in data.get("history") or []],
            paused=bool(data.get("paused", False)),
            return_to=data.get("return_to"),
        )
