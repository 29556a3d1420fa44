"""The export writers on their own: typed text never becomes a formula, and odd characters survive."""

from __future__ import annotations

import csv
import io
import zipfile
from datetime import date, datetime

from openpyxl import load_workbook

from bot.services.exports.exporter import SheetOut
from bot.services.exports.sheets import DATE, DATETIME, INT, TEXT
from bot.services.exports.writers import CsvZipSink, XlsxSink, csv_value

SHEET = SheetOut(
    "filings", "报备事项", ["文字", "时间", "日期", "金额"], [TEXT, DATETIME, DATE, INT], [20] * 4
)
ROWS = [
    ["=1+1", datetime(2026, 11, 23, 9, 30), date(2026, 12, 1), 500000],
    ["响铃\x07字符", None, None, None],
    ["-2+3", None, None, 0],
]


def test_xlsx_keeps_formula_like_text_as_text_and_drops_control_characters() -> None:
    out = io.BytesIO()
    sink = XlsxSink(out)
    sink.begin(SHEET)
    sink.rows(ROWS)
    sink.close()
    sheet = load_workbook(out)["报备事项"]
    assert [c.value for c in sheet[1]] == ["文字", "时间", "日期", "金额"]
    assert sheet["A2"].value == "=1+1" and sheet["A2"].data_type == "s"
    assert (
        sheet["B2"].value == datetime(2026, 11, 23, 9, 30) and sheet["B2"].number_format == "yyyy-mm-dd hh:mm"
    )
    assert sheet["C2"].number_format == "yyyy-mm-dd"
    assert sheet["D2"].value == 500000
    assert sheet["A3"].value == "响铃字符"
    assert sheet.freeze_panes == "A2"


def test_csv_quotes_formula_like_text_for_spreadsheets() -> None:
    out = io.BytesIO()
    sink = CsvZipSink(out)
    sink.begin(SHEET)
    sink.rows(ROWS)
    sink.close()
    raw = zipfile.ZipFile(out).read("filings.csv")
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(io.StringIO(raw.decode("utf-8-sig"))))
    assert table == [
        ["文字", "时间", "日期", "金额"],
        ["'=1+1", "2026-11-23 09:30", "2026-12-01", "500000"],
        ["响铃字符", "", "", ""],
        ["'-2+3", "", "", "0"],
    ]
    assert csv_value("@SUM(A1)") == "'@SUM(A1)" and csv_value("普通文字") == "普通文字"
