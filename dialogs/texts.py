"""Message catalogs: gettext .po files read with Babel, keyed by symbolic message ids.

The catalogs are read once from the package and cached; code refers to messages only by id.
Simplified Chinese is complete and is the fallback for every other language. Catalogs are read
from the .po sources at start-up (a few hundred messages, parsed once): no compiled .mo files to
build or to fall out of step with their sources.
"""

from __future__ import annotations

from functools import cache
from importlib import resources

from babel.messages.pofile import read_po

DEFAULT_LOCALE = "zh_CN"
LOCALES = ("zh_CN", "zh_TW", "en")
# Each language named in itself, for the /lang buttons.
LANGUAGE_NAMES = {"zh_CN": "简体中文", "zh_TW": "繁體中文", "en": "English"}
# Telegram and browsers say zh-TW, zh-HK, zh-Hant...: the regions and scripts of Traditional Chinese.
_TRADITIONAL = ("zh-tw", "zh-hk", "zh-mo", "zh-hant")


@cache
def catalog(locale: str) -> dict[str, str]:
    path = resources.files("dialogs") / "locales" / f"{locale}.po"
    with path.open("rb") as handle:
        po = read_po(handle, locale=locale)
    return {str(m.id): str(m.string) for m in po if m.id and m.string}


def normalize_locale(code: str | None) -> str:
    """Map a Telegram `language_code` (zh-hans, zh-TW, en-US, ...) onto a catalog we ship."""
    if not code:
        return DEFAULT_LOCALE
    lowered = code.lower().replace("_", "-").split(",")[0].strip()
    if lowered.startswith("en"):
        return "en"
    if lowered.startswith(_TRADITIONAL):
        return "zh_TW"
    return DEFAULT_LOCALE


class Texts:
    """Looks up messages for one locale, falling back to Simplified Chinese."""

    def __init__(self, locale: str = DEFAULT_LOCALE) -> None:
        self.locale = locale if locale in LOCALES else DEFAULT_LOCALE
        self._primary = catalog(self.locale)
        self._fallback = catalog(DEFAULT_LOCALE)

    def __call__(self, key: str, /, **params: object) -> str:
        template = self._primary.get(key) or self._fallback.get(key)
        if template is None:
            raise KeyError(f"message id {key!r} is in no catalog")
        return template.format(**params) if params else template

    def has(self, key: str) -> bool:
        return key in self._primary or key in self._fallback
