"""The /stats chart: a real PNG whose Chinese labels are drawn with a font that has their glyphs."""

from __future__ import annotations

import io
import struct
import warnings

import pytest
from fontTools.ttLib import TTFont
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.services.stats import chart
from bot.services.stats.model import FilingCounts, GroupCounts, ReviewTime, Stats
from dialogs.texts import LOCALES, Texts, catalog

MONTHS = [
    ("2026-09", FilingCounts(accepted=4, not_accepted=1, returned=2, pending=0, withdrawn=1)),
    ("2026-10", FilingCounts(accepted=6, not_accepted=1, returned=1, pending=0, withdrawn=0)),
    ("2026-11", FilingCounts(accepted=2, not_accepted=0, returned=1, pending=4, withdrawn=0)),
]


def png_size(content: bytes) -> tuple[int, int]:
    assert content.startswith(b"\x89PNG\r\n\x1a\n")
    width, height = struct.unpack(">II", content[16:24])
    return width, height


def histogram(texts: Texts) -> list[tuple[str, int]]:
    return [
        (texts(f"stats.bucket.{key}"), n)
        for key, n in (("le_4h", 5), ("4h_1d", 9), ("1d_2d", 4), ("gt_2d", 2))
    ]


def glyph_warnings(caught: list[warnings.WarningMessage]) -> list[str]:
    return [str(w.message) for w in caught if "missing from font" in str(w.message)]


@pytest.mark.parametrize("locale", LOCALES)
def test_chart_renders_every_label_without_a_missing_glyph(locale: str) -> None:
    texts = Texts(locale)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart.render(MONTHS, histogram(texts), texts)
    assert glyph_warnings(caught) == []
    assert png_size(png) == (880, 990)  # 8 x 9 inches at 110 dpi


def test_the_missing_glyph_check_would_catch_boxes() -> None:
    # The control: the same check does see matplotlib's warning when Chinese meets a Latin font.
    figure = Figure()
    FigureCanvasAgg(figure)
    figure.text(0.5, 0.5, "报备", fontfamily="DejaVu Sans")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        figure.savefig(io.BytesIO(), format="png")
    assert glyph_warnings(caught)


def test_the_chart_font_has_every_character_of_the_chart_texts() -> None:
    font = TTFont(str(chart.cjk_font()), fontNumber=0)
    cmap = font.getBestCmap()
    assert chart.cjk_family() in (
        "Noto Sans CJK SC",
        "Noto Sans CJK JP",
        "Source Han Sans SC",
        "WenQuanYi Zen Hei",
    )
    labels = {
        text
        for locale in LOCALES
        for key, text in catalog(locale).items()
        if key.startswith(("chart.", "stats.bucket."))
    }
    assert len(labels) > 30
    missing = {ch for text in labels for ch in text if not ch.isspace() and ord(ch) not in cmap}
    assert missing == set()


def test_empty_figures_still_make_a_chart_that_says_so() -> None:
    texts = Texts()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        png = chart.render([], [("4小时以内", 0)], texts)
    assert glyph_warnings(caught) == []
    assert png_size(png) == (880, 990)


def test_stats_chart_reads_the_figures_of_stats(monkeypatch: pytest.MonkeyPatch) -> None:
    stats = Stats(
        first_day=None,
        last_day=None,
        jurisdictions=None,
        filings=FilingCounts(),
        categories=(),
        situations=(),
        units=(),
        by_month=tuple(GroupCounts(month, counts) for month, counts in MONTHS),
        review_time=ReviewTime(20, 5.0, 0, 0, 0, (("le_4h", 5), ("4h_1d", 9), ("1d_2d", 4), ("gt_2d", 2))),
        reviews=None,  # type: ignore[arg-type]
        verdict_match=None,  # type: ignore[arg-type]
        rectification=None,  # type: ignore[arg-type]
        visits=None,  # type: ignore[arg-type]
    )
    seen: dict[str, object] = {}

    def spy(months, hist, texts):  # type: ignore[no-untyped-def]
        seen.update(months=months, hist=hist)
        return b""

    monkeypatch.setattr(chart, "render", spy)
    chart.stats_chart(stats, Texts("en"))
    assert seen["months"] == MONTHS
    assert [label for label, _ in seen["hist"]] == [  # type: ignore[attr-defined]
        Texts("en")(f"stats.bucket.{key}") for key in ("le_4h", "4h_1d", "1d_2d", "gt_2d")
    ]
