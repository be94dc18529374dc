"""The six-month chart a review is shared with: touches from them and from us each month, and the health label.

Drawn with matplotlib's object API on the Agg canvas, never pyplot: pyplot keeps global figure state, and charts
are drawn from request and scheduler threads at once.
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from bot.relationship.health import LABELS

MAX_MONTHS = 6
WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.5, 100  # 800 × 450 px: readable in a Slack preview
IN_COLOUR, OUT_COLOUR = "#2c4a3e", "#9cc3b2"  # the app's green; them dark, us light
LABEL_COLOURS = {"Deep": "#1b7f3b", "Steady": "#6aa84f", "Shallow": "#e6a23c", "At risk": "#cc3333"}
NO_LABEL_COLOUR = "#d9d9d9"
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class MonthPoint:
    month: str  # 'YYYY-MM'
    touches_in: int  # from them
    touches_out: int  # from us
    label: str | None  # Deep | Steady | Shallow | At risk, or None when there was nothing to judge


def _check(points: Sequence[MonthPoint]) -> None:
    if not 1 <= len(points) <= MAX_MONTHS:
        raise ValueError(f"a chart shows 1 to {MAX_MONTHS} months, not {len(points)}")
    for point in points:
        if not MONTH.fullmatch(point.month):
            raise ValueError(f"month {point.month!r} is not YYYY-MM")
        if point.touches_in < 0 or point.touches_out < 0:
            raise ValueError(f"{point.month}: touches cannot be negative")
        if point.label is not None and point.label not in LABELS:
            raise ValueError(f"{point.month}: unknown health label {point.label!r}")


def _month_name(month: str) -> str:
    year, number = month.split("-")
    return date(int(year), int(number), 1).strftime("%b %Y")


def six_month_chart(points: Sequence[MonthPoint]) -> bytes:
    """A PNG of up to six months, oldest first as given; ValueError for none, more than six, or bad values."""
    _check(points)
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    bars, strip = figure.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [6, 1], "hspace": 0.08})
    xs = range(len(points))
    width = 0.38
    bars.bar([x - width / 2 for x in xs], [p.touches_in for p in points], width, color=IN_COLOUR,
             label="From them")
    bars.bar([x + width / 2 for x in xs], [p.touches_out for p in points], width, color=OUT_COLOUR,
             label="From us")
    highest = max(max(p.touches_in, p.touches_out) for p in points)
    bars.set_ylim(0, max(highest, 1) * 1.1)  # an empty half-year still gets an axis, not a collapsed one
    bars.yaxis.get_major_locator().set_params(integer=True)
    bars.set_ylabel("Touches")
    bars.legend(loc="lower left", bbox_to_anchor=(0, 1), frameon=False, ncols=2)  # above, clear of any bar
    bars.spines[["top", "right"]].set_visible(False)
    bars.tick_params(axis="x", length=0)

    # The health strip: one coloured cell per month with its label written in it.
    for x, point in zip(xs, points, strict=True):
        colour = LABEL_COLOURS.get(point.label or "", NO_LABEL_COLOUR)
        strip.bar(x, 1, 0.92, color=colour)
        strip.text(x, 0.5, point.label or "—", ha="center", va="center", fontsize=9,
                   color="white" if point.label else "#555555")
    strip.set_ylim(0, 1)
    strip.set_yticks([])
    strip.set_ylabel("Health", rotation=0, ha="right", va="center")
    for side in ("top", "right", "left", "bottom"):
        strip.spines[side].set_visible(False)
    strip.set_xticks(list(xs), [_month_name(p.month) for p in points])
    strip.tick_params(axis="x", length=0)
    strip.set_xlim(-0.6, len(points) - 0.4)

    buffer = io.BytesIO()
    # No Software/date metadata: the same points give the same bytes on the same matplotlib.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()
