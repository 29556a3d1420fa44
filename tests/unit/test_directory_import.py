"""Checking an imported directory: every bad row reported with its sheet row or YAML line."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import Workbook

from dialogs.directory_import import read, write_xlsx, write_yaml
from dialogs.texts import Texts

ROOT = Path(__file__).resolve().parents[2]
ZH = Texts("zh_CN")


def xlsx(rows: list[list[object]], header: list[str] | None = None) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(header or ["code", "name", "level", "parent_code", "short_name"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def reported(name: str, data: bytes) -> list[str]:
    return [p.render(ZH) for p in read(name, data).problems]


GOOD_ROWS: list[list[object]] = [
    ["5301", "昆明市", "city", "", ""],
    ["530127", "嵩明县", "county", "5301", "嵩明"],
    ["530127001", "嵩阳街道办事处", "unit", "530127", ""],
]


def test_a_good_sheet_has_no_problems_and_numeric_cells_are_codes() -> None:
    rows = [[5301, "昆明市", "市", None, None], [530127, "嵩明县", "县", 5301.0, "嵩明"], *GOOD_ROWS[2:]]
    checked = read("名录.xlsx", xlsx(rows))
    assert checked.problems == []
    assert [(u.code, u.level, u.parent_code, u.short_name) for u in checked.units()] == [
        ("5301", "city", None, None),
        ("530127", "county", "5301", "嵩明"),
        ("530127001", "unit", "530127", None),
    ]


def test_every_bad_sheet_row_is_reported_with_its_row_number() -> None:
    rows: list[list[object]] = [
        *GOOD_ROWS,  # sheet rows 2-4
        ["530127001", "重复的单位", "unit", "530127", ""],  # 5: duplicate code
        ["530127002", "", "unit", "530127", ""],  # 6: no name
        ["53012A003", "字母代码", "unit", "530127", ""],  # 7: not digits
        ["530128004", "上级不符", "unit", "530127", ""],  # 8: does not begin with its county's code
        ["530129", "孤县", "county", "5399", "孤"],  # 9: unknown parent (and no units)
        ["530127005", "层级不对", "town", "530127", ""],  # 10: unknown level
        [None, None, None, None, None],  # 11: empty, skipped
        ["5301006", "挂在市下", "unit", "5301", ""],  # 12: a unit whose parent is a city
        ["53", "短码市", "city", "", ""],  # 13: city code of 2 digits, and no counties
    ]
    assert reported("名录.xlsx", xlsx(rows)) == [
        "第 5 行：代码“530127001”重复，第 4 行已经使用。",
        "第 6 行：缺少名称。",
        "第 7 行：代码“53012A003”只能由数字组成。",
        "第 8 行：代码“530128004”应以上级代码“530127”开头。",
        "第 9 行：上级代码“5399”在文件中不存在。",
        "第 9 行：县（市、区）“530129”下没有任何单位。",
        "第 10 行：层级“town”无效，应为 city（市）、county（县）或 unit（单位）。",
        "第 12 行：单位的上级应为县（市、区），但“5301”（第 2 行）不是县（市、区）。",
        "第 12 行：单位代码“5301006”应为所属县（市、区）的代码加 3 至 6 位数字（共 9 至 12 位）。",
        "第 13 行：市级代码“53”应为 4 位数字。",
        "第 13 行：市“53”下没有任何县（市、区）。",
    ]


def test_chinese_headers_and_a_missing_column() -> None:
    assert read("a.xlsx", xlsx(GOOD_ROWS, ["代码", "名称", "层级", "上级代码", "简称"])).problems == []
    assert reported("a.xlsx", xlsx(GOOD_ROWS, ["code", "name", "parent_code"])) == [
        "第 1 行：表头缺少列：level。第一行应为 code、name、level、parent_code、short_name。"
    ]


def test_files_that_are_not_what_they_say() -> None:
    assert reported("a.xlsx", b"not a zip") == [
        "无法读取这个 XLSX 文件，请确认它是以 .xlsx 格式保存的 Excel 工作簿。"
    ]
    assert reported("a.csv", b"code,name") == ["“a.csv”不是 YAML（.yaml、.yml）或 XLSX（.xlsx）文件。"]
    assert reported("a.yaml", "cities: []".encode("gbk")) == ["文件中没有任何单位。"]
    assert reported("a.yaml", "cities:\n- code: '5301'\n  name: 昆明".encode("gbk")) == [
        "YAML 文件须以 UTF-8 编码保存。"
    ]


YAML = """\
# a directory with faults on known lines
cities:
- code: '5301'
  name: 昆明市
  counties:
  - code: '530127'
    name: 嵩明县
    short: 嵩明
    units:
    - code: '530127001'
      name: 嵩阳街道办事处
    - code: '530127001'
      name: 重复
    - code: '530127002'
      name: ''
    - code: '5301270x3'
      name: 坏代码
      colour: red
  - code: '53018'
    name: 安宁市
    units:
    - code: '530181001'
      name: 连然街道办事处
"""


def test_every_bad_yaml_entry_is_reported_with_its_line() -> None:
    assert reported("名录.yaml", YAML.encode()) == [
        "第 12 行：代码“530127001”重复，第 10 行已经使用。",
        "第 14 行：缺少名称。",
        "第 16 行：未知字段“colour”（可用：code, name, short）。",
        "第 16 行：代码“5301270x3”只能由数字组成。",
        "第 19 行：县（市、区）代码“53018”应为 6 位数字。",
    ]


def test_yaml_syntax_errors_name_their_line() -> None:
    broken = YAML.replace("    name: 嵩明县\n", "    name: [嵩明县\n", 1)
    # The unclosed `[` on line 7 is noticed where the next key starts.
    (problem,) = reported("名录.yml", broken.encode())
    assert problem.startswith("第 8 行：YAML 格式错误：while parsing a flow sequence")
    assert reported("a.yaml", b"- just a list") == ["第 1 行：文件顶层应为“cities:”列表。"]


def test_the_shipped_directory_round_trips_through_both_formats() -> None:
    shipped = (ROOT / "dialogs" / "data" / "org_directory.yaml").read_bytes()
    checked = read("org_directory.yaml", shipped)
    assert checked.problems == [] and len(checked.units()) == 228
    assert read("t.xlsx", write_xlsx(checked.units())).units() == checked.units()
    assert read("t.yaml", write_yaml(checked.units()).encode()).units() == checked.units()
