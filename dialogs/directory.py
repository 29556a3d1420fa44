"""The organisation directory (city → county/district → unit) as a pure, validated tree."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

LEVELS = ("city", "county", "unit")


class DirectoryError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class OrgUnit:
    code: str
    name: str
    level: str
    parent_code: str | None
    short_name: str | None = None

    @property
    def display_short(self) -> str:
        return self.short_name or self.name


class OrgDirectory:
    def __init__(self, units: Iterable[OrgUnit]) -> None:
        self._units: dict[str, OrgUnit] = {}
        self._children: dict[str | None, list[OrgUnit]] = {}
        for unit in units:
            if unit.code in self._units:
                raise DirectoryError(f"duplicate code {unit.code}")
            self._units[unit.code] = unit
            self._children.setdefault(unit.parent_code, []).append(unit)
        for unit in self._units.values():
            if unit.parent_code is not None and unit.parent_code not in self._units:
                raise DirectoryError(f"{unit.code} {unit.name}: parent {unit.parent_code} is unknown")

    def __len__(self) -> int:
        return len(self._units)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self._units.values())

    def get(self, code: str) -> OrgUnit | None:
        return self._units.get(code)

    def children(self, code: str | None) -> list[OrgUnit]:
        return list(self._children.get(code, []))

    def path(self, code: str) -> list[OrgUnit]:
        chain: list[OrgUnit] = []
        unit = self._units.get(code)
        while unit is not None:
            chain.append(unit)
            unit = self._units.get(unit.parent_code) if unit.parent_code else None
        return list(reversed(chain))

    def full_name(self, code: str) -> str:
        return " / ".join(u.name for u in self.path(code)) or code

    def jurisdiction_of(self, code: str) -> OrgUnit | None:
        """The county or district whose discipline commission handles a unit's filings."""
        for unit in self.path(code):
            if unit.level == "county":
                return unit
        return None


def parse_directory(data: Mapping[str, Any]) -> OrgDirectory:
    """Turn the YAML shape `cities: [{code, name, counties: [{code, name, short, units}]}]` into a tree."""
    if not isinstance(data, Mapping) or not isinstance(data.get("cities"), list):
        raise DirectoryError("the top level must be a mapping with a list under 'cities'")
    units: list[OrgUnit] = []

    def walk(items: Any, level_index: int, parent: str | None, where: str) -> None:
        level = LEVELS[level_index]
        if not isinstance(items, list) or not items:
            raise DirectoryError(f"{where}: expected a non-empty list of {level} entries")
        for i, item in enumerate(items):
            here = f"{where}[{i}]"
            if not isinstance(item, Mapping):
                raise DirectoryError(f"{here}: expected a mapping")
            code, name = item.get("code"), item.get("name")
            if not code or not name:
                raise DirectoryError(f"{here}: 'code' and 'name' are required")
            short = item.get("short")
            units.append(OrgUnit(str(code), str(name), level, parent, str(short) if short else None))
            if level_index + 1 < len(LEVELS):
                key = "counties" if level == "city" else "units"
                walk(item.get(key), level_index + 1, str(code), f"{here}.{key}")

    walk(data["cities"], 0, None, "cities")
    return OrgDirectory(units)
