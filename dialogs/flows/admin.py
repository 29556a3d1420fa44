"""Administration in the chat: the grammar of /grant, /revoke, /move, /users and /audit arguments,
their buttons, and the dialog that waits for a directory file to import.

Role changes are driven by command buttons that carry every choice made so far
(`/grant #12 officer 530127 ~ok`): each press is a complete, typeable command, so an old message
can never act on a choice the administrator has since changed, and the service checks everything
again at the final press.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from dialogs.context import Context
from dialogs.directory import OrgDirectory
from dialogs.directory_import import EXTENSIONS
from dialogs.engine import Dialog
from dialogs.events import Attachment, Event, Text
from dialogs.replies import Button, Effect, Outcome
from dialogs.steps import Accepted, Answers, Rejected, Step, Verdict, describe_input
from dialogs.texts import LOCALES, Texts

ROLES = ("admin", "officer")
LISTED_ROLES = ("admin", "officer", "cadre")
OK, NO = "~ok", "~no"
PAGE_MARK = "~"
PAGE_SIZE = 8
MAX_IMPORT_BYTES = 5 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Args:
    tokens: list[str] = field(default_factory=list)
    page: int = 1
    confirmed: bool = False
    cancelled: bool = False


def parse_args(raw: str) -> Args:
    tokens: list[str] = []
    page, confirmed, cancelled = 1, False, False
    for token in raw.split():
        if token == OK:
            confirmed = True
        elif token == NO:
            cancelled = True
        elif token.startswith(PAGE_MARK) and token[1:].isdigit():
            page = max(1, int(token[1:]))
        else:
            tokens.append(token)
    return Args(tokens, page, confirmed, cancelled)


def role_of(token: str) -> str | None:
    """`admin`, `officer`, `cadre` or their names in any of our languages (管理员)."""
    lowered = token.strip().lower()
    for role in LISTED_ROLES:
        if lowered == role or any(lowered == Texts(loc)(f"role.{role}").lower() for loc in LOCALES):
            return role
    return None


def pages(total: int) -> int:
    return max(1, -(-total // PAGE_SIZE))


def page_row(ctx: Context, command: str, page: int, total: int) -> tuple[Button, ...]:
    """◀ / ▶ buttons around the current page; empty when everything fits on one."""
    row = []
    if page > 1:
        row.append(Button(ctx.texts("adm.page_prev"), f"{command} ~{page - 1}".strip()))
    if page < pages(total):
        row.append(Button(ctx.texts("adm.page_next"), f"{command} ~{page + 1}".strip()))
    return tuple(row)


def rows_of(buttons: Sequence[Button], columns: int = 2) -> tuple[tuple[Button, ...], ...]:
    return tuple(tuple(buttons[i : i + columns]) for i in range(0, len(buttons), columns))


def city_buttons(ctx: Context, command: str) -> tuple[tuple[Button, ...], ...]:
    return rows_of([Button(c.name, f"{command} {c.code}") for c in ctx.directory.children(None)], 3)


def county_buttons(ctx: Context, command: str, city: str) -> tuple[tuple[Button, ...], ...]:
    counties = [c for c in ctx.directory.children(city) if c.level == "county"]
    return rows_of([Button(c.name, f"{command} {c.code}") for c in counties], 3)


def confirm_buttons(ctx: Context, command: str) -> tuple[tuple[Button, ...], ...]:
    name = command.split(" ", 1)[0]
    return (
        (
            Button(ctx.texts("adm.confirm"), f"{command} {OK}"),
            Button(ctx.texts("adm.cancel"), f"{name} {NO}"),
        ),
    )


def role_text(texts: Texts, directory: OrgDirectory, role: str, code: str | None) -> str:
    """纪检监察干部（嵩明县）: the role, and for an officer the county, in `texts`' language."""
    label = texts(f"role.{role}")
    if code:
        unit = directory.get(code)
        label += texts("adm.in_jurisdiction", jurisdiction=unit.name if unit else code)
    return label


def role_label(ctx: Context, role: str, code: str | None) -> str:
    return role_text(ctx.texts, ctx.directory, role, code)


# ---- the directory file an administrator sends after /import ----------------------------------


@dataclass(frozen=True, slots=True)
class CheckDirectoryFile(Effect):
    """Fetch the file and dry-run its import: report every bad row, or offer to apply it."""

    file_id: str
    name: str
    size: int | None = None


@dataclass(frozen=True)
class DirectoryFileStep(Step):
    def accept(self, ctx: Context, answers: Answers, event: Event, choice: str | None) -> Verdict:
        if choice is not None:
            return Rejected(ctx.texts("input.choice_invalid"))
        if not isinstance(event, Attachment):
            got = ctx.texts("input.kind.text") if isinstance(event, Text) else describe_input(ctx, event)
            return Rejected(ctx.texts("adm.imp.need_file", got=got))
        name = event.file_name or ""
        if event.kind != "document" or not name.lower().endswith(EXTENSIONS):
            return Rejected(ctx.texts("adm.imp.need_type", name=name or describe_input(ctx, event)))
        if event.size is not None and event.size > MAX_IMPORT_BYTES:
            return Rejected(ctx.texts("adm.imp.too_big", max_mb=MAX_IMPORT_BYTES // (1024 * 1024)))
        return Accepted({"file_id": event.file_id, "name": name, "size": event.size})

    def display(self, ctx: Context, answers: Answers, value: Any) -> str:
        return str(value.get("name", "")) if isinstance(value, dict) else str(value)


def check_file(attachment: Attachment, ctx: Context) -> Verdict:
    """The same checks for a file sent with /import as its caption."""
    return IMPORT_FILE_STEP.accept(ctx, {}, attachment, None)


IMPORT_FILE_STEP = DirectoryFileStep("file", "adm.imp.ask_file", "adm.imp.field_file")

IMPORT_DIALOG = Dialog(
    name="directory_import",
    title_key="adm.imp.title",
    finish=lambda ctx, a: Outcome(effects=[CheckDirectoryFile(**a["file"])]),
    steps=(IMPORT_FILE_STEP,),
)

DIALOGS = (IMPORT_DIALOG,)
