"""The six-month chart a review is shared with: touches from them and from us each month.

It goes to the client with their version of the review, so it shows what happened between us and nothing of our
own reading of it: no health label, no warning signs (PRODUCT.md §4.12).

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
from matplotlib.ticker import MaxNLocator

MAX_MONTHS = 6
WIDTH_INCHES, HEIGHT_INCHES, DPI = 8.0, 4.5, 100  # 800 × 450 px: readable in a Slack preview
IN_COLOUR, OUT_COLOUR = "#2c4a3e", "#9cc3b2"  # the app's green; them dark, us light
MONTH = re.compile(r"\d{4}-(0[1-9]|1[0-2])")


@dataclass(frozen=True)
class MonthPoint:
    month: str  # 'YYYY-MM'
    touches_in: int  # from them
    touches_out: int  # from us


def _check(points: Sequence[MonthPoint]) -> None:
    if not 1 <= len(points) <= MAX_MONTHS:
        raise ValueError(f"a chart shows 1 to {MAX_MONTHS} months, not {len(points)}")
    for point in points:
        if not MONTH.fullmatch(point.month):
            raise ValueError(f"month {point.month!r} is not YYYY-MM")
        if point.touches_in < 0 or point.touches_out < 0:
            raise ValueError(f"{point.month}: touches cannot be negative")


def _month_name(month: str) -> str:
    year, number = month.split("-")
    return date(int(year), int(number), 1).strftime("%b %Y")


def six_month_chart(points: Sequence[MonthPoint]) -> bytes:
    """A PNG of up to six months, oldest first as given; ValueError for none, more than six, or bad values."""
    buffer = io.BytesIO()
    # No Software/date metadata: the same points give the same bytes on the same matplotlib.
    chart_figure(points).savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def chart_figure(points: Sequence[MonthPoint]) -> Figure:
    """The chart as drawn, before it is a PNG."""
    _check(points)
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    bars = figure.subplots()
    xs = range(len(points))
    width = 0.38
    bars.bar([x - width / 2 for x in xs], [p.touches_in for p in points], width, color=IN_COLOUR,
             label="From you")
    bars.bar([x + width / 2 for x in xs], [p.touches_out for p in points], width, color=OUT_COLOUR,
             label="From us")
    highest = max(max(p.touches_in, p.touches_out) for p in points)
    bars.set_ylim(0, max(highest, 1) * 1.1)  # an empty half-year still gets an axis, not a collapsed one
    bars.yaxis.set_major_locator(MaxNLocator(integer=True))
    bars.set_ylabel("Touches")
    bars.legend(loc="lower left", bbox_to_anchor=(0, 1), frameon=False, ncols=2)  # above, clear of any bar
    bars.spines[["top", "right"]].set_visible(False)
    bars.tick_params(axis="x", length=0)
    bars.set_xticks(list(xs), [_month_name(p.month) for p in points])
    bars.set_xlim(-0.6, len(points) - 0.4)
    return figure
