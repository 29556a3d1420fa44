"""Outbox payloads, channel-neutral JSON, rendered as Telegram message parts.

Shape: ``{"text": str, "buttons": [[{"label": str, "action": str}, ...], ...]}``; buttons optional.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardButton, InlineKeyboardMarkup

# Telegram refuses callback data beyond 64 bytes; better to fail here, loudly, than as a BadRequest.
MAX_CALLBACK_BYTES = 64


class MalformedPayload(ValueError):
    """The row cannot be sent as it is, now or ever."""


def render(payload: Any) -> tuple[str, InlineKeyboardMarkup | None]:
    if not isinstance(payload, dict):
        raise MalformedPayload("payload is not an object")
    text = payload.get("text")
    if not isinstance(text, str) or not text.strip():
        raise MalformedPayload("payload has no text")
    rows = payload.get("buttons") or []
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise MalformedPayload("buttons must be a list of rows")
    keyboard: list[list[InlineKeyboardButton]] = []
    for row in rows:
        buttons: list[InlineKeyboardButton] = []
        for button in row:
            if not isinstance(button, dict):
                raise MalformedPayload("a button is not an object")
            label, action = button.get("label"), button.get("action")
            if not isinstance(label, str) or not label or not isinstance(action, str) or not action:
                raise MalformedPayload("a button needs a label and an action")
            if len(action.encode()) > MAX_CALLBACK_BYTES:
                raise MalformedPayload(f"button action longer than {MAX_CALLBACK_BYTES} bytes: {action!r}")
            buttons.append(InlineKeyboardButton(label, callback_data=action))
        if buttons:
            keyboard.append(buttons)
    return text, InlineKeyboardMarkup(keyboard) if keyboard else None
