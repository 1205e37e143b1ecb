"""Run and XmR charts of a measure: pure drawing, data in, figure (and image bytes) out.

Drawn with matplotlib's object API (``Figure`` on the Agg canvas), never ``pyplot``, so it is
safe in a worker and keeps no global state. Layout is fixed (no ``tight_layout``): a figure of
800 by 400 pixels with the legend under the axes. The colours of special-cause points follow
NHS England's *Making Data Count*: improvement blue, concern orange, neutral purple, common cause
grey. Bump ``CHART_CODE_VERSION`` whenever what is drawn changes, so cached charts are redrawn.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from matplotlib import dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D

if TYPE_CHECKING:
    from .analysis import RunChart, XmrChart
    from .series import Series

CHART_CODE_VERSION = "1"

WIDTH, HEIGHT, DPI = 800, 400, 100
PNG_DPI = 150  # 1200 by 600 pixels: sharp on high-density screens, shown at 800 by 400

NHS_BLUE = "#005eb8"
NHS_DARK_BLUE = "#003087"
GREY = "#7b7d7d"
LIGHT_GREY = "#d8dde0"
TEXT = "#212b32"
TARGET = "#007f3b"  # NHS green
SHIFT = "#ed8b00"  # NHS orange
TREND = "#7c2855"  # NHS plum
PDSA = "#41b6e6"  # NHS light blue
FOLLOW_UP = "#330072"  # NHS purple: a point entered at a 6- or 12-month follow-up review
FOLLOW_UP_LABELS = {"6m": "6-month", "12m": "12-month"}
SIGNAL_COLOURS = {"improvement": "#289de0", "concern": "#fab428", "neutral": "#490092"}
SIGNAL_LABELS = {
    "improvement": "Special cause: improvement",
    "concern": "Special cause: concern",
    "neutral": "Special cause: neither",
}
VARIATION_BADGES = {
    "common cause": ("Common cause variation", GREY),
    "improvement": ("Special cause: improvement", SIGNAL_COLOURS["improvement"]),
    "concern": ("Special cause: concern", SIGNAL_COLOURS["concern"]),
    "neutral": ("Special cause: neither", SIGNAL_COLOURS["neutral"]),
}
ASSURANCE_BADGES = {
    "pass": ("Assurance: consistently passes", SIGNAL_COLOURS["improvement"]),
    "fail": ("Assurance: consistently fails", SIGNAL_COLOURS["concern"]),
    "hit and miss": ("Assurance: hit and miss", GREY),
}
UNIT_LABELS = {
    "count": "",
    "percentage": "%",
    "days": "days",
    "hours": "hours",
    "minutes": "minutes",
    "score": "",
    "rate": "per 1,000",
}
BADGE_LEFT = 0.72  # the XmR badges sit right of this (figure fraction); its title stays left of it
TITLE_CHARACTERS = {"run": 90, "xmr": 60}
TRIAL_POINTS = 12  # Making Data Count: limits from fewer points are trial limits
SIGNALS_IN_ALT = 3  # the alt text names this many signals, then counts the rest


@dataclass(frozen=True)
class CycleSpan:
    """A PDSA cycle as the chart draws it: its number and the dates it ran (or is planned to run)."""

    number: int
    start: date
    end: date

    @property
    def label(self) -> str:
        return f"PDSA {self.number}"

    @classmethod
    def from_dates(
        cls,
        *,
        number: int,
        planned_start: date,
        planned_end: date,
        actual_start: date | None = None,
        actual_end: date | None = None,
    ) -> CycleSpan:
        """The actual dates where recorded, else the planned ones."""
        start = actual_start or planned_start
        return cls(number=number, start=start, end=max(start, actual_end or planned_end))


def cycle_span(cycle: Any) -> CycleSpan:
    """A ``PdsaCycle`` (or anything with its dates) as a span."""
    if isinstance(cycle, CycleSpan):
        return cycle
    return CycleSpan.from_dates(
        number=cycle.number, planned_start=cycle.planned_start, planned_end=cycle.planned_end,
        actual_start=cycle.actual_start, actual_end=cycle.actual_end,
    )  # fmt: skip


def cycle_spans(cycles: Iterable[Any]) -> list[CycleSpan]:
    return sorted((cycle_span(c) for c in cycles), key=lambda s: (s.start, s.number))


def visible_cycles(spans: Iterable[CycleSpan], first: date, last: date) -> list[CycleSpan]:
    """The cycles that overlap the data's dates: the only ones the run chart shows."""
    return [s for s in spans if s.end >= first and s.start <= last]


# Drawing


def _shorten(title: str, limit: int) -> str:
    return title if len(title) <= limit else title[: limit - 1].rstrip() + "\u2026"


def _figure(title: str) -> tuple[Figure, Any]:
    figure = Figure(figsize=(WIDTH / DPI, HEIGHT / DPI), dpi=DPI)
    FigureCanvasAgg(figure)
    figure.subplots_adjust(left=0.08, right=0.98, top=0.88, bottom=0.21)
    axes = figure.add_subplot()
    axes.set_title(title, loc="left", fontsize=12, color=TEXT, fontweight="bold")
    axes.spines[["top", "right"]].set_visible(False)
    axes.grid(axis="y", color=LIGHT_GREY, linewidth=0.6)
    axes.set_axisbelow(True)
    axes.tick_params(labelsize=8, colors=TEXT)
    locator = mdates.AutoDateLocator(minticks=3, maxticks=8)
    axes.xaxis.set_major_locator(locator)
    axes.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator, show_offset=False))
    return figure, axes


def _legend(figure: Figure, handles: list[Any]) -> None:
    if handles:
        figure.legend(
            handles=handles, loc="lower center", ncols=min(len(handles), 4), fontsize=8, frameon=False,
            bbox_to_anchor=(0.5, 0.0),
        )  # fmt: skip


def _points(indices: Iterable[int], series: Series) -> tuple[list[date], list[float]]:
    chosen = sorted(set(indices))
    return [series.dates[i] for i in chosen], [series.values[i] for i in chosen]


def _in_ranges(ranges: Sequence[tuple[int, int]]) -> set[int]:
    return {i for start, end in ranges for i in range(start, end + 1)}


def _mark_astronomical(axes: Any, series: Series, handles: list[Any]) -> None:
    flagged = [i for i, flag in enumerate(series.astronomical) if flag]
    if flagged:
        xs, ys = _points(flagged, series)
        axes.scatter(xs, ys, s=160, facecolors="none", edgecolors=TEXT, linewidths=1.2, marker="D", zorder=5)
        handles.append(_marker("D", "none", "Astronomical point", edge=TEXT))


def _marker(shape: str, colour: str, label: str, *, edge: str | None = None) -> Line2D:
    return Line2D(
        [], [], linestyle="none", marker=shape, markersize=7, markerfacecolor=colour,
        markeredgecolor=edge or colour, label=label,
    )  # fmt: skip


def _line(colour: str, style: Any, label: str, width: float = 1.4) -> Line2D:
    return Line2D([], [], color=colour, linestyle=style, linewidth=width, label=label)


def _mark_follow_ups(axes: Any, series: Series, handles: list[Any]) -> None:
    """Star the points entered at follow-up reviews, each labelled with its review (6m, 12m)."""
    marked = [i for i, kind in enumerate(series.follow_ups) if kind]
    if marked:
        xs, ys = _points(marked, series)
        axes.scatter(xs, ys, s=150, color=FOLLOW_UP, marker="*", zorder=6)
        for i in marked:
            axes.annotate(
                series.follow_ups[i], (series.dates[i], series.values[i]), textcoords="offset points", xytext=(0, 9),
                ha="center", fontsize=7, color=FOLLOW_UP,
            )  # fmt: skip
        handles.append(_marker("*", FOLLOW_UP, "Follow-up review"))


def _target(axes: Any, series: Series, handles: list[Any]) -> None:
    if series.target is not None:
        axes.axhline(series.target, color=TARGET, linestyle=(0, (1, 1.5)), linewidth=1.6, zorder=2)
        handles.append(_line(TARGET, ":", "Target", 1.6))


def _cycles(axes: Any, spans: Sequence[CycleSpan], first: date, last: date) -> None:
    """Shade each cycle within the data's dates and label it at the top of the axes."""
    transform = axes.get_xaxis_transform()
    for span in visible_cycles(spans, first, last):
        start, end = max(span.start, first), min(span.end, last)
        axes.axvspan(start, end, color=PDSA, alpha=0.18, linewidth=0, zorder=0)
        axes.text(start, 0.98, f" {span.label}", transform=transform, fontsize=7, color=NHS_DARK_BLUE, va="top")


def draw_run_chart(series: Series, analysis: RunChart, cycles: Iterable[Any], *, title: str) -> Figure:
    """Values, the median (a frozen baseline solid, its extension dashed), target, signals and PDSA cycles."""
    figure, axes = _figure(_shorten(title, TITLE_CHARACTERS["run"]))
    handles: list[Any] = []
    dates, values = series.dates, series.values
    axes.plot(dates, values, color=NHS_BLUE, marker="o", markersize=4, linewidth=1.4, zorder=3)
    handles.append(Line2D([], [], color=NHS_BLUE, marker="o", markersize=4, label="Value"))
    frozen = analysis.baseline
    if frozen and frozen < len(dates):
        axes.plot([dates[0], dates[frozen - 1]], [analysis.centre] * 2, color=TEXT, linewidth=1.6, zorder=2)
        axes.plot([dates[frozen - 1], dates[-1]], [analysis.centre] * 2, color=TEXT, linestyle="--", linewidth=1.2)
        handles += [_line(TEXT, "-", "Baseline median", 1.6), _line(TEXT, "--", "Median extended", 1.2)]
    else:
        axes.plot([dates[0], dates[-1]], [analysis.centre] * 2, color=TEXT, linewidth=1.6, zorder=2)
        handles.append(_line(TEXT, "-", "Median", 1.6))
    _target(axes, series, handles)
    if analysis.shifts:
        off_centre = [i for i in _in_ranges(analysis.shifts) if series.values[i] != analysis.centre]
        xs, ys = _points(off_centre, series)
        axes.scatter(xs, ys, s=46, color=SHIFT, zorder=4)
        handles.append(_marker("o", SHIFT, "Point in a shift"))
    if analysis.trends:
        xs, ys = _points(_in_ranges(analysis.trends), series)
        axes.scatter(xs, ys, s=90, facecolors="none", edgecolors=TREND, linewidths=1.6, marker="s", zorder=4)
        handles.append(_marker("s", "none", "Point in a trend", edge=TREND))
    _mark_astronomical(axes, series, handles)
    _mark_follow_ups(axes, series, handles)
    _cycles(axes, cycle_spans(cycles), dates[0], dates[-1])
    _legend(figure, handles)
    return figure


def draw_xmr_chart(series: Series, analysis: XmrChart, *, title: str) -> Figure:
    """Values coloured by signal, the mean, process limits and two-sigma band of each segment, and the icons."""
    figure, axes = _figure(_shorten(title, TITLE_CHARACTERS["xmr"]))
    handles: list[Any] = []
    dates, values = series.dates, series.values
    axes.plot(dates, values, color=GREY, linewidth=1.2, zorder=3)
    common = [i for i, s in enumerate(analysis.signals) if s is None]
    xs, ys = _points(common, series)
    axes.scatter(xs, ys, s=22, color=GREY, zorder=4)
    handles.append(_marker("o", GREY, "Common cause"))
    for signal, colour in SIGNAL_COLOURS.items():
        chosen = [i for i, s in enumerate(analysis.signals) if s == signal]
        if chosen:
            xs, ys = _points(chosen, series)
            axes.scatter(xs, ys, s=36, color=colour, zorder=5)
            handles.append(_marker("o", colour, SIGNAL_LABELS[signal]))
    for segment in analysis.segments:
        _segment(axes, series, segment)
    handles += [
        _line(TEXT, "-", "Mean"),
        _line(TEXT, "--", "Process limits"),
        Line2D([], [], color=LIGHT_GREY, linewidth=6, label="Two-sigma band"),
    ]
    _target(axes, series, handles)
    _mark_astronomical(axes, series, handles)
    _badges(figure, analysis)
    _legend(figure, handles)
    return figure


def _segment(axes: Any, series: Series, segment: Any) -> None:
    span = series.dates[segment.start : segment.end + 1]
    ends = [span[0], span[-1]]
    if len(span) > 1:
        axes.fill_between(
            span, segment.lower_two_sigma, segment.upper_two_sigma, color=LIGHT_GREY, alpha=0.6, linewidth=0, zorder=1
        )
    axes.plot(ends, [segment.mean] * 2, color=TEXT, linewidth=1.4, zorder=2)
    axes.plot(ends, [segment.upper] * 2, color=TEXT, linestyle="--", linewidth=1.1, zorder=2)
    axes.plot(ends, [segment.lower] * 2, color=TEXT, linestyle="--", linewidth=1.1, zorder=2)
    if segment.trial:
        axes.annotate(
            "trial limits", (span[0], segment.upper), xytext=(2, 3), textcoords="offset points", fontsize=7,
            color=TEXT, fontstyle="italic",
        )  # fmt: skip


def _badges(figure: Figure, analysis: XmrChart) -> None:
    """The variation and assurance icons as small badges in the top right corner: a coloured circle and words."""
    badges = [VARIATION_BADGES.get(analysis.variation)]
    if analysis.assurance:
        badges.append(ASSURANCE_BADGES.get(analysis.assurance))
    y = 0.96
    for badge in badges:
        if badge is None:
            continue
        words, colour = badge
        figure.text(BADGE_LEFT, y, "\u25cf", ha="left", va="center", fontsize=13, color=colour)
        figure.text(BADGE_LEFT + 0.022, y, words, ha="left", va="center", fontsize=8, color=TEXT)
        y -= 0.05


def render(figure: Figure) -> tuple[bytes, bytes]:
    """The figure as PNG and SVG bytes, without dates in the metadata so equal charts are equal files."""
    png, svg = io.BytesIO(), io.BytesIO()
    figure.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    figure.savefig(svg, format="svg", metadata={"Date": None})
    return png.getvalue(), svg.getvalue()


# Alt text


def long_date(on: date) -> str:
    return f"{on.day} {on:%B %Y}"


def number(value: float) -> str:
    """A value as people write it: no trailing zeros, thousands separated."""
    text = f"{value:,.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def with_unit(value: float, unit_label: str) -> str:
    if unit_label == "%":
        return f"{number(value)}%"
    if not unit_label:
        return number(value)
    if value == 1 and unit_label.endswith("s"):
        unit_label = unit_label[:-1]
    return f"{number(value)} {unit_label}"


def _direction(good: bool | None) -> str:
    if good is None:
        return ""
    return ", in the direction of improvement" if good else ", against the direction of improvement"


def _is_good(up: bool, improvement: str | None) -> bool | None:
    if improvement not in ("up", "down"):
        return None
    return up == (improvement == "up")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def alt_text_run(series: Series, analysis: RunChart | None) -> str:
    """A few sentences saying what the run chart shows: its span, median and signals."""
    if analysis is None or not series.values:
        return "No data yet."
    first, last = long_date(series.dates[0]), long_date(series.dates[-1])
    sentences = [f"Run chart of {_plural(len(series), 'point')} from {first} to {last}."]
    median = f"The median is {number(analysis.centre)}"
    if analysis.baseline and analysis.baseline < len(series):
        median += f", frozen on the first {_plural(analysis.baseline, 'point')}"
    sentences.append(median + ".")
    signals = [(start, _shift(series, analysis.centre, start, end)) for start, end in analysis.shifts]
    signals += [(start, _trend(series, start, end)) for start, end in analysis.trends]
    signals.sort()
    for _, words in signals[:SIGNALS_IN_ALT]:
        sentences.append(words)
    if len(signals) > SIGNALS_IN_ALT:
        more = len(signals) - SIGNALS_IN_ALT
        sentences.append("There is 1 more signal." if more == 1 else f"There are {more} more signals.")
    runs = _runs_sentence(analysis)
    if runs:
        sentences.append(runs)
    if not signals and not runs:
        sentences.append("There are no signals of non-random variation.")
    if series.target is not None:
        sentences.append(f"The target is {number(series.target)}.")
    sentences += _follow_up_sentences(series)
    return " ".join(sentences)


def _follow_up_sentences(series: Series) -> list[str]:
    """Name the points entered at follow-up reviews: the image marks them with a star."""
    return [
        f"The {FOLLOW_UP_LABELS.get(kind, kind)} follow-up review point, on {long_date(series.dates[i])}, "
        f"is {number(series.values[i])}."
        for i, kind in enumerate(series.follow_ups)
        if kind
    ]


def _shift(series: Series, centre: float, start: int, end: int) -> str:
    above = next((series.values[i] > centre for i in range(start, end + 1) if series.values[i] != centre), True)
    side = "above" if above else "below"
    good = _is_good(above, series.improvement)
    count = sum(1 for i in range(start, end + 1) if series.values[i] != centre)  # values on the median don't count
    return f"A shift of {count} points {side} the median from {long_date(series.dates[start])}{_direction(good)}."


def _trend(series: Series, start: int, end: int) -> str:
    rising = series.values[end] > series.values[start]
    good = _is_good(rising, series.improvement)
    way = "rising" if rising else "falling"
    count = end - start + 1
    return f"A trend of {count} points {way} from {long_date(series.dates[start])}{_direction(good)}."


def _runs_sentence(analysis: RunChart) -> str:
    """The runs rule: "too few" or "too many" runs for the number of useful points."""
    if not analysis.runs_signal:
        return ""
    runs = _plural(analysis.runs, "run")
    return f"There are {analysis.runs_signal} runs ({runs} in {analysis.useful} points off the median)."


def alt_text_xmr(series: Series, analysis: XmrChart | None, unit_label: str) -> str:
    """A few sentences saying what the XmR chart shows: the latest variation, points outside limits, assurance."""
    if analysis is None or not series.values:
        return "No data yet."
    if analysis.variation == "common cause":
        latest = "The latest point shows common-cause variation"
    else:
        kind = {"improvement": "an improvement", "concern": "a concern"}.get(
            analysis.variation, "neither an improvement nor a concern"
        )
        latest = f"The latest point shows special-cause variation, {kind}"
    outside = _outside(series, analysis)
    points = "no points are" if not outside else ("1 point is" if outside == 1 else f"{outside} points are")
    sentences = [f"{latest}; {points} outside the process limits."]
    current = analysis.segments[-1] if analysis.segments else None
    if current is not None:
        limits = f"The mean is {with_unit(current.mean, unit_label)}, with process limits from "
        sentences.append(limits + f"{with_unit(current.lower, unit_label)} to {with_unit(current.upper, unit_label)}.")
        if current.trial:
            sentences.append(f"These are trial limits, from fewer than {TRIAL_POINTS} points.")
    if series.target is not None:
        sentences.append(_assurance(analysis.assurance, with_unit(series.target, unit_label)))
    return " ".join(sentences)


def _outside(series: Series, analysis: XmrChart) -> int:
    count = 0
    for segment in analysis.segments:
        for value in series.values[segment.start : segment.end + 1]:
            count += value > segment.upper or value < segment.lower
    return count


def _assurance(assurance: str | None, target: str) -> str:
    if assurance == "pass":
        return f"The target of {target} is consistently met."
    if assurance == "fail":
        return f"The target of {target} is consistently missed: it will not be met without a change to the process."
    if assurance == "hit and miss":
        return f"The target of {target} is hit and miss."
    return f"The target is {target}."
