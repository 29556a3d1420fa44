"""Reading and checking an organisation directory an administrator imports (YAML or XLSX).

Unlike the start-up loader, which stops at the first fault, an import reports every bad row at
once with its row number (the sheet row in XLSX, the line in YAML), so the file can be fixed in
one pass. Pure: bytes in, rows and problems out.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from dialogs.directory import LEVELS, OrgUnit
from dialogs.texts import Texts

EXTENSIONS = (".yaml", ".yml", ".xlsx")
MAX_NAME, MAX_SHORT = 100, 20  # the org_unit columns
# The spreadsheet's columns; a header may use the English or the Chinese name.
COLUMNS: dict[str, tuple[str, ...]] = {
    "code": ("code", "代码", "编码"),
    "name": ("name", "名称"),
    "level": ("level", "层级", "级别"),
    "parent_code": ("parent_code", "parent", "上级代码"),
    "short_name": ("short_name", "short", "简称"),
}
REQUIRED_COLUMNS = ("code", "name", "level", "parent_code")
LEVEL_NAMES = {
    "city": "city",
    "市": "city",
    "州市": "city",
    "county": "county",
    "县": "county",
    "县区": "county",
    "县市区": "county",
    "unit": "unit",
    "单位": "unit",
}
PARENT_LEVEL = {"city": None, "county": "city", "unit": "county"}
# The YAML nests each level's children under this key.
CHILD_KEY = {"city": "counties", "county": "units"}
YAML_KEYS = {"city": {"code", "name", "short", "counties"}, "county": {"code", "name", "short", "units"}}
YAML_KEYS["unit"] = {"code", "name", "short"}


@dataclass(frozen=True, slots=True)
class Row:
    line: int  # sheet row (XLSX) or line (YAML) that defines the unit
    code: str
    name: str
    level: str  # city | county | unit, or what the file said when it is none of them
    parent_code: str | None
    short_name: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    line: int | None  # None: about the whole file
    key: str  # message id
    params: dict[str, Any] = field(default_factory=dict)

    def render(self, texts: Texts) -> str:
        text = texts(self.key, **self.params)
        return texts("adm.imp.at_line", line=self.line, problem=text) if self.line else text


@dataclass(slots=True)
class Checked:
    rows: list[Row]
    problems: list[Problem]

    @property
    def ok(self) -> bool:
        return not self.problems

    def units(self) -> list[OrgUnit]:
        """The rows as directory units, parents before children, each level in file order."""
        children: dict[str | None, list[Row]] = {}
        for row in self.rows:
            children.setdefault(row.parent_code, []).append(row)
        ordered: list[OrgUnit] = []

        def walk(parent: str | None) -> None:
            for row in children.get(parent, []):
                ordered.append(OrgUnit(row.code, row.name, row.level, row.parent_code, row.short_name))
                walk(row.code)

        walk(None)
        return ordered


def read(file_name: str, data: bytes) -> Checked:
    """Parse by the file's extension, then check every row."""
    lowered = file_name.lower()
    if lowered.endswith(".xlsx"):
        rows, problems = read_xlsx(data)
    elif lowered.endswith((".yaml", ".yml")):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            return Checked([], [Problem(None, "adm.imp.not_unicode")])
        rows, problems = read_yaml(text)
    else:
        return Checked([], [Problem(None, "adm.imp.bad_type", {"name": file_name})])
    if not rows and not problems:
        problems.append(Problem(None, "adm.imp.empty"))
    # In file order, so the report reads alongside the file; problems of one row stay together.
    found = sorted(problems + check(rows), key=lambda p: p.line or 0)
    return Checked(rows, found)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a code typed into a numeric cell
    return " ".join(str(value).split())


def read_xlsx(data: bytes) -> tuple[list[Row], list[Problem]]:
    """The first sheet: a header row naming the columns, then one unit per row."""
    from openpyxl import load_workbook  # only an import needs it; startup stays light

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, ValueError, OSError):
        return [], [Problem(None, "adm.imp.not_xlsx")]
    try:
        sheet = book.worksheets[0]
        lines = sheet.iter_rows(values_only=True)
        header = next(lines, None) or ()
        where: dict[str, int] = {}
        for index, cell in enumerate(header):
            title = _text(cell).lower()
            for column, names in COLUMNS.items():
                if title in names and column not in where:
                    where[column] = index
        missing = [c for c in REQUIRED_COLUMNS if c not in where]
        if missing:
            return [], [Problem(1, "adm.imp.missing_columns", {"columns": ", ".join(missing)})]
        rows: list[Row] = []
        for number, values in enumerate(lines, start=2):
            cells = {c: _text(values[i]) if i < len(values) else "" for c, i in where.items()}
            if not any(cells.values()):
                continue
            level = cells["level"]
            rows.append(
                Row(
                    line=number,
                    code=cells["code"],
                    name=cells["name"],
                    level=LEVEL_NAMES.get(level.lower(), level),
                    parent_code=cells["parent_code"] or None,
                    short_name=cells.get("short_name") or None,
                )
            )
        return rows, []
    finally:
        book.close()


def read_yaml(text: str) -> tuple[list[Row], list[Problem]]:
    """The shipped file's shape: `cities: [{code, name, counties: [{code, name, short, units: [...]}]}]`.

    Composed nodes, not loaded objects: they keep line numbers, and `code: 0530` stays "0530".
    """
    try:
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        detail = "; ".join(p for p in (exc.context, exc.problem) if p)
        return [], [Problem(mark.line + 1 if mark else None, "adm.imp.yaml_syntax", {"detail": detail})]
    except yaml.YAMLError as exc:
        return [], [Problem(None, "adm.imp.yaml_syntax", {"detail": str(exc)})]
    if root is None:
        return [], []
    cities = _child(root, "cities")
    if not isinstance(root, yaml.MappingNode) or not isinstance(cities, yaml.SequenceNode):
        return [], [Problem(_line(root), "adm.imp.yaml_top")]
    rows: list[Row] = []
    problems: list[Problem] = []

    def walk(items: yaml.SequenceNode, level: str, parent: str | None) -> None:
        for item in items.value:
            if not isinstance(item, yaml.MappingNode):
                problems.append(Problem(_line(item), "adm.imp.yaml_entry"))
                continue
            entries = dict(_entries(item))
            for key in entries:
                if key not in YAML_KEYS[level]:
                    allowed = ", ".join(sorted(YAML_KEYS[level]))
                    problems.append(
                        Problem(_line(item), "adm.imp.yaml_key", {"key": key, "allowed": allowed})
                    )
            code = _scalar(entries.get("code"))
            rows.append(
                Row(
                    line=_line(item),
                    code=code,
                    name=_scalar(entries.get("name")),
                    level=level,
                    parent_code=parent,
                    short_name=_scalar(entries.get("short")) or None,
                )
            )
            key = CHILD_KEY.get(level)
            children = entries.get(key) if key else None
            if children is None:
                continue
            if not isinstance(children, yaml.SequenceNode):
                problems.append(Problem(_line(children), "adm.imp.yaml_list", {"key": key}))
                continue
            walk(children, LEVELS[LEVELS.index(level) + 1], code or None)

    walk(cities, "city", None)
    return rows, problems


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _child(node: yaml.Node, key: str) -> yaml.Node | None:
    return dict(_entries(node)).get(key) if isinstance(node, yaml.MappingNode) else None


def _entries(node: yaml.MappingNode) -> Iterator[tuple[str, yaml.Node]]:
    for key_node, value_node in node.value:
        if isinstance(key_node, yaml.ScalarNode):
            yield str(key_node.value), value_node


def _scalar(node: yaml.Node | None) -> str:
    if not isinstance(node, yaml.ScalarNode) or node.tag == "tag:yaml.org,2002:null":
        return ""
    return " ".join(str(node.value).split())


def _code_problem(row: Row, parent: Row | None) -> Problem | None:
    """City codes have 4 digits, county codes 6 beginning with their city's, unit codes their
    county's followed by 3 to 6 digits (the national division codes, and this project's unit codes)."""
    code = row.code
    if not code.isascii() or not code.isdigit():
        return Problem(row.line, "adm.imp.code_digits", {"code": code})
    expected = {"city": (4, 4), "county": (6, 6), "unit": (9, 12)}[row.level]
    if not expected[0] <= len(code) <= expected[1]:
        return Problem(row.line, f"adm.imp.code_{row.level}", {"code": code})
    if parent is not None and not code.startswith(parent.code):
        return Problem(row.line, "adm.imp.code_prefix", {"code": code, "parent": parent.code})
    return None


def check(rows: Sequence[Row]) -> list[Problem]:
    """Every problem of every row: missing or malformed values, duplicates, parents, levels."""
    problems: list[Problem] = []
    first: dict[str, Row] = {}
    for row in rows:
        if row.code and row.code not in first:
            first[row.code] = row
    has_children = {row.parent_code for row in rows if row.parent_code}
    for row in rows:
        problems.extend(_row_problems(row, first, has_children))
    return problems


def _row_problems(row: Row, first: dict[str, Row], has_children: set[str | None]) -> Iterable[Problem]:
    if not row.code:
        yield Problem(row.line, "adm.imp.no_code")
    elif first[row.code] is not row:
        yield Problem(row.line, "adm.imp.duplicate", {"code": row.code, "first": first[row.code].line})
        return
    if not row.name:
        yield Problem(row.line, "adm.imp.no_name")
    elif len(row.name) > MAX_NAME:
        yield Problem(row.line, "adm.imp.name_long", {"max": MAX_NAME})
    if row.short_name and len(row.short_name) > MAX_SHORT:
        yield Problem(row.line, "adm.imp.short_long", {"max": MAX_SHORT})
    if row.level not in LEVELS:
        yield Problem(row.line, "adm.imp.level", {"level": row.level or "—"})
        return
    parent = first.get(row.parent_code) if row.parent_code else None
    wanted = PARENT_LEVEL[row.level]
    if wanted is None and row.parent_code:
        yield Problem(row.line, "adm.imp.city_parent", {"parent": row.parent_code})
    elif wanted is not None and not row.parent_code:
        yield Problem(row.line, "adm.imp.no_parent")
    elif wanted is not None and parent is None:
        yield Problem(row.line, "adm.imp.parent_unknown", {"parent": row.parent_code})
    elif parent is not None and parent.level != wanted:
        yield Problem(
            row.line, f"adm.imp.parent_of_{row.level}", {"parent": row.parent_code, "line": parent.line}
        )
    if row.code:
        problem = _code_problem(row, parent if parent is not None and parent.level == wanted else None)
        if problem is not None:
            yield problem
    if row.level != "unit" and row.code and row.code not in has_children:
        # Registration picks city, then county, then unit: an empty branch would be a dead end.
        yield Problem(row.line, f"adm.imp.childless_{row.level}", {"code": row.code})


def write_xlsx(units: Iterable[OrgUnit]) -> bytes:
    """A spreadsheet in the import's own format: the template, filled with `units`."""
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "directory"
    sheet.append(list(COLUMNS))
    for unit in units:
        sheet.append([unit.code, unit.name, unit.level, unit.parent_code or "", unit.short_name or ""])
    for column, width in zip("ABCDE", (14, 36, 10, 14, 12), strict=True):
        sheet.column_dimensions[column].width = width
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def write_yaml(units: Iterable[OrgUnit]) -> str:
    """The nested YAML the start-up loader and the import both read."""
    by_parent: dict[str | None, list[OrgUnit]] = {}
    for unit in units:
        by_parent.setdefault(unit.parent_code, []).append(unit)

    def node(unit: OrgUnit) -> dict[str, Any]:
        item: dict[str, Any] = {"code": unit.code, "name": unit.name}
        if unit.short_name:
            item["short"] = unit.short_name
        key = CHILD_KEY.get(unit.level)
        if key:
            item[key] = [node(child) for child in by_parent.get(unit.code, [])]
        return item

    data = {"cities": [node(city) for city in by_parent.get(None, [])]}
    return yaml.safe_dump(data, allow_unicode=True, sort_keys=False)
