"""The /stats chart: filings per month stacked by outcome, and the distribution of review times,
as one PNG with labels in the reader's language.

Chinese labels need a font with CJK glyphs, and a slim server image has none: the font comes from
the `mplfonts` package (Noto Sans CJK SC, which also covers Traditional characters), registered
with matplotlib's font manager from where pip put it, so nothing is written anywhere at run time.
A system Noto CJK (Debian's fonts-noto-cjk) is the fallback. Figures are drawn with the object API
on the Agg canvas (no pyplot, no global current figure), so rendering in a worker thread is safe.
"""

from __future__ import annotations

import importlib.util
import io
import threading
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from bot.services.stats.model import Stats
from dialogs.texts import Texts

# The segments of a month's bar, bottom to top, with their colours: the outcomes of
# bot/services/stats/model.py, which add up to the filings received.
OUTCOMES: tuple[tuple[str, str], ...] = (
    ("accepted", "#2e7d32"),
    ("not_accepted", "#c62828"),
    ("returned", "#ef6c00"),
    ("pending", "#9e9e9e"),
    ("withdrawn", "#cfd8dc"),
)
BUNDLED_FONT = "NotoSansCJKsc-Regular.otf"
SYSTEM_FONTS = ("Noto Sans CJK SC", "Noto Sans CJK JP", "Source Han Sans SC", "WenQuanYi Zen Hei")
# Two panels stacked: readable on a phone, where Telegram shows photos at the screen's width.
SIZE_INCHES, DPI = (8.0, 9.0), 110

_render_lock = threading.Lock()

if TYPE_CHECKING:
    from matplotlib.axes import Axes


class Outcomes(Protocol):
    accepted: int
    not_accepted: int
    returned: int
    pending: int
    withdrawn: int


class FontMissing(RuntimeError):
    pass


@cache
def cjk_font() -> Path:
    """The file of a font with Chinese glyphs, registered with matplotlib once per process."""
    # matplotlib is imported when the first chart is drawn, not when the program (or the CLI) starts.
    from matplotlib import font_manager

    spec = importlib.util.find_spec("mplfonts")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        candidate = Path(folder) / "fonts" / BUNDLED_FONT
        if candidate.is_file():
            font_manager.fontManager.addfont(str(candidate))
            return candidate
    for name in SYSTEM_FONTS:
        try:
            found = font_manager.findfont(font_manager.FontProperties(family=name), fallback_to_default=False)
        except ValueError:
            continue
        return Path(found)
    raise FontMissing("no CJK font: install the mplfonts package or fonts-noto-cjk")


@cache
def cjk_family() -> str:
    from matplotlib import font_manager

    return font_manager.FontProperties(fname=str(cjk_font())).get_name()


def stats_chart(stats: Stats, texts: Texts) -> bytes:
    """The chart of one /stats answer."""
    months = [(group.key, group.counts) for group in stats.by_month]
    histogram = [(texts(f"stats.bucket.{key}"), count) for key, count in stats.review_time.histogram]
    return render(months, histogram, texts)


def render(
    months: Sequence[tuple[str, Outcomes]], histogram: Sequence[tuple[str, int]], texts: Texts
) -> bytes:
    """The PNG: filings per month ("YYYY-MM", outcomes) stacked by outcome (top), and the
    number of filings per review-time bucket (label, count) (bottom)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    family = cjk_family()
    with _render_lock:
        figure = Figure(figsize=SIZE_INCHES, dpi=DPI, layout="constrained")
        FigureCanvasAgg(figure)
        top, bottom = figure.subplots(2, 1)
        _months_panel(top, months, texts, family)
        _histogram_panel(bottom, histogram, texts, family)
        out = io.BytesIO()
        figure.savefig(out, format="png")
    return out.getvalue()


def _style(axes: Axes, title: str, xlabel: str, ylabel: str, family: str) -> None:
    axes.set_title(title, fontfamily=family, fontsize=14, loc="left")
    axes.set_xlabel(xlabel, fontfamily=family)
    axes.set_ylabel(ylabel, fontfamily=family)
    axes.spines[["top", "right"]].set_visible(False)
    axes.yaxis.get_major_locator().set_params(integer=True)
    axes.grid(axis="y", color="#e0e0e0")
    axes.set_axisbelow(True)


def _empty(axes: Axes, texts: Texts, family: str) -> None:
    axes.text(
        0.5, 0.5, texts("chart.empty"), ha="center", va="center", fontfamily=family, transform=axes.transAxes
    )
    axes.set_xticks([])
    axes.set_yticks([])


def _months_panel(axes: Axes, months: Sequence[tuple[str, Outcomes]], texts: Texts, family: str) -> None:
    _style(axes, texts("chart.by_month"), texts("chart.month"), texts("chart.filings"), family)
    if not months:
        _empty(axes, texts, family)
        return
    labels = [month for month, _ in months]
    base = [0] * len(months)
    for outcome, colour in OUTCOMES:
        heights = [int(getattr(counts, outcome)) for _, counts in months]
        axes.bar(labels, heights, bottom=base, color=colour, label=texts(f"chart.outcome.{outcome}"))
        base = [b + h for b, h in zip(base, heights, strict=True)]
    for x, total in enumerate(base):
        if total:
            axes.annotate(str(total), (x, total), ha="center", va="bottom", fontsize=9)
    axes.legend(prop={"family": family}, frameon=False, ncols=3, loc="upper left")
    axes.set_ylim(0, max(base) * 1.4 or 1)  # headroom for the legend
    if len(labels) > 6:
        axes.tick_params(axis="x", labelrotation=45)


def _histogram_panel(axes: Axes, histogram: Sequence[tuple[str, int]], texts: Texts, family: str) -> None:
    _style(axes, texts("chart.review_time"), texts("chart.review_hours"), texts("chart.count"), family)
    if not histogram or not any(count for _, count in histogram):
        _empty(axes, texts, family)
        return
    labels = [label for label, _ in histogram]
    counts = [int(count) for _, count in histogram]
    bars = axes.bar(labels, counts, color="#1565c0")
    axes.bar_label(bars, fontsize=9)
    axes.set_ylim(0, max(counts) * 1.2)
    for label in axes.get_xticklabels():
        label.set_fontfamily(family)
