"""Policy packs: the tolerance criteria of one jurisdiction, as validated YAML data.

A pack holds the positive situations (S), the negative list (N), the three distinctions (D),
the review dimensions (R), the pre-filing categories (K), the self-check questions and the
formulas that join them (DOMAIN.md §5–§6). A jurisdiction ships its own pack without code
changes, so everything a verdict depends on is checked here, at load time, with the line of
the offending node: a typo in a formula must stop the program rather than silently turn a
situation false.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from types import MappingProxyType
from typing import Final, TypeVar

import yaml

from dialogs.policy.logic import (
    UNSURE,
    All,
    Answers,
    AnyOf,
    Eq,
    Formula,
    In,
    Ne,
    Not,
    Ref,
    T,
)
from dialogs.policy.yamllines import Entry, NodeReader, PackError, line_of

__all__ = [
    "DEFAULT_LOCALE",
    "LOCALES",
    "MODES",
    "CareCard",
    "Category",
    "Choice",
    "Dimension",
    "Disposition",
    "DispositionHint",
    "DispositionRule",
    "Distinction",
    "Item",
    "Localized",
    "Notices",
    "PackError",
    "PolicyPack",
    "Question",
    "load_pack",
    "parse_pack",
    "shipped_packs",
    "text",
]

DEFAULT_LOCALE: Final = "zh_CN"
LOCALES: Final = ("zh_CN", "en", "zh_TW")
MODES: Final = ("standalone", "prefiling")

_PACKAGE: Final = "dialogs.policy"
_PACK_DIR: Final = "packs"
_PACK_NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")
_QUESTION_ID = re.compile(r"q_[a-z0-9_]+")
_VALUE = re.compile(r"[a-z][a-z0-9_]*")
_SITUATION_ID = re.compile(r"S[1-9][0-9]*")
_BLOCKER_ID = re.compile(r"N(0|[1-9][0-9]*)")
_PLAIN_ID = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
NO_SITUATION: Final = "N0"


class Localized(Mapping[str, str]):
    """One text in every locale; immutable and hashable so the pack's dataclasses can be frozen."""

    __slots__ = ("_texts",)

    def __init__(self, texts: Mapping[str, str]) -> None:
        self._texts: dict[str, str] = dict(texts)

    def __getitem__(self, locale: str) -> str:
        return self._texts[locale]

    def __iter__(self) -> Iterator[str]:
        return iter(self._texts)

    def __len__(self) -> int:
        return len(self._texts)

    def __hash__(self) -> int:
        return hash(tuple(sorted(self._texts.items())))

    def __repr__(self) -> str:
        return f"Localized({self._texts!r})"


def text(localized: Mapping[str, str], locale: str | None = DEFAULT_LOCALE) -> str:
    """The text in `locale`, falling back to Simplified Chinese, which every pack has complete."""
    if locale and localized.get(locale):
        return localized[locale]
    return localized[DEFAULT_LOCALE]


@dataclass(frozen=True, slots=True)
class Choice:
    value: str
    label: Localized


@dataclass(frozen=True, slots=True)
class Question:
    id: str
    text: Localized
    why: Localized
    choices: tuple[Choice, ...]
    prefiling_text: Localized | None = None
    prefiling_answer: str | None = None
    dimension: str | None = None

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(choice.value for choice in self.choices)

    def choice(self, value: str) -> Choice | None:
        return next((c for c in self.choices if c.value == value), None)

    def wording(self, mode: str = "standalone") -> Localized:
        """The question as asked: pre-filing looks ahead, so outcome questions are put prospectively."""
        if mode == "prefiling" and self.prefiling_text is not None:
            return self.prefiling_text
        return self.text


@dataclass(frozen=True, slots=True)
class Item:
    """A positive situation (S) or a blocker (N); N0 alone has no formula (it is derived)."""

    id: str
    title: Localized
    summary: Localized
    basis: Localized
    formula: Formula | None


@dataclass(frozen=True, slots=True)
class Category:
    id: str
    name: Localized
    situations: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Dimension:
    id: str
    name: Localized
    questions: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Distinction:
    id: str
    tolerable: Localized
    not_tolerable: Localized
    used_by: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class DispositionHint:
    id: str
    title: Localized
    summary: Localized


@dataclass(frozen=True, slots=True)
class DispositionRule:
    hint: str
    when: Formula


@dataclass(frozen=True, slots=True)
class Disposition:
    """Which advisory hint a tolerable verdict gets: the first rule whose condition is T, else `otherwise`."""

    rules: tuple[DispositionRule, ...]
    otherwise: str
    hints: tuple[DispositionHint, ...]

    def hint_for(self, answers: Answers) -> str:
        for rule in self.rules:
            if rule.when.truth(answers) == T:
                return rule.hint
        return self.otherwise

    def hint(self, hint_id: str) -> DispositionHint:
        return next(h for h in self.hints if h.id == hint_id)


@dataclass(frozen=True, slots=True)
class CareCard:
    title: Localized
    text: Localized


# Return visits (回访) after each kind of decision, in days after it: DOMAIN.md §8's proposal, for a
# 12-month influence period after a sanction (within a month, mid-period, in the last month), and
# one care visit for tolerated, mitigated and cleared cadres.
RETURN_VISIT_OUTCOMES: Final = ("not_tolerated", "exempt", "mitigate", "cleared")
DEFAULT_RETURN_VISITS: Final[Mapping[str, tuple[int, ...]]] = MappingProxyType(
    {"not_tolerated": (30, 180, 335), "exempt": (60,), "mitigate": (60,), "cleared": (30,)}
)
MAX_VISIT_DAYS: Final = 1100


@dataclass(frozen=True, slots=True)
class Notices:
    advisory: Localized
    not_preapproval: Localized


@dataclass(frozen=True, slots=True)
class PolicyPack:
    id: str
    version: str
    source: str
    content: str
    name: Localized
    questions: tuple[Question, ...]
    situations: tuple[Item, ...]
    blockers: tuple[Item, ...]
    categories: tuple[Category, ...]
    dimensions: tuple[Dimension, ...]
    distinctions: tuple[Distinction, ...]
    shared: Mapping[str, Formula] = field(hash=False)
    disposition: Disposition
    care_card: CareCard
    notices: Notices
    return_visits: Mapping[str, tuple[int, ...]] = field(
        default_factory=lambda: DEFAULT_RETURN_VISITS, hash=False
    )
    _questions: Mapping[str, Question] = field(init=False, repr=False, compare=False, hash=False)
    _items: Mapping[str, Item] = field(init=False, repr=False, compare=False, hash=False)
    _users: Mapping[str, tuple[str, ...]] = field(init=False, repr=False, compare=False, hash=False)

    def __post_init__(self) -> None:
        # Frozen dataclasses need object.__setattr__ for derived indexes.
        object.__setattr__(self, "_questions", MappingProxyType({q.id: q for q in self.questions}))
        object.__setattr__(
            self, "_items", MappingProxyType({i.id: i for i in (*self.situations, *self.blockers)})
        )
        users: dict[str, list[str]] = {q.id: [] for q in self.questions}
        for item in self.formula_items:
            assert item.formula is not None
            for question in item.formula.questions():
                users[question].append(item.id)
        object.__setattr__(self, "_users", MappingProxyType({q: tuple(ids) for q, ids in users.items()}))

    def question(self, question_id: str) -> Question:
        return self._questions[question_id]

    def has_question(self, question_id: str) -> bool:
        return question_id in self._questions

    def situation(self, situation_id: str) -> Item:
        item = self._items[situation_id]
        if not _SITUATION_ID.fullmatch(item.id):
            raise KeyError(situation_id)
        return item

    def blocker(self, blocker_id: str) -> Item:
        item = self._items[blocker_id]
        if not _BLOCKER_ID.fullmatch(item.id):
            raise KeyError(blocker_id)
        return item

    def item(self, item_id: str) -> Item:
        """A situation or blocker by id, for rendering the ids an evaluation lists."""
        return self._items[item_id]

    def category(self, category_id: str) -> Category:
        return _find(self.categories, category_id)

    def dimension(self, dimension_id: str) -> Dimension:
        return _find(self.dimensions, dimension_id)

    def distinction(self, distinction_id: str) -> Distinction:
        return _find(self.distinctions, distinction_id)

    @property
    def question_ids(self) -> tuple[str, ...]:
        return tuple(q.id for q in self.questions)

    @property
    def formula_blockers(self) -> tuple[Item, ...]:
        """N1..Nn: the blockers that have a formula (N0 is derived from the situations)."""
        return tuple(b for b in self.blockers if b.formula is not None)

    @property
    def formula_items(self) -> tuple[Item, ...]:
        return (*self.situations, *self.formula_blockers)

    def used_by(self, question_id: str) -> tuple[str, ...]:
        """The S and N ids whose formulas read this question."""
        return self._users[question_id]

    @property
    def informational_questions(self) -> tuple[str, ...]:
        """Questions no S or N formula reads: asked for the reviewers' record, never decisive."""
        return tuple(q.id for q in self.questions if not self._users[q.id])


_Found = TypeVar("_Found", Category, Dimension, Distinction)


def _find(items: tuple[_Found, ...], wanted: str) -> _Found:
    for item in items:
        if item.id == wanted:
            return item
    raise KeyError(wanted)


def shipped_packs() -> list[str]:
    folder = resources.files(_PACKAGE) / _PACK_DIR
    return sorted(
        entry.name.removesuffix(".yaml") for entry in folder.iterdir() if entry.name.endswith(".yaml")
    )


def load_pack(ref: str | Path) -> PolicyPack:
    """A shipped pack by plain name ("yunnan"), or a pack file by path (anything else, or a Path)."""
    if isinstance(ref, str) and _PACK_NAME.fullmatch(ref):
        resource = resources.files(_PACKAGE) / _PACK_DIR / f"{ref}.yaml"
        if not resource.is_file():
            raise PackError(
                ref, None, f"no shipped policy pack named {ref!r} (shipped: {', '.join(shipped_packs())})"
            )
        return parse_pack(resource.read_bytes(), f"dialogs/policy/{_PACK_DIR}/{ref}.yaml")
    path = Path(ref)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackError(str(path), None, f"cannot read the policy pack: {exc.strerror or exc}") from exc
    return parse_pack(data, str(path))


def parse_pack(data: bytes, source: str) -> PolicyPack:
    """Validate pack bytes; `source` is the label used in error messages and kept on the pack."""
    try:
        content = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise PackError(source, line, f"the pack is not UTF-8 text (byte {exc.start})") from exc
    return _PackParser(source).parse(content, hashlib.sha256(data).hexdigest()[:16])


_TOP_REQUIRED: Final = (
    "id",
    "name",
    "notices",
    "default_choices",
    "questions",
    "situations",
    "blockers",
    "distinctions",
    "dimensions",
    "categories",
    "disposition",
    "care_card",
)
_TOP_OPTIONAL: Final = ("shared", "return_visits")
_OPERATORS: Final = ("all", "any", "not", "eq", "ne", "in", "ref")


class _PackParser:
    def __init__(self, source: str) -> None:
        self.r = NodeReader(source)
        self.default_choices: dict[str, Choice] = {}
        self.questions: dict[str, Question] = {}
        self.question_dimension_nodes: dict[str, yaml.Node] = {}
        self.shared_entries: dict[str, Entry] = {}
        self.shared: dict[str, Formula] = {}
        self.resolving: list[str] = []

    def parse(self, content: str, version: str) -> PolicyPack:
        root = self.r.compose(content)
        top = self.r.mapping(root, "pack", required=_TOP_REQUIRED, optional=_TOP_OPTIONAL)
        pack_id = self.r.scalar(top["id"].node, "id")
        if not _PACK_NAME.fullmatch(pack_id):
            self.r.fail(top["id"].node, f"id {pack_id!r} must be lower-case letters, digits, '-' or '_'")
        name = self.localized(top["name"].node, "name")
        notices_entries = self.r.mapping(
            top["notices"].node, "notices", required=("advisory", "not_preapproval")
        )
        notices = Notices(
            advisory=self.localized(notices_entries["advisory"].node, "notices.advisory"),
            not_preapproval=self.localized(
                notices_entries["not_preapproval"].node, "notices.not_preapproval"
            ),
        )
        self.parse_default_choices(top["default_choices"].node)
        questions = self.parse_questions(top["questions"].node)
        dimensions = self.parse_dimensions(top["dimensions"].node)
        if "shared" in top:
            self.shared_entries = self.r.entries(top["shared"].node, "shared")
            for shared_name, entry in self.shared_entries.items():
                if not _PLAIN_ID.fullmatch(shared_name):
                    self.r.fail(entry.key_node, f"shared: the name {shared_name!r} is not an identifier")
            for shared_name, entry in self.shared_entries.items():
                self.resolve(shared_name, entry.key_node, f"shared {shared_name}")
        situations = self.parse_items(top["situations"].node, "situation", _SITUATION_ID)
        blockers = self.parse_items(top["blockers"].node, "blocker", _BLOCKER_ID)
        if not any(b.id == NO_SITUATION for b in blockers):
            self.r.fail(
                top["blockers"].key_node,
                f"blockers: {NO_SITUATION} (no positive situation applies) is required; it has no formula",
            )
        item_ids = {i.id for i in (*situations, *blockers)}
        distinctions = self.parse_distinctions(top["distinctions"].node, item_ids)
        categories = self.parse_categories(top["categories"].node, {s.id for s in situations})
        disposition = self.parse_disposition(top["disposition"].node)
        card = self.r.mapping(top["care_card"].node, "care_card", required=("title", "text"))
        care_card = CareCard(
            title=self.localized(card["title"].node, "care_card.title"),
            text=self.localized(card["text"].node, "care_card.text"),
        )
        return PolicyPack(
            id=pack_id,
            version=version,
            source=self.r.source,
            content=content,
            name=name,
            questions=questions,
            situations=situations,
            blockers=blockers,
            categories=categories,
            dimensions=dimensions,
            distinctions=distinctions,
            shared=MappingProxyType(dict(self.shared)),
            disposition=disposition,
            care_card=care_card,
            notices=notices,
            return_visits=self.parse_return_visits(top["return_visits"].node)
            if "return_visits" in top
            else DEFAULT_RETURN_VISITS,
        )

    def parse_return_visits(self, node: yaml.Node) -> Mapping[str, tuple[int, ...]]:
        """Days after a decision, per outcome; an outcome left out gets no visits."""
        visits: dict[str, tuple[int, ...]] = {}
        for outcome, entry in self.r.entries(node, "return_visits").items():
            if outcome not in RETURN_VISIT_OUTCOMES:
                known = ", ".join(RETURN_VISIT_OUTCOMES)
                self.r.fail(entry.key_node, f"return_visits: unknown outcome {outcome!r} (known: {known})")
            days: list[int] = []
            for text, item in self.r.scalars(entry.node, f"return_visits {outcome}"):
                if not text.isdigit() or not 1 <= int(text) <= MAX_VISIT_DAYS:
                    self.r.fail(
                        item,
                        f"return_visits {outcome}: {text!r} is not a number of days (1–{MAX_VISIT_DAYS})",
                    )
                if days and int(text) <= days[-1]:
                    self.r.fail(
                        item, f"return_visits {outcome}: the days must increase ({text} after {days[-1]})"
                    )
                days.append(int(text))
            visits[outcome] = tuple(days)
        return MappingProxyType(visits)

    # -- texts and choices ------------------------------------------------------------------

    def localized(self, node: yaml.Node, what: str) -> Localized:
        needed = ", ".join(LOCALES)
        if not isinstance(node, yaml.MappingNode):
            self.r.fail(node, f"{what}: expected texts by locale ({needed})")
        entries = self.r.entries(node, what)
        for entry in entries.values():
            if entry.key not in LOCALES:
                self.r.fail(entry.key_node, f"{what}: unknown locale {entry.key!r} (every text has {needed})")
        for locale in LOCALES:
            if locale not in entries:
                self.r.fail(node, f"{what}: missing locale {locale!r} (every text needs {needed})")
        return Localized(
            {locale: self.r.scalar(entries[locale].node, f"{what}.{locale}") for locale in LOCALES}
        )

    def value_name(self, node: yaml.Node, what: str) -> str:
        value = self.r.scalar(node, what)
        if not _VALUE.fullmatch(value):
            self.r.fail(
                node, f"{what}: {value!r} is not a valid answer value (lower-case letters, digits, '_')"
            )
        return value

    def explicit_choice(self, node: yaml.Node, what: str) -> Choice:
        entries = self.r.mapping(node, what, required=("value", "label"))
        value = self.value_name(entries["value"].node, f"{what}.value")
        return Choice(value, self.localized(entries["label"].node, f"{what} {value!r} label"))

    def parse_default_choices(self, node: yaml.Node) -> None:
        for item in self.r.sequence(node, "default_choices"):
            choice = self.explicit_choice(item, "default_choices")
            if choice.value in self.default_choices:
                self.r.fail(item, f"default_choices: duplicate value {choice.value!r}")
            self.default_choices[choice.value] = choice

    def parse_choices(self, node: yaml.Node | None, what: str) -> tuple[Choice, ...]:
        if node is None:
            return tuple(self.default_choices.values())
        choices: list[Choice] = []
        for item in self.r.sequence(node, what):
            if isinstance(item, yaml.ScalarNode):
                value = self.value_name(item, what)
                if value not in self.default_choices:
                    self.r.fail(
                        item,
                        f"{what}: {value!r} is not in default_choices "
                        f"({', '.join(self.default_choices)}); give it as {{value, label}}",
                    )
                choice = self.default_choices[value]
            else:
                choice = self.explicit_choice(item, what)
            if any(c.value == choice.value for c in choices):
                self.r.fail(item, f"{what}: duplicate value {choice.value!r}")
            choices.append(choice)
        if len(choices) < 2:
            self.r.fail(node, f"{what}: a question needs at least two choices")
        return tuple(choices)

    # -- questions and dimensions ---------------------------------------------------------------

    def parse_questions(self, node: yaml.Node) -> tuple[Question, ...]:
        seen: dict[str, int] = {}
        for item in self.r.sequence(node, "questions"):
            qid, entries = self.identified(
                item,
                "question",
                _QUESTION_ID,
                seen,
                required=("text", "why"),
                optional=("choices", "prefiling_text", "prefiling_answer", "dimension"),
                pattern_hint="must look like q_lower_case",
            )
            what = f"question {qid}"
            choices = self.parse_choices(
                entries["choices"].node if "choices" in entries else None, f"{what} choices"
            )
            prefiling_answer: str | None = None
            if "prefiling_answer" in entries:
                answer_node = entries["prefiling_answer"].node
                prefiling_answer = self.r.scalar(answer_node, f"{what} prefiling_answer")
                allowed = [c.value for c in choices if c.value != UNSURE]
                if prefiling_answer not in allowed:
                    self.r.fail(
                        answer_node,
                        f"{what} prefiling_answer: {prefiling_answer!r} is not a definite choice "
                        f"(allowed: {', '.join(allowed)})",
                    )
            dimension: str | None = None
            if "dimension" in entries:
                dimension = self.r.scalar(entries["dimension"].node, f"{what} dimension")
                self.question_dimension_nodes[qid] = entries["dimension"].node
            self.questions[qid] = Question(
                id=qid,
                text=self.localized(entries["text"].node, f"{what} text"),
                why=self.localized(entries["why"].node, f"{what} why"),
                choices=choices,
                prefiling_text=(
                    self.localized(entries["prefiling_text"].node, f"{what} prefiling_text")
                    if "prefiling_text" in entries
                    else None
                ),
                prefiling_answer=prefiling_answer,
                dimension=dimension,
            )
        return tuple(self.questions.values())

    def question_ref(self, node: yaml.Node, what: str) -> Question:
        qid = self.r.scalar(node, what)
        if qid not in self.questions:
            self.r.fail(node, f"{what}: unknown question {qid!r}")
        return self.questions[qid]

    def identified(
        self,
        node: yaml.Node,
        kind: str,
        pattern: re.Pattern[str],
        seen: dict[str, int],
        required: tuple[str, ...],
        optional: tuple[str, ...] = (),
        pattern_hint: str | None = None,
    ) -> tuple[str, dict[str, Entry]]:
        """An entry with an `id`: the id is read first so that every later complaint can name it."""
        first = self.r.entries(node, kind)
        if "id" not in first:
            self.r.fail(node, f"{kind}: missing key 'id'")
        id_node = first["id"].node
        item_id = self.r.scalar(id_node, f"{kind} id")
        if not pattern.fullmatch(item_id):
            self.r.fail(
                id_node, f"{kind} id {item_id!r} {pattern_hint or 'does not match ' + pattern.pattern}"
            )
        if item_id in seen:
            self.r.fail(id_node, f"duplicate {kind} id {item_id!r} (first at line {seen[item_id]})")
        seen[item_id] = line_of(id_node)
        return item_id, self.r.mapping(
            node, f"{kind} {item_id}", required=("id", *required), optional=optional
        )

    def parse_dimensions(self, node: yaml.Node) -> tuple[Dimension, ...]:
        parsed: list[tuple[str, dict[str, Entry]]] = []
        seen: dict[str, int] = {}
        for item in self.r.sequence(node, "dimensions"):
            did, entries = self.identified(item, "dimension", _PLAIN_ID, seen, required=("name", "questions"))
            parsed.append((did, entries))
        # A typo in a question's dimension is clearer reported there than as a membership mismatch.
        for qid, dimension_node in self.question_dimension_nodes.items():
            wanted = self.questions[qid].dimension
            if wanted not in seen:
                known = ", ".join(seen)
                self.r.fail(dimension_node, f"question {qid}: unknown dimension {wanted!r} (known: {known})")
        dimensions: list[Dimension] = []
        owner: dict[str, str] = {}
        for did, entries in parsed:
            members: list[str] = []
            for qid_node in self.r.sequence(entries["questions"].node, f"dimension {did} questions"):
                question = self.question_ref(qid_node, f"dimension {did} questions")
                if question.id in owner:
                    self.r.fail(
                        qid_node,
                        f"dimension {did}: {question.id} is already in dimension {owner[question.id]}",
                    )
                if question.dimension != did:
                    self.r.fail(
                        qid_node,
                        f"dimension {did} lists {question.id}, but that question says "
                        f"dimension: {question.dimension or '(none)'}",
                    )
                owner[question.id] = did
                members.append(question.id)
            name = self.localized(entries["name"].node, f"dimension {did} name")
            dimensions.append(Dimension(did, name, tuple(members)))
        for qid, dimension_node in self.question_dimension_nodes.items():
            wanted = self.questions[qid].dimension
            if owner.get(qid) != wanted:
                self.r.fail(
                    dimension_node, f"question {qid} says dimension {wanted}, but {wanted} does not list it"
                )
        return tuple(dimensions)

    # -- formulas -------------------------------------------------------------------------------

    def resolve(self, name: str, at: yaml.Node, what: str) -> Formula:
        if name in self.shared:
            return self.shared[name]
        if name not in self.shared_entries:
            known = ", ".join(self.shared_entries) or "none"
            self.r.fail(at, f"{what}: ref to undefined name {name!r} (shared names: {known})")
        if name in self.resolving:
            cycle = " -> ".join([*self.resolving[self.resolving.index(name) :], name])
            self.r.fail(at, f"{what}: ref cycle {cycle}")
        self.resolving.append(name)
        formula = self.formula(self.shared_entries[name].node, f"shared {name}")
        self.resolving.pop()
        self.shared[name] = formula
        return formula

    def formula(self, node: yaml.Node, what: str) -> Formula:
        operators = ", ".join(_OPERATORS)
        if not isinstance(node, yaml.MappingNode):
            self.r.fail(node, f"{what}: a formula is a mapping with one operator ({operators})")
        entries = self.r.entries(node, what)
        if len(entries) != 1:
            self.r.fail(
                node, f"{what}: a formula has exactly one operator ({operators}), found {', '.join(entries)}"
            )
        (entry,) = entries.values()
        op, arg = entry.key, entry.node
        if op not in _OPERATORS:
            self.r.fail(entry.key_node, f"{what}: unknown operator {op!r} (allowed: {operators})")
        if op in ("all", "any"):
            parts = tuple(self.formula(part, what) for part in self.r.sequence(arg, f"{what} {op}"))
            return All(parts) if op == "all" else AnyOf(parts)
        if op == "not":
            return Not(self.formula(arg, what))
        if op == "ref":
            name = self.r.scalar(arg, f"{what} ref")
            return Ref(name, self.resolve(name, arg, what))
        pair = self.r.sequence(arg, f"{what} {op}")
        if len(pair) != 2:
            self.r.fail(arg, f"{what}: {op} takes [question, value{'s' if op == 'in' else ''}]")
        question = self.question_ref(pair[0], f"{what}")
        if op == "in":
            values: list[str] = []
            for value_node in self.r.sequence(pair[1], f"{what} in"):
                value = self.atom_value(question, value_node, what)
                if value in values:
                    self.r.fail(value_node, f"{what}: duplicate value {value!r}")
                values.append(value)
            return In(question.id, tuple(values))
        value = self.atom_value(question, pair[1], what)
        return Eq(question.id, value) if op == "eq" else Ne(question.id, value)

    def atom_value(self, question: Question, node: yaml.Node, what: str) -> str:
        value = self.r.scalar(node, what)
        definite = [v for v in question.values if v != UNSURE]
        if value == UNSURE:
            self.r.fail(
                node,
                f"{what}: {question.id} cannot be compared with 'unsure' (an unsure answer makes the atom U)",
            )
        if value not in definite:
            self.r.fail(
                node, f"{what}: {question.id} has no answer {value!r} (allowed: {', '.join(definite)})"
            )
        return value

    # -- situations, blockers and what refers to them ---------------------------------------------------

    def parse_items(self, node: yaml.Node, kind: str, pattern: re.Pattern[str]) -> tuple[Item, ...]:
        items: list[Item] = []
        seen: dict[str, int] = {}
        for item_node in self.r.sequence(node, f"{kind}s"):
            item_id, entries = self.identified(
                item_node, kind, pattern, seen, required=("title", "summary", "basis"), optional=("formula",)
            )
            derived = item_id == NO_SITUATION
            what = f"{kind} {item_id}"
            if not derived and "formula" not in entries:
                self.r.fail(item_node, f"{what}: missing key 'formula'")
            if derived and "formula" in entries:
                self.r.fail(
                    entries["formula"].key_node,
                    f"{what} is derived (every situation is F) and takes no formula",
                )
            items.append(
                Item(
                    id=item_id,
                    title=self.localized(entries["title"].node, f"{what} title"),
                    summary=self.localized(entries["summary"].node, f"{what} summary"),
                    basis=self.localized(entries["basis"].node, f"{what} basis"),
                    formula=None if derived else self.formula(entries["formula"].node, f"{what} formula"),
                )
            )
        return tuple(items)

    def parse_distinctions(self, node: yaml.Node, item_ids: set[str]) -> tuple[Distinction, ...]:
        distinctions: list[Distinction] = []
        seen: dict[str, int] = {}
        for item in self.r.sequence(node, "distinctions"):
            did, entries = self.identified(
                item, "distinction", _PLAIN_ID, seen, required=("tolerable", "not_tolerable", "used_by")
            )
            used_by: list[str] = []
            for ref, ref_node in self.r.scalars(entries["used_by"].node, f"distinction {did} used_by"):
                if ref not in item_ids:
                    self.r.fail(ref_node, f"distinction {did} used_by: unknown situation or blocker {ref!r}")
                used_by.append(ref)
            distinctions.append(
                Distinction(
                    id=did,
                    tolerable=self.localized(entries["tolerable"].node, f"distinction {did} tolerable"),
                    not_tolerable=self.localized(
                        entries["not_tolerable"].node, f"distinction {did} not_tolerable"
                    ),
                    used_by=tuple(used_by),
                )
            )
        return tuple(distinctions)

    def parse_categories(self, node: yaml.Node, situation_ids: set[str]) -> tuple[Category, ...]:
        categories: list[Category] = []
        seen: dict[str, int] = {}
        for item in self.r.sequence(node, "categories"):
            cid, entries = self.identified(item, "category", _PLAIN_ID, seen, required=("name", "situations"))
            situations: list[str] = []
            for ref, ref_node in self.r.scalars(entries["situations"].node, f"category {cid} situations"):
                if ref not in situation_ids:
                    self.r.fail(ref_node, f"category {cid} situations: unknown situation {ref!r}")
                situations.append(ref)
            categories.append(
                Category(cid, self.localized(entries["name"].node, f"category {cid} name"), tuple(situations))
            )
        return tuple(categories)

    def parse_disposition(self, node: yaml.Node) -> Disposition:
        entries = self.r.mapping(node, "disposition", required=("hints", "rules", "otherwise"))
        hints: list[DispositionHint] = []
        for hint_id, entry in self.r.entries(entries["hints"].node, "disposition hints").items():
            if not _VALUE.fullmatch(hint_id):
                self.r.fail(entry.key_node, f"disposition hints: {hint_id!r} is not a valid hint name")
            fields = self.r.mapping(entry.node, f"disposition hint {hint_id}", required=("title", "summary"))
            hints.append(
                DispositionHint(
                    hint_id,
                    self.localized(fields["title"].node, f"disposition hint {hint_id} title"),
                    self.localized(fields["summary"].node, f"disposition hint {hint_id} summary"),
                )
            )
        known = [h.id for h in hints]
        if not known:
            self.r.fail(entries["hints"].node, "disposition hints: at least one hint is needed")

        def hint_name(hint_node: yaml.Node, what: str) -> str:
            hint = self.r.scalar(hint_node, what)
            if hint not in known:
                self.r.fail(hint_node, f"{what}: unknown hint {hint!r} (known: {', '.join(known)})")
            return hint

        rules: list[DispositionRule] = []
        for rule_node in self.r.sequence(entries["rules"].node, "disposition rules", non_empty=False):
            rule = self.r.mapping(rule_node, "disposition rule", required=("hint", "when"))
            rules.append(
                DispositionRule(
                    hint=hint_name(rule["hint"].node, "disposition rule hint"),
                    when=self.formula(rule["when"].node, "disposition rule when"),
                )
            )
        otherwise = hint_name(entries["otherwise"].node, "disposition otherwise")
        return Disposition(tuple(rules), otherwise, tuple(hints))
