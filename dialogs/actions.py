"""Button actions: the opaque strings buttons carry, encoded compactly for Telegram's 64-byte callback_data.

A step action names the dialog instance and step it belongs to, so a press on an old message
is recognised as stale instead of acting on whatever step the user is at now.
"""

from __future__ import annotations

from dataclasses import dataclass

MAX_ACTION_BYTES = 64
BACK = "!back"
SKIP = "!skip"
EXIT = "!exit"


class ActionTooLong(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class StepAction:
    instance: str
    step: str
    value: str


def step_action(instance: str, step: str, value: str) -> str:
    action = f"{instance}:{step}:{value}"
    if len(action.encode()) > MAX_ACTION_BYTES:
        raise ActionTooLong(action)
    return action


def command_action(command: str) -> str:
    """A button that behaves exactly like typing `/command`."""
    return f"/{command}"


def parse_step_action(action: str) -> StepAction | None:
    parts = action.split(":", 2)
    if len(parts) != 3 or not all(parts):
        return None
    return StepAction(*parts)
