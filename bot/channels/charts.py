"""Statistics charts as PNG (matplotlib, server-side), shared by the Telegram and web channels.

Chinese labels need a CJK font: the font file is registered with matplotlib explicitly, since
looking fonts up by family name silently falls back to a font that draws boxes.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Mapping, Sequence
from functools import lru_cache
from pathlib import Path

from bot.core.models import CountRow
from bot.services.reports import ESCALATION_LABELS, AdminReport

log = logging.getLogger(__name__)

CJK_FONT_FILES = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/droid/DroidSansFallbackFull.ttf",
)
OUTCOME_LABELS = {"answer": "机器人解答", "clarify": "追问澄清", "escalate": "转民警"}
SATISFACTION_LABELS = {"satisfied": "满意", "basically": "基本满意", "unsatisfied": "不满意"}
_COLOURS = ("#1f5fa8", "#f0a202", "#c0392b", "#2e8b57", "#7d3c98")


@lru_cache(maxsize=1)
def cjk_font_name() -> str | None:
    """Register the first CJK font found; its family name, or None when the machine has none."""
    from matplotlib import font_manager

    for candidate in CJK_FONT_FILES:
        if Path(candidate).is_file():
            font_manager.fontManager.addfont(candidate)
            return font_manager.FontProperties(fname=candidate).get_name()
    log.warning("no CJK font found (install fonts-wqy-microhei): chart labels will not render")
    return None


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    font = cjk_font_name()
    if font:
        matplotlib.rcParams["font.sans-serif"] = [font, "DejaVu Sans"]
        matplotlib.rcParams["font.family"] = "sans-serif"
    matplotlib.rcParams["axes.unicode_minus"] = False
    return Figure(figsize=(width, height), dpi=110, layout="constrained")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _barh(ax, rows: Sequence[tuple[str, int]], title: str) -> None:
    ax.set_title(title)
    if not rows:
        ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    labels = [_shorten(label) for label, _ in rows][::-1]
    values = [value for _, value in rows][::-1]
    ax.barh(labels, values, color=_COLOURS[0])
    ax.xaxis.set_major_locator(_integer_ticks())
    for i, value in enumerate(values):
        ax.text(value, i, f" {value}", va="center", fontsize=8)


def _integer_ticks():
    from matplotlib.ticker import MaxNLocator

    return MaxNLocator(integer=True)  # counts: no 0.25-consultation ticks


def _shorten(text: str, limit: int = 14) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _days(ax, rows: Sequence[CountRow]) -> None:
    ax.set_title("每日咨询量")
    if not rows:
        ax.text(0.5, 0.5, "暂无数据", ha="center", va="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    ax.bar([r.key[5:] for r in rows], [r.count for r in rows], color=_COLOURS[0])
    ax.yaxis.set_major_locator(_integer_ticks())
    ax.tick_params(axis="x", labelrotation=60, labelsize=7)


def chart_png(
    kind: str,
    report: AdminReport,
    titles: Mapping[str, str] | None = None,
    names: Mapping[str, str] | None = None,
) -> bytes:
    """One chart: days | outcomes | topics | communities | satisfaction | response."""
    titles, names = titles or {}, names or {}
    s = report.snapshot
    fig = _figure(6.4, 3.6)
    ax = fig.add_subplot()
    if kind == "days":
        _days(ax, s.by_day)
    elif kind == "outcomes":
        _barh(ax, outcome_rows(report), "解答 / 澄清 / 转民警")
    elif kind == "topics":
        _barh(ax, [(titles.get(r.key, r.key), r.count) for r in s.by_entry[:10]], "热门话题")
    elif kind == "communities":
        _barh(ax, [(names.get(r.key, r.key), r.count) for r in s.by_community[:12]], "各社区咨询量")
    elif kind == "satisfaction":
        _barh(ax, [(SATISFACTION_LABELS.get(k, k), v) for k, v in s.satisfaction.items()], "群众满意度")
    elif kind == "escalations":
        _barh(ax, [(ESCALATION_LABELS.get(k, k), v) for k, v in s.escalations.items()], "转办工单")
    else:
        raise ValueError(f"unknown chart {kind!r}")
    return _png(fig)


def outcome_rows(report: AdminReport) -> list[tuple[str, int]]:
    """Questions asked by outcome, guide views apart: the same three figures as every page shows."""
    return [(OUTCOME_LABELS.get(k, k), v) for k, v in report.questions_by_outcome.items()]


def summary_png(
    report: AdminReport, titles: Mapping[str, str] | None = None, names: Mapping[str, str] | None = None
) -> bytes:
    """Four panels in one image, for a chat message."""
    titles, names = titles or {}, names or {}
    s = report.snapshot
    fig = _figure(10, 7)
    axes = fig.subplots(2, 2)
    _days(axes[0][0], s.by_day)
    _barh(axes[0][1], outcome_rows(report), "解答 / 澄清 / 转民警")
    _barh(axes[1][0], [(titles.get(r.key, r.key), r.count) for r in s.by_entry[:8]], "热门话题")
    _barh(axes[1][1], [(SATISFACTION_LABELS.get(k, k), v) for k, v in s.satisfaction.items()], "群众满意度")
    return _png(fig)
