"""Small charts drawn on the server as SVG: no script, no library, the same in every browser.

A chart is drawn for a width in CSS pixels and shown at that size or smaller (``viewBox``),
so its text stays readable: pages draw one chart for a desktop and a narrower one for a
phone, and show one of them by CSS. Colours come from CSS classes (``chart-series-N``,
``chart-axis``...), so the page's light and dark themes apply. Every chart names itself
(``<title>``, ``<desc>``) for screen readers; the page puts its figures in a table too.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

FONT_SIZE = 13
LABEL_CHAR_WIDTH = 7.5  # about the width of one character of a label at FONT_SIZE
MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 10, 12, 28


@dataclass(frozen=True)
class Series:
    """One named row of values, one value per label of the chart."""

    name: str
    values: Sequence[float]


def nice_ceiling(value: float) -> float:
    """The smallest of 1, 2, 2.5, 5 times a power of ten at or above ``value`` (1 for 0);
    2.5 only from 25 up or below 1, where it never makes a count end in a half."""
    if value <= 0:
        return 1
    power: float = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if step == 2.5 and power == 1:
            continue
        if step * power >= value - 1e-12:
            return step * power
    return 10 * power


# Steps from 0 to a ceiling of 1, 2, 2.5 or 5 (times a power of ten) that land on round
# values: 0.2, 0.5, 0.5 and 1 (times the same power).
STEPS_FOR_MANTISSA = {1: 5, 2: 4, 2.5: 5, 5: 5}


def ticks(top: float, *, whole: bool = False) -> list[float]:
    """Evenly spaced round gridline values from 0 to ``nice_ceiling(top)``; ``whole``
    numbers (people) get whole-numbered steps too (fewer of them on a small scale)."""
    ceiling = nice_ceiling(max(top, 1) if whole else top)
    mantissa = round(ceiling / 10 ** math.floor(math.log10(ceiling) + 1e-9), 1)
    steps = STEPS_FOR_MANTISSA.get(mantissa, 4)
    if whole:
        steps = next(n for n in (steps, 4, 2, 1) if round(ceiling) % n == 0)
    return [ceiling * i / steps for i in range(steps + 1)]


def axis_labeller(gridlines: Sequence[float], as_percent: bool) -> Callable[[float], str]:
    """Gridline labels written alike, with as many decimals as their step needs."""
    step = (gridlines[1] - gridlines[0]) * (100 if as_percent else 1) if len(gridlines) > 1 else 1
    decimals = max(0, -math.floor(math.log10(step) + 1e-9))
    if not math.isclose(round(step, decimals), step):  # e.g. a step of 2.5
        decimals += 1
    if as_percent:
        return lambda value: f"{value * 100:.{decimals}f}%"
    return lambda value: f"{value:,.{decimals}f}"


def label_every(labels: Sequence[str], plot_width: float) -> int:
    """Show every n-th x label so that none overlaps its neighbour."""
    if not labels:
        return 1
    widest = max(len(label) for label in labels) * LABEL_CHAR_WIDTH + 8
    return max(1, math.ceil(widest * len(labels) / plot_width))


def number(value: float) -> str:
    return f"{value:,.0f}" if value == int(value) else f"{value:,.1f}"


def percent(value: float) -> str:
    """A rate (0.123) as people read it: ``12.3%``; small rates keep two decimals."""
    share = value * 100
    return f"{share:.2f}%" if 0 < share < 1 else f"{share:.1f}%"


def bar_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    width: int,
    height: int = 240,
    id_prefix: str,
    fmt: Callable[[float], str] = number,
    colour: int = 0,
) -> SafeString:
    """Grouped bars: for each label, one bar per series side by side; ``colour`` is the
    first series' colour class (``chart-series-N``), the others follow."""
    frame = Frame(labels, series, width, height, fmt, whole=fmt is number)
    group = frame.step
    bar = max(1.0, group * 0.8 / max(len(series), 1))
    shapes = []
    for s, row in enumerate(series):
        for i, value in enumerate(row.values):
            x = frame.left + i * group + group * 0.1 + s * bar
            y = frame.y(value)
            shapes.append(
                format_html(
                    '<rect class="chart-series-{}" x="{}" y="{}" width="{}" height="{}">'
                    "<title>{}: {} {}</title></rect>",
                    s + colour,
                    f"{x:.1f}",
                    f"{y:.1f}",
                    f"{max(bar - 1, 1):.1f}",
                    f"{frame.bottom - y:.1f}",
                    labels[i],
                    fmt(value),
                    row.name,
                )
            )
    return frame.svg(title, description, id_prefix, shapes)


def line_chart(
    labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    description: str,
    width: int,
    height: int = 220,
    id_prefix: str,
    fmt: Callable[[float], str] = percent,
    colour: int = 0,
) -> SafeString:
    """A line per series with a dot on each value (its figure in the dot's tooltip)."""
    frame = Frame(labels, series, width, height, fmt)
    shapes = []
    for s, row in enumerate(series):
        points = [(frame.x_centre(i), frame.y(v)) for i, v in enumerate(row.values)]
        if len(points) > 1:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in points)
            shapes.append(
                format_html('<polyline class="chart-line-{}" points="{}"/>', s + colour, path)
            )
        for i, (x, y) in enumerate(points):
            shapes.append(
                format_html(
                    '<circle class="chart-series-{}" cx="{}" cy="{}" r="3.5">'
                    "<title>{}: {} {}</title></circle>",
                    s + colour,
                    f"{x:.1f}",
                    f"{y:.1f}",
                    labels[i],
                    fmt(row.values[i]),
                    row.name,
                )
            )
    return frame.svg(title, description, id_prefix, shapes)


class Frame:
    """The axes shared by both kinds of chart: scale, gridlines, labels."""

    def __init__(
        self,
        labels: Sequence[str],
        series: Sequence[Series],
        width: int,
        height: int,
        fmt: Callable[[float], str],
        *,
        whole: bool = False,
    ) -> None:
        for row in series:
            if len(row.values) != len(labels):
                raise ValueError(f"{row.name!r} has {len(row.values)} values for {len(labels)}")
        self.labels, self.width, self.height, self.fmt = list(labels), width, height, fmt
        top = max([v for row in series for v in row.values] or [0])
        self.gridlines = ticks(top, whole=whole)
        # Room for the longest figure of the scale, right-aligned against the plot.
        self.axis_label = axis_labeller(self.gridlines, as_percent=fmt is percent)
        widest = max(len(self.axis_label(value)) for value in self.gridlines)
        self.left = round(widest * LABEL_CHAR_WIDTH + 12)
        self.right = width - MARGIN_RIGHT
        self.top, self.bottom = MARGIN_TOP, height - MARGIN_BOTTOM
        self.step = (self.right - self.left) / max(len(labels), 1)

    def y(self, value: float) -> float:
        return self.bottom - (self.bottom - self.top) * value / self.gridlines[-1]

    def x_centre(self, index: int) -> float:
        return self.left + self.step * (index + 0.5)

    def svg(
        self, title: str, description: str, id_prefix: str, shapes: list[SafeString]
    ) -> SafeString:
        parts = []
        for value in self.gridlines:
            y = self.y(value)
            parts.append(
                format_html(
                    '<line class="chart-grid" x1="{}" x2="{}" y1="{}" y2="{}"/>'
                    '<text class="chart-axis" x="{}" y="{}" text-anchor="end">{}</text>',
                    self.left,
                    self.right,
                    f"{y:.1f}",
                    f"{y:.1f}",
                    self.left - 6,
                    f"{y + 4:.1f}",
                    self.axis_label(value),
                )
            )
        every = label_every(self.labels, self.right - self.left)
        # Counted from the last label, so the latest week or issue is always named.
        last = len(self.labels) - 1
        for i, label in enumerate(self.labels):
            if (last - i) % every:
                continue
            parts.append(
                format_html(
                    '<text class="chart-axis" x="{}" y="{}" text-anchor="middle">{}</text>',
                    f"{self.x_centre(i):.1f}",
                    self.height - 8,
                    label,
                )
            )
        body = mark_safe("".join(parts) + "".join(shapes))  # every piece escaped above
        return format_html(
            '<svg class="chart" xmlns="http://www.w3.org/2000/svg" role="img" '
            'viewBox="0 0 {w} {h}" width="{w}" height="{h}" font-size="{font}" '
            'aria-labelledby="{id}-title {id}-desc" preserveAspectRatio="xMinYMin meet">'
            '<title id="{id}-title">{title}</title><desc id="{id}-desc">{desc}</desc>'
            "{body}</svg>",
            w=self.width,
            h=self.height,
            font=FONT_SIZE,
            id=escape(id_prefix),
            title=title,
            desc=description,
            body=body,
        )
