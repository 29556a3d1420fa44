"""Reading YAML node by node so that every complaint can name the line it is about.

`yaml.safe_load` throws the positions away and turns `yes`/`no` into booleans; the pack
needs both the positions (authors fix packs from the error line alone) and the literal
scalars (answer values such as `yes` are strings here), so the loader walks the composed
node graph instead of constructed Python objects.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import NoReturn

import yaml


class PackError(ValueError):
    """A policy pack that cannot be used; the message is one line: `<file>:<line>: <problem>`."""

    def __init__(self, source: str, line: int | None, problem: str) -> None:
        self.source = source
        self.line = line
        # Multi-line messages break log parsers and the CLI's one-line contract.
        self.problem = " ".join(problem.split())
        where = f"{source}:{line}" if line is not None else source
        super().__init__(f"{where}: {self.problem}")


@dataclass(frozen=True, slots=True)
class Entry:
    """One `key: value` pair of a mapping, with both nodes kept for their positions."""

    key: str
    key_node: yaml.Node
    node: yaml.Node


# libyaml's loader keeps the same line marks and is many times faster (the pack, read at every
# start, took a quarter of a second in pure Python). Pure Python where libyaml is missing.
FAST_LOADER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def line_of(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def describe(node: yaml.Node) -> str:
    if isinstance(node, yaml.MappingNode):
        return "a mapping"
    if isinstance(node, yaml.SequenceNode):
        return "a list"
    return f"the scalar {node.value!r}"


class NodeReader:
    """Typed access to composed YAML nodes; every failure raises `PackError` at the node's line."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, node: yaml.Node | None, problem: str) -> NoReturn:
        raise PackError(self.source, line_of(node) if node is not None else None, problem)

    def compose(self, text: str) -> yaml.Node:
        try:
            try:
                root = yaml.compose(text, Loader=FAST_LOADER)
            except yaml.YAMLError:
                # The pure Python loader places some errors more helpfully (libyaml points past
                # an unclosed bracket to the end of the file): let it find and word the error.
                root = yaml.compose(text, Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            parts = [p for p in (exc.context, exc.problem) if p]
            raise PackError(
                self.source,
                mark.line + 1 if mark is not None else None,
                "YAML syntax error: " + "; ".join(parts),
            ) from exc
        except yaml.YAMLError as exc:
            raise PackError(self.source, None, f"YAML error: {exc}") from exc
        if root is None:
            raise PackError(self.source, 1, "the pack is empty")
        return root

    def mapping(
        self,
        node: yaml.Node,
        what: str,
        *,
        required: Collection[str] = (),
        optional: Collection[str] = (),
    ) -> dict[str, Entry]:
        """The entries of a mapping with a fixed key set: unknown, duplicate and missing keys are errors."""
        entries = self.entries(node, what)
        allowed = set(required) | set(optional)
        for entry in entries.values():
            if entry.key not in allowed:
                allowed_keys = ", ".join(allowed_order(required, optional))
                self.fail(entry.key_node, f"{what}: unknown key {entry.key!r} (allowed: {allowed_keys})")
        for key in required:
            if key not in entries:
                self.fail(node, f"{what}: missing key {key!r}")
        return entries

    def entries(self, node: yaml.Node, what: str) -> dict[str, Entry]:
        """The entries of a mapping with free keys (e.g. named shared formulas); duplicates are errors."""
        if not isinstance(node, yaml.MappingNode):
            self.fail(node, f"{what}: expected a mapping, found {describe(node)}")
        entries: dict[str, Entry] = {}
        for key_node, value_node in node.value:
            key = self.scalar(key_node, f"{what}: key")
            if key in entries:
                # PyYAML would silently keep the last one; in a policy that hides an edit.
                self.fail(
                    key_node,
                    f"{what}: duplicate key {key!r} (first at line {line_of(entries[key].key_node)})",
                )
            entries[key] = Entry(key, key_node, value_node)
        return entries

    def sequence(self, node: yaml.Node, what: str, *, non_empty: bool = True) -> list[yaml.Node]:
        if not isinstance(node, yaml.SequenceNode):
            self.fail(node, f"{what}: expected a list, found {describe(node)}")
        if non_empty and not node.value:
            self.fail(node, f"{what}: the list is empty")
        return list(node.value)

    def scalar(self, node: yaml.Node, what: str) -> str:
        """The literal text of a scalar: `yes` stays "yes" and `1` stays "1"."""
        if not isinstance(node, yaml.ScalarNode):
            self.fail(node, f"{what}: expected a single value, found {describe(node)}")
        if node.tag == "tag:yaml.org,2002:null" or node.value.strip() == "":
            self.fail(node, f"{what}: the value is empty")
        return str(node.value)

    def scalars(self, node: yaml.Node, what: str) -> Iterator[tuple[str, yaml.Node]]:
        for item in self.sequence(node, what):
            yield self.scalar(item, what), item


def allowed_order(required: Collection[str], optional: Collection[str]) -> list[str]:
    seen: list[str] = []
    for key in [*required, *optional]:
        if key not in seen:
            seen.append(key)
    return seen
