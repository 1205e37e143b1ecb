"""The charts of the programme reports: keyed by their figures, drawn once by the worker, served by signed links.

A report describes each chart as a ``ChartSpec`` (plain data). Its key is the sha256 of that data,
of the commissioner whose figures it shows and of ``REPORT_CHART_VERSION``: the same figures never
draw twice, changed figures always get a new chart, and one commissioner's chart is never served
to another's lead even when their figures happen to match. The image is stored as
``charts/<key>-report.png`` and a ``ReportChart`` row per key says whether it is drawn yet.

Pages call ``chart_views``: one SELECT of the keys and, for new ones, one bulk INSERT; the drawing
is queued on commit (``evaluation.tasks.render_report_chart``) and the page polls until it is
ready. A chart still queued a minute after it was asked for (a lost message, a broker that was
down) is queued again the next time a page asks for it.

Drawing uses matplotlib's ``Figure`` on the Agg canvas, never ``pyplot``, so it keeps no global
state in a worker. Bump ``REPORT_CHART_VERSION`` whenever what is drawn changes.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, MaxNLocator, PercentFormatter

from microsystems.broker import publish
from practices.models import Commissioner
from projects.chart_links import signed_url
from projects.charts import number

from .models import RenderStatus, ReportChart
from .reporting import ChartSpec

log = logging.getLogger(__name__)

REPORT_CHART_VERSION = "1"
STALE_AFTER = timedelta(minutes=1)
ERROR_LENGTH = 300  # ReportChart.error

WIDTH, HEIGHT, DPI = 800, 400, 100
PNG_DPI = 150  # sharp on high-density screens, shown at WIDTH by HEIGHT
BAR_ROW = 26  # pixels per category of a horizontal bar chart
MAX_HEIGHT = 1400

TEXT = "#212b32"
GRID = "#d8dde0"
# NHS identity colours, in the order series take them: blue, light blue, dark blue, orange, green,
# dark pink, purple, warm yellow, aqua green, mid grey.
PALETTE = (
    "#005eb8", "#41b6e6", "#003087", "#ed8b00", "#009639",
    "#7c2855", "#330072", "#ffb81c", "#00a499", "#768692",
)  # fmt: skip
LIGHT_COLOURS = frozenset({"#41b6e6", "#ffb81c", "#ed8b00"})  # dark text reads better on these
MAX_VALUE_LABELS = 40  # more bars or points than this and their labels would overlap
STATUSES: dict[str, str] = {
    RenderStatus.QUEUED: "pending",
    RenderStatus.RUNNING: "pending",
    RenderStatus.READY: "ready",
    RenderStatus.FAILED: "failed",
}


@dataclass(frozen=True)
class ReportChartView:
    """What the chart include needs to show one report chart."""

    slug: str
    title: str
    key: str
    status: str  # "empty" | "pending" | "ready" | "failed"
    alt: str
    img_url: str = ""
    poll_url: str = ""
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def dom_id(self) -> str:
        return f"report-chart-{self.slug}-{self.key[:12]}"


# Keys


def _plain(value: Any) -> Any:
    """JSON has no Decimal: figures are written as numbers, anything else odd as text."""
    if isinstance(value, Decimal):
        return float(value)
    return str(value)


def spec_data(spec: ChartSpec) -> dict[str, Any]:
    """The spec as the JSON the row stores and the key hashes."""
    data: dict[str, Any] = json.loads(json.dumps(spec.as_data(), default=_plain))
    return data


def chart_key(spec: ChartSpec, commissioner_id: int) -> str:
    """The sha256 of a canonical JSON of everything drawn, the commissioner and the drawing code's version."""
    drawn = {"version": REPORT_CHART_VERSION, "commissioner": commissioner_id, "spec": spec_data(spec)}
    canonical = json.dumps(drawn, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain)
    return hashlib.sha256(canonical.encode()).hexdigest()


def storage_name(key: str) -> str:
    return f"charts/{key}-report.png"


def chart_size(spec: ChartSpec) -> tuple[int, int]:
    """Width and height in CSS pixels: a horizontal bar chart grows with its categories."""
    if spec.kind == "barh":
        bars = len(spec.categories) * max(1, len(spec.series))
        return WIDTH, min(MAX_HEIGHT, max(HEIGHT, 110 + BAR_ROW * bars))
    return WIDTH, HEIGHT


# What the page shows


def chart_views(specs: Sequence[ChartSpec], commissioner: Commissioner) -> list[ReportChartView]:
    """The report's charts as the page should show them, in one SELECT and at most one INSERT and one UPDATE.

    A chart never asked for gets a queued row and its drawing is queued when the transaction
    commits; one still queued after ``STALE_AFTER`` is queued again. Empty charts are not drawn.
    """
    now = timezone.now()
    keys = [chart_key(spec, commissioner.pk) for spec in specs]
    wanted = {key: spec for key, spec in zip(keys, specs, strict=True) if not spec.is_empty}
    rows: dict[str, ReportChart] = {}
    if wanted:
        found = ReportChart.objects.filter(key__in=list(wanted)).only("key", "status", "requested_at")
        rows = {row.key: row for row in found}
    new = [key for key in wanted if key not in rows]
    if new:
        ReportChart.objects.bulk_create(
            [ReportChart(key=key, commissioner=commissioner, spec=spec_data(wanted[key]), requested_at=now)
             for key in new],
            ignore_conflicts=True,
        )  # fmt: skip
    stale = [key for key, row in rows.items() if row.status == RenderStatus.QUEUED and _is_stale(row, now)]
    if stale:
        ReportChart.objects.filter(key__in=stale, status=RenderStatus.QUEUED).update(requested_at=now)
    if new or stale:
        transaction.on_commit(partial(queue_drawing, [*new, *stale]))
    views = []
    for key, spec in zip(keys, specs, strict=True):
        row = rows.get(key)
        if spec.is_empty:
            views.append(_view(spec, key, "empty"))
        else:
            views.append(_view(spec, key, STATUSES.get(row.status, "pending") if row else "pending"))
    return views


def chart_view(row: ReportChart) -> ReportChartView:
    """One stored chart as the poll partial shows it; queued again if it looks lost."""
    if row.status == RenderStatus.QUEUED and _is_stale(row, timezone.now()):
        touched = ReportChart.objects.filter(pk=row.pk, status=RenderStatus.QUEUED, requested_at=row.requested_at)
        if touched.update(requested_at=timezone.now()):
            transaction.on_commit(partial(queue_drawing, [row.key]))
    spec = ChartSpec.from_data(row.spec)
    return _view(spec, row.key, STATUSES.get(row.status, "pending"))


def queue_drawing(keys: Sequence[str]) -> None:
    from .tasks import render_report_chart  # the task module imports this one

    for key in keys:
        publish(render_report_chart, key)  # if the broker is down, the next page to ask queues it again


def _is_stale(row: ReportChart, now: Any) -> bool:
    return bool(row.requested_at < now - STALE_AFTER)


def _view(spec: ChartSpec, key: str, status: str) -> ReportChartView:
    width, height = chart_size(spec)
    return ReportChartView(
        slug=spec.slug,
        title=spec.title,
        key=key,
        status=status,
        alt=spec.alt or describe(spec),
        img_url=signed_url(storage_name(key)) if status == "ready" else "",
        poll_url=reverse("programme:chart", args=[key]) if status != "empty" else "",
        width=width,
        height=height,
    )


def describe(spec: ChartSpec) -> str:
    """Alt text for a spec that came without one: what it shows and its largest and smallest parts."""
    if spec.is_empty:
        return f"{spec.title}: no data for this selection."
    totals = _totals(spec)
    most = max(range(len(totals)), key=totals.__getitem__)
    least = min(range(len(totals)), key=totals.__getitem__)
    unit = "%" if spec.percent else ""
    return (
        f"{spec.title}, across {len(spec.categories)} categories. The largest is {spec.categories[most]} "
        f"({number(totals[most])}{unit}); the smallest is {spec.categories[least]} ({number(totals[least])}{unit})."
    )


# Drawing and storing (the worker)


def render_and_store(key: str) -> str:
    """Draw the chart ``key`` and store it, unless it is already there; what happened, in a word or two.

    Safe to run twice: a ready chart whose file is stored is left alone, and a file already
    stored under the key has the same content, so it is kept. A drawing error marks the chart
    failed with a short error and is logged; a storage or database error propagates, so the
    task retries it and the row stays queued for the next page to queue again.
    """
    row = ReportChart.objects.filter(key=key).first()
    if row is None:
        return "gone"
    name = storage_name(key)
    if row.status == RenderStatus.READY and default_storage.exists(name):
        return "already drawn"
    try:
        png = draw_png(ChartSpec.from_data(row.spec))
    except Exception as error:
        log.exception("Drawing the report chart %s failed", key)
        message = f"{type(error).__name__}: {error}"[:ERROR_LENGTH]
        ReportChart.objects.filter(key=key).update(status=RenderStatus.FAILED, error=message)
        return "failed"
    if not default_storage.exists(name):
        default_storage.save(name, ContentFile(png))
    ReportChart.objects.filter(key=key).update(status=RenderStatus.READY, error="", rendered_at=timezone.now())
    return "drawn"


def draw_png(spec: ChartSpec) -> bytes:
    """The chart as PNG bytes, drawn in-process; the same spec gives the same bytes."""
    figure = draw(spec)
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return out.getvalue()


def draw(spec: ChartSpec) -> Figure:
    """The chart's figure: title, labelled axes, value labels where they fit, a legend for several series."""
    width, height = chart_size(spec)
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    axes.set_title(spec.title, loc="left", fontsize=12, color=TEXT, fontweight="bold")
    axes.spines[["top", "right"]].set_visible(False)
    axes.tick_params(labelsize=8, colors=TEXT)
    axes.set_axisbelow(True)
    if spec.is_empty:
        axes.set_axis_off()
        axes.text(0.5, 0.5, "No data for this selection.", ha="center", va="center", fontsize=11, color=TEXT)
        return figure
    if spec.kind == "line":
        _draw_lines(axes, spec)
    else:
        _draw_bars(axes, spec)
    if len(spec.series) > 1:
        axes.legend(
            loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False, title_fontsize=8,
        )  # fmt: skip
    return figure


def _colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _label(value: float, percent: bool) -> str:
    return f"{number(value)}%" if percent else number(value)


def _category_labels(spec: ChartSpec, *, horizontal: bool) -> tuple[list[str], int]:
    """Category names wrapped to fit under (or beside) their bars, and the rotation to draw them at."""
    count = len(spec.categories)
    if horizontal:
        return [textwrap.shorten(c, 40, placeholder="…") for c in spec.categories], 0
    if count > 12:
        return [textwrap.shorten(c, 24, placeholder="…") for c in spec.categories], 45
    chars = max(8, int(640 / count / 7))
    return [textwrap.fill(textwrap.shorten(c, chars * 3, placeholder="…"), chars) for c in spec.categories], 0


def _totals(spec: ChartSpec) -> list[float]:
    """Each category's total over the series: the height of a stacked bar."""
    return [sum(float(s.values[i]) for s in spec.series) for i in range(len(spec.categories))]


def _limits(spec: ChartSpec, values: Sequence[float]) -> tuple[float, float]:
    """The value axis always shows zero, a percentage axis 0–100, with room beyond the bars for their labels."""
    low, high = min(0.0, *values), max(0.0, *values)
    if spec.percent and low >= 0 and high <= 100:
        return 0.0, 108.0  # ticks stop at 100%; the rest is room for a label on a full bar
    room = (high - low) * 0.12 or 1.0
    return (low - room if low < 0 else 0.0), (high + room if high > 0 else 0.0)


def _value_axis(axes: Any, spec: ChartSpec, *, horizontal: bool) -> None:
    axis = axes.xaxis if horizontal else axes.yaxis
    axes.grid(axis="x" if horizontal else "y", color=GRID, linewidth=0.6)
    if spec.percent:
        axis.set_major_formatter(PercentFormatter(xmax=100, decimals=0))
        if all(0 <= v <= 100 for s in spec.series for v in s.values):
            axis.set_major_locator(FixedLocator(range(0, 101, 20)))
    elif all(float(v).is_integer() for s in spec.series for v in s.values):
        axis.set_major_locator(MaxNLocator(integer=True))


def _draw_bars(axes: Any, spec: ChartSpec) -> None:
    horizontal = spec.kind == "barh"
    stacked = spec.kind == "stacked"
    count, series = len(spec.categories), spec.series
    positions = list(range(count))
    groups = 1 if stacked else len(series)
    width = 0.8 / groups
    bottoms = [0.0] * count
    labelled = count * (1 if stacked else groups) <= MAX_VALUE_LABELS
    shown = _totals(spec) if stacked else [float(v) for s in series for v in s.values]
    peak = max(abs(v) for v in shown)
    for index, one in enumerate(series):
        values = [float(v) for v in one.values]
        offset = 0.0 if stacked else (index - (groups - 1) / 2) * width
        places = [p + offset for p in positions]
        colour = _colour(index) if len(series) > 1 else PALETTE[0]
        if horizontal:
            bars = axes.barh(places, values, height=width, left=bottoms if stacked else None, color=colour,
                             label=one.name)  # fmt: skip
        else:
            bars = axes.bar(places, values, width=width, bottom=bottoms if stacked else None, color=colour,
                            label=one.name)  # fmt: skip
        if labelled and stacked:
            texts = [_label(v, spec.percent) if peak and abs(v) / peak >= 0.06 else "" for v in values]
            axes.bar_label(bars, labels=texts, label_type="center", fontsize=7,
                           color=TEXT if colour in LIGHT_COLOURS else "white")  # fmt: skip
        elif labelled:
            axes.bar_label(bars, labels=[_label(v, spec.percent) for v in values], padding=2, fontsize=7, color=TEXT)
        if stacked:
            bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    labels, rotation = _category_labels(spec, horizontal=horizontal)
    if horizontal:
        axes.set_yticks(positions, labels)
        axes.invert_yaxis()  # the first category at the top, as it is read
    else:
        axes.set_xticks(positions, labels, rotation=rotation, ha="right" if rotation else "center")
    (axes.set_xlim if horizontal else axes.set_ylim)(*_limits(spec, shown))
    _value_axis(axes, spec, horizontal=horizontal)
    axes.set_xlabel(spec.x_label, fontsize=9, color=TEXT)
    axes.set_ylabel(spec.y_label, fontsize=9, color=TEXT)


def _draw_lines(axes: Any, spec: ChartSpec) -> None:
    count = len(spec.categories)
    positions = list(range(count))
    labelled = count * len(spec.series) <= MAX_VALUE_LABELS // 2
    for index, one in enumerate(spec.series):
        values = [float(v) for v in one.values]
        colour = _colour(index)
        axes.plot(positions, values, color=colour, marker="o", markersize=4, linewidth=1.6, label=one.name)
        if labelled:
            for x, y in zip(positions, values, strict=True):
                axes.annotate(_label(y, spec.percent), (x, y), textcoords="offset points", xytext=(0, 6),
                              ha="center", fontsize=7, color=TEXT)  # fmt: skip
    labels, rotation = _category_labels(spec, horizontal=False)
    axes.set_xticks(positions, labels, rotation=rotation, ha="right" if rotation else "center")
    axes.set_ylim(*_limits(spec, [float(v) for s in spec.series for v in s.values]))
    _value_axis(axes, spec, horizontal=False)
    axes.set_xlabel(spec.x_label, fontsize=9, color=TEXT)
    axes.set_ylabel(spec.y_label, fontsize=9, color=TEXT)
