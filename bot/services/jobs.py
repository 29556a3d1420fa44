"""Long-running work a command starts (an export): run by the channel after the command's
transaction has committed, reporting progress that the channel renders its own way (Telegram edits
one message; the web waits for the result)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from dialogs.replies import Reply

# Called with the whole progress line to show ("正在生成导出文件…40%"), not a delta.
Progress = Callable[[str], Awaitable[None]]


async def no_progress(text: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class Job:
    # What is shown at once, and then replaced by each progress line.
    started: str
    run: Callable[[Progress], Awaitable[list[Reply]]]
    # Shown when the job fails unexpectedly (already in the user's language).
    failed: str
    # Polite answer when a channel cannot wait this long (the web request has a deadline).
    too_slow: str = ""
