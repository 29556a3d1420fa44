"""Where exported rows go: an XLSX workbook (openpyxl, write-only so rows stream to disk), CSV files
in a folder, or CSV files in a ZIP. All take the same calls, so one pass over the data feeds several.

These calls are synchronous and CPU-bound; the exporter runs them in a worker thread, one at a time.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import IO, Any, Protocol

from bot.services.exports.sheets import DATE, DATETIME, INT

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MIME = "application/zip"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
# A spreadsheet reads a cell starting with one of these as a formula (CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Excel's limit for one cell; longer text is cut rather than making the workbook unreadable.
MAX_CELL = 32767
# Control characters XML 1.0 cannot hold (openpyxl refuses them); typed text can carry them.
_ILLEGAL = re.compile(r"[\000-\010]|[\013-\014]|[\016-\037]")


class SheetHeader(Protocol):
    key: str
    title: str
    headers: Sequence[str]
    kinds: Sequence[str]
    widths: Sequence[int]


class Sink(Protocol):
    def begin(self, sheet: SheetHeader) -> None: ...
    def rows(self, rows: Sequence[Sequence[Any]]) -> None: ...
    def close(self) -> None: ...


def clean_text(value: str) -> str:
    return _ILLEGAL.sub("", value)[:MAX_CELL]


class XlsxSink:
    def __init__(self, target: Path | IO[bytes]) -> None:
        # openpyxl is imported by the first export, not by every start of the program.
        from openpyxl import Workbook
        from openpyxl.cell import WriteOnlyCell

        self._new_cell = WriteOnlyCell
        self._target = target
        self._book = Workbook(write_only=True)
        self._sheet: Any = None
        self._kinds: Sequence[str] = ()

    def begin(self, sheet: SheetHeader) -> None:
        from openpyxl.styles import Alignment, Font
        from openpyxl.utils import get_column_letter

        ws = self._book.create_sheet(title=sheet.title[:31])  # Excel's limit for a sheet name
        for index, width in enumerate(sheet.widths, start=1):
            ws.column_dimensions[get_column_letter(index)].width = width
        ws.freeze_panes = "A2"
        bold = Font(bold=True)
        header = []
        for text in sheet.headers:
            cell = self._new_cell(ws, value=text)
            cell.font = bold
            cell.alignment = Alignment(wrap_text=True, vertical="center")
            header.append(cell)
        ws.append(header)
        self._sheet, self._kinds = ws, sheet.kinds

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        ws = self._sheet
        for row in rows:
            ws.append([self._cell(ws, value, kind) for value, kind in zip(row, self._kinds, strict=False)])

    def _cell(self, ws: Any, value: Any, kind: str) -> Any:
        if value is None:
            return None
        if isinstance(value, str):
            text = clean_text(value)
            if not text.startswith("="):
                return text  # a plain value: openpyxl makes the cell, much faster than a styled one
            # openpyxl would store "=..." as a formula; typed text is never one.
            cell = self._new_cell(ws, value=text)
            cell.data_type = "s"
            return cell
        if kind == INT:
            return value
        cell = self._new_cell(ws, value=value)
        if kind == DATETIME and isinstance(value, datetime):
            cell.number_format = DATETIME_FORMAT
        elif kind == DATE and isinstance(value, date):
            cell.number_format = DATE_FORMAT
        return cell

    def close(self) -> None:
        self._book.save(self._target)


def csv_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        text = clean_text(value)
        return "'" + text if text.startswith(_FORMULA_START) else text
    return str(value)


class _CsvSink:
    """One CSV per sheet, UTF-8 with a byte-order mark: Excel then opens the Chinese correctly."""

    def __init__(self) -> None:
        self._stream: IO[str] | None = None
        self._writer: Any = None

    def _open(self, name: str) -> IO[str]:
        raise NotImplementedError

    def begin(self, sheet: SheetHeader) -> None:
        self._finish()
        self._stream = self._open(f"{sheet.key}.csv")
        self._writer = csv.writer(self._stream)
        self._writer.writerow(sheet.headers)

    def rows(self, rows: Sequence[Sequence[Any]]) -> None:
        self._writer.writerows([csv_value(v) for v in row] for row in rows)

    def _finish(self) -> None:
        if self._stream is not None:
            self._stream.close()
            self._stream = None

    def close(self) -> None:
        self._finish()


class CsvDirSink(_CsvSink):
    def __init__(self, folder: Path) -> None:
        super().__init__()
        folder.mkdir(parents=True, exist_ok=True)
        self._folder = folder

    def _open(self, name: str) -> IO[str]:
        return (self._folder / name).open("w", encoding="utf-8-sig", newline="")


class CsvZipSink(_CsvSink):
    def __init__(self, target: Path | IO[bytes]) -> None:
        super().__init__()
        self._zip = zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED)

    def _open(self, name: str) -> IO[str]:
        return io.TextIOWrapper(self._zip.open(name, "w"), encoding="utf-8-sig", newline="")

    def close(self) -> None:
        super().close()
        self._zip.close()
