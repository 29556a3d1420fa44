"""Every message id the code uses exists, and the languages agree on placeholders."""

from __future__ import annotations

import re
import string
from pathlib import Path

import pytest

from dialogs.texts import DEFAULT_LOCALE, LOCALES, Texts, catalog, normalize_locale

ROOT = Path(__file__).resolve().parents[2]
# Message ids appear as string literals like "reg.ask_name" passed to texts(...) or as *_key fields.
ID_PATTERN = re.compile(
    r"""["']((?:reg|nav|engine|input|router|help|cmd|me|role|users|error|web|pf|sc|drafts|mine|filing|status"""
    r"""|access|menu|date|amount|multi|files|milestones|confirm|link|rv|queue|delivery|rect|tr|digest|up|rem|visit|close|lang|export|chart|stats|adm|inv|api)\.[a-z_.]+|greeting)["']"""
)


# Log event names and audit actions look alike ("role.granted") but are not messages.
NOT_MESSAGES = re.compile(r"\blog\.\w+\(|\baction=")


def used_ids() -> set[str]:
    found: set[str] = set()
    for folder in ("bot", "dialogs"):
        for path in (ROOT / folder).rglob("*.py"):
            for line in path.read_text(encoding="utf-8").splitlines():
                if not NOT_MESSAGES.search(line):
                    found.update(ID_PATTERN.findall(line))
    return found


def test_ids_built_at_run_time_exist() -> None:
    texts = Texts()
    for role in ("cadre", "officer", "admin"):
        texts(f"role.{role}")
    from dialogs.flows import review, tolerance

    for colour in review.COLOURS:
        texts(f"rv.colour.{colour}")
    for key in (
        *[f"tr.source.{s}" for s in tolerance.SOURCES],
        *[f"tr.outcome.{o}" for o in tolerance.OUTCOMES],
    ):
        texts(key)
    for status in (
        "draft",
        "submitted",
        "returned",
        "accepted",
        "not_accepted",
        "withdrawn",
        "under_review",
        "decided",
    ):
        texts(f"status.{status}")
    from dialogs.flows import visits

    for prefix, values in (("mood", visits.MOODS), ("form", visits.FORMS), ("stage", visits.STAGES)):
        for value in values:
            texts(f"visit.{prefix}.{value}")
    for value in ("planned", "done"):
        texts(f"visit.status.{value}")
    texts("status.closed")
    for kind in ("guidance", "milestone_update"):
        texts(f"up.line.{kind}")
    for stage in ("verifying", "deliberation", "decided"):
        texts(f"tr.status.{stage}")
    from bot.channels.telegram import _UNSUPPORTED

    for kind in (*_UNSUPPORTED, "photo", "document", "other"):
        if kind in ("venue", "dice", "game", "story"):
            continue  # venue maps to location; the rest fall back to input.kind.other
        assert texts.has(f"input.kind.{kind}"), kind


def placeholders(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_used_message_id_is_in_the_default_catalog() -> None:
    ids = used_ids()
    assert len(ids) > 40  # the scan really found the ids
    missing = sorted(i for i in ids if i not in catalog(DEFAULT_LOCALE))
    assert missing == []


@pytest.mark.parametrize("locale", [loc for loc in LOCALES if loc != DEFAULT_LOCALE])
def test_other_languages_are_complete_with_the_same_placeholders(locale: str) -> None:
    base, other = catalog(DEFAULT_LOCALE), catalog(locale)
    assert sorted(set(base) - set(other)) == []
    differing = {
        k: (placeholders(base[k]), placeholders(other[k]))
        for k in base
        if placeholders(base[k]) != placeholders(other[k])
    }
    assert differing == {}


def test_unknown_id_is_an_error_not_a_silent_blank() -> None:
    with pytest.raises(KeyError):
        Texts()("no.such.message")


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-hans", "zh_CN"),
        ("zh-CN,zh;q=0.9", "zh_CN"),
        ("en-US", "en"),
        ("en", "en"),
        ("zh-TW", "zh_TW"),
        ("zh-hk", "zh_TW"),
        ("zh-Hant-TW", "zh_TW"),
        ("zh", "zh_CN"),
        ("zh-SG", "zh_CN"),
        (None, "zh_CN"),
        ("fr", "zh_CN"),
    ],
)
def test_telegram_language_codes_pick_a_catalog(code: str | None, expected: str) -> None:
    assert normalize_locale(code) == expected


# Characters that exist only in the Simplified script, common in these texts.
SIMPLIFIED_ONLY = set("这为个们报备纪检监审错纠门问题说请点击开关给认证单须应该")


def test_traditional_chinese_is_written_in_traditional_characters() -> None:
    leaked = {
        key: sorted(set(text) & SIMPLIFIED_ONLY)
        for key, text in catalog("zh_TW").items()
        if set(text) & SIMPLIFIED_ONLY
    }
    assert leaked == {}
    # And it is a translation, not a copy: most texts differ from their Simplified source.
    base = catalog(DEFAULT_LOCALE)
    same = [
        k for k, text in catalog("zh_TW").items() if text == base[k] and set(text) - set(string.printable)
    ]
    assert len(same) < len(base) // 5


def test_no_catalog_keeps_messages_the_code_no_longer_has() -> None:
    base = set(catalog(DEFAULT_LOCALE))
    for locale in LOCALES:
        assert sorted(set(catalog(locale)) - base) == [], locale
