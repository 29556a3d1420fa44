"""Bring the Traditional Chinese catalog up to date with the Simplified Chinese one.

    .venv/bin/pip install -e '.[i18n]'
    .venv/bin/python scripts/zh_tw_catalog.py          # add what zh_TW lacks, keep the rest
    .venv/bin/python scripts/zh_tw_catalog.py --all    # convert every message again

A message that is new in zh_CN.po gets a first zh_TW text from OpenCC's character conversion
(s2t: standard Traditional characters, no Taiwan-specific vocabulary, since the texts are
mainland policy language, as in the second seed article). Texts already in zh_TW.po are kept
unless --all is given, so a reviewer's corrections survive the next run. Messages that left
zh_CN.po leave zh_TW.po too.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

LOCALES = Path(__file__).resolve().parents[1] / "dialogs" / "locales"
HEADER_BLOCK = (
    "# Messages of the rongcuo bot, zh_TW. Keys are symbolic ids; see dialogs/texts.py.\n"
    "# Kept in step with zh_CN.po by scripts/zh_tw_catalog.py; edit the texts here freely.\n"
    'msgid ""\n'
    'msgstr ""\n'
    '"Content-Type: text/plain; charset=UTF-8\\n"\n'
    '"Language: zh_TW\\n"\n'
    "\n"
)


def read(path: Path, locale: str) -> Catalog:
    with path.open("rb") as handle:
        return read_po(handle, locale=locale)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--all", action="store_true", help="convert every message again")
    args = parser.parse_args(argv)
    try:
        from opencc_purepy import OpenCC
    except ImportError:
        print("opencc-purepy is missing: pip install -e '.[i18n]'", file=sys.stderr)
        return 2
    convert = OpenCC("s2t").convert
    source = read(LOCALES / "zh_CN.po", "zh_CN")
    target_path = LOCALES / "zh_TW.po"
    existing = (
        {}
        if args.all or not target_path.exists()
        else {str(m.id): str(m.string) for m in read(target_path, "zh_TW") if m.id and m.string}
    )
    out = Catalog(locale="zh_TW", fuzzy=False)
    added = 0
    for message in source:
        if not message.id:
            continue
        key = str(message.id)
        text = existing.get(key)
        if text is None:
            text = convert(str(message.string))
            added += 1
        out.add(key, text)
    # The same short header as zh_CN.po: Babel's would change its dates on every run.
    with target_path.open("wb") as handle:
        handle.write(HEADER_BLOCK.encode())
        write_po(handle, out, width=0, omit_header=True, no_location=True)
    print(f"zh_TW.po: {len(out)} messages, {added} converted, {len(out) - added} kept")
    return 0


if __name__ == "__main__":
    sys.exit(main())
