"""Which rendering of a measure's charts is current: keys, requests to render, and what the page shows.

A chart's key is a hash of everything drawn on it and of ``CHART_CODE_VERSION``. Files are stored
under their key (``charts/<key>-<kind>.png``), so data that goes back to an earlier state reuses the
files already drawn, and an unchanged chart is never drawn twice. The ``Chart`` row names the key
the measure's chart was last requested for; the page compares it with the key of the data it has
just read, so a chart drawn from older data is never shown as current. Rendering is done by Celery
(``projects.tasks.render_chart``); a request that is lost is repeated when the page finds a chart
still pending after ``STALE_AFTER``.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from microsystems.broker import publish
from microsystems.compiled import CompiledQuery

from .chart_links import signed_url
from .charts import (
    CHART_CODE_VERSION,
    HEIGHT,
    UNIT_LABELS,
    WIDTH,
    CycleSpan,
    alt_text_run,
    alt_text_xmr,
    cycle_spans,
    draw_run_chart,
    draw_xmr_chart,
    render,
    visible_cycles,
)
from .models import Chart, ChartKind, Measure, MeasureValue, PdsaCycle
from .series import Series, run_analysis, series_of, xmr_analysis

log = logging.getLogger(__name__)

KINDS = (ChartKind.RUN.value, ChartKind.XMR.value)
FORMATS = ("png", "svg")
STALE_AFTER = timedelta(minutes=1)
CYCLE_FIELDS = ("number", "planned_start", "planned_end", "actual_start", "actual_end")


@dataclass(frozen=True)
class ChartData:
    """What a measure's charts are drawn from, read once."""

    measure: Measure
    series: Series
    cycles: list[CycleSpan]


@dataclass(frozen=True)
class ChartView:
    """What the chart partial needs to show one chart of a measure."""

    kind: str
    measure_id: int
    title: str
    status: str  # "empty" | "pending" | "ready" | "failed"
    poll_url: str
    png_url: str = ""
    svg_url: str = ""
    png_download_url: str = ""
    svg_download_url: str = ""
    alt: str = ""
    width: int = WIDTH
    height: int = HEIGHT
    can_retry: bool = False

    @property
    def dom_id(self) -> str:
        return f"chart-{self.measure_id}-{self.kind}"

    @property
    def name(self) -> str:
        """The title inside a sentence: "run chart", "XmR chart"."""
        return self.title if self.title.startswith("XmR") else self.title.lower()


# Keys


def chart_key(measure: Measure, kind: str, series: Series, cycles: Iterable[Any]) -> str:
    """The sha256 of a canonical JSON of everything the chart shows, and of the chart code version.

    Notes are not drawn, so they are not in the key. Only the run chart shows PDSA cycles, and
    only those within the data's dates, so other cycles do not change the key; it alone marks the
    points entered at follow-up reviews, named in the key only when there are some.
    """
    drawn: dict[str, Any] = {
        "version": CHART_CODE_VERSION,
        "kind": kind,
        "name": measure.name,
        "unit": measure.unit,
        "direction": measure.direction,
        "target": series.target,
        "baseline": series.baseline,
        "dates": [on.isoformat() for on in series.dates],
        "values": series.values,
        "astronomical": series.astronomical,
    }
    if kind == ChartKind.RUN and series.dates:
        spans = visible_cycles(cycle_spans(cycles), series.dates[0], series.dates[-1])
        drawn["cycles"] = [[s.number, s.start.isoformat(), s.end.isoformat()] for s in spans]
    if kind == ChartKind.RUN and any(series.follow_ups):
        drawn["follow_ups"] = series.follow_ups  # only when there are some: other charts keep their keys
    canonical = json.dumps(drawn, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode()).hexdigest()


def storage_name(key: str, kind: str, fmt: str) -> str:
    return f"charts/{key}-{kind}.{fmt}"


# Reading the data


def load_chart_data(measure_id: int) -> ChartData | None:
    """The measure, its values in order and its project's cycles: three queries."""
    measure = Measure.objects.filter(pk=measure_id).first()
    if measure is None:
        return None
    values = list(MeasureValue.objects.filter(measure_id=measure_id).order_by("period"))
    return ChartData(measure=measure, series=series_of(measure, values), cycles=_cycles_of(measure.project_id))


_CYCLE_DATES = CompiledQuery(lambda project_id: PdsaCycle.objects.filter(project_id=project_id).values(*CYCLE_FIELDS))


def _cycles_of(project_id: int) -> list[CycleSpan]:
    return cycle_spans(CycleSpan.from_dates(**row) for row in _CYCLE_DATES(project_id))


def unit_label(measure: Measure) -> str:
    return UNIT_LABELS.get(measure.unit, "")


# Requesting renders


def request_charts(measure_id: int) -> None:
    """Bring the measure's charts up to date once the current transaction commits (at once outside one)."""
    transaction.on_commit(partial(refresh_charts, measure_id))


def refresh_charts(measure_id: int) -> None:
    """For each kind: nothing if current, reuse stored files if they exist, else mark pending and queue a render."""
    data = load_chart_data(measure_id)
    if data is None:
        return
    if not data.series.values:
        Chart.objects.filter(measure_id=measure_id).delete()
        return
    rows = {row.kind: row for row in Chart.objects.filter(measure_id=measure_id)}
    for kind in KINDS:
        _refresh(data, kind, rows.get(kind))


def _refresh(data: ChartData, kind: str, row: Chart | None) -> None:
    key = chart_key(data.measure, kind, data.series, data.cycles)
    if row is not None and row.key == key and not _needs_render(row):
        return
    now = timezone.now()
    png, svg = storage_name(key, kind, "png"), storage_name(key, kind, "svg")
    if default_storage.exists(png) and default_storage.exists(svg):
        ready = {"status": Chart.Status.READY, "png": png, "svg": svg, "alt": alt_text(data, kind), "rendered_at": now}
        Chart.objects.update_or_create(
            measure_id=data.measure.pk, kind=kind, defaults={"key": key, "requested_at": now, "error": "", **ready}
        )
        return
    Chart.objects.update_or_create(
        measure_id=data.measure.pk,
        kind=kind,
        defaults={"key": key, "status": Chart.Status.PENDING, "png": "", "svg": "", "alt": "", "error": "",
                  "requested_at": now, "rendered_at": None},
    )  # fmt: skip
    from .tasks import render_chart  # the task module imports this one

    publish(render_chart, data.measure.pk, kind, key)  # if the broker is down, requeue_lost_charts retries


def requeue_lost_charts(*, limit: int = 500) -> int:
    """Request again the charts still pending long after their request: the sweep for lost messages."""
    cutoff = timezone.now() - STALE_AFTER
    stuck = Chart.objects.filter(status=Chart.Status.PENDING, requested_at__lt=cutoff)
    measure_ids = list(stuck.order_by("measure_id").values_list("measure_id", flat=True).distinct()[:limit])
    for measure_id in measure_ids:
        refresh_charts(measure_id)
    return len(measure_ids)


def _needs_render(row: Chart) -> bool:
    """A failed chart is tried again; a pending one whose request looks lost is queued again."""
    if row.status == Chart.Status.FAILED:
        return True
    return row.status == Chart.Status.PENDING and _is_stale(row)


def _is_stale(row: Chart) -> bool:
    return row.requested_at < timezone.now() - STALE_AFTER


# Drawing and storing (called by the task)


def alt_text(data: ChartData, kind: str) -> str:
    if kind == ChartKind.RUN:
        return alt_text_run(data.series, run_analysis(data.series))
    return alt_text_xmr(data.series, xmr_analysis(data.series), unit_label(data.measure))


def draw(data: ChartData, kind: str) -> tuple[bytes, bytes, str]:
    """The chart's PNG and SVG and its alt text."""
    series, title = data.series, data.measure.name
    if kind == ChartKind.RUN:
        run = run_analysis(series)
        assert run is not None  # only called with values
        figure = draw_run_chart(series, run, data.cycles, title=title)
        return (*render(figure), alt_text_run(series, run))
    xmr = xmr_analysis(series)
    assert xmr is not None
    figure = draw_xmr_chart(series, xmr, title=title)
    return (*render(figure), alt_text_xmr(series, xmr, unit_label(data.measure)))


def store(key: str, kind: str, fmt: str, content: bytes) -> str:
    """Save the file under its key; a file already there has the same content, so it is kept."""
    name = storage_name(key, kind, fmt)
    if default_storage.exists(name):
        return name
    return default_storage.save(name, ContentFile(content))


def render_and_store(measure_id: int, kind: str, key: str) -> str:
    """Draw the chart if ``key`` is still current, store it, and mark the row ready if it still names ``key``.

    Returns what happened: "drawn", "already drawn" (a repeated delivery), "outdated" (the data
    changed since the request) or "gone".
    The row is updated only where it still has ``key``, so a slow render of older data can never
    replace a newer one.
    """
    data = load_chart_data(measure_id)
    if data is None or not data.series.values or kind not in KINDS:
        return "gone"
    if chart_key(data.measure, kind, data.series, data.cycles) != key:
        if Chart.objects.filter(measure_id=measure_id, kind=kind, key=key).exists():
            refresh_charts(measure_id)  # nobody has asked for the current data yet
        return "outdated"
    chart = Chart.objects.filter(measure_id=measure_id, kind=kind, key=key)
    if chart.filter(status=Chart.Status.READY).exists():
        return "already drawn"
    try:
        png, svg, alt = draw(data, kind)
    except Exception as error:
        log.exception("Drawing the %s chart of measure %s failed", kind, measure_id)
        chart.update(status=Chart.Status.FAILED, error=f"{type(error).__name__}: {error}"[:2000])
        raise
    png_name, svg_name = store(key, kind, "png", png), store(key, kind, "svg", svg)
    chart.update(status=Chart.Status.READY, png=png_name, svg=svg_name, alt=alt, error="", rendered_at=timezone.now())
    return "drawn"


# What the page shows


def charts_for(
    measure: Measure,
    *,
    values: list[MeasureValue] | None = None,
    cycles: Iterable[Any] | None = None,
    can_retry: bool = False,
) -> dict[str, ChartView]:
    """The run and XmR charts of a measure as the page should show them, in at most three queries.

    Pass ``values`` and ``cycles`` when the page has already read them (or prefetch ``values`` and
    ``charts`` on the measure). A chart whose row names other data than the current is shown as
    pending, never as the old image, and is requested again if nothing seems to be drawing it.
    ``can_retry`` (the user may edit the measure) shows the retry button on a failed chart.
    """
    series = series_of(measure, list(measure.values.all()) if values is None else values)
    if not series.values:
        return {kind: _view(measure, kind, "empty") for kind in KINDS}
    spans = cycle_spans(cycles) if cycles is not None else _cycles_of(measure.project_id)
    rows = {row.kind: row for row in measure.charts.all()}
    views, repair = {}, False
    for kind in KINDS:
        key, row = chart_key(measure, kind, series, spans), rows.get(kind)
        if row is None or row.key != key:
            views[kind] = _view(measure, kind, "pending")
            repair = repair or row is None or row.status != Chart.Status.PENDING or _is_stale(row)
        else:
            views[kind] = _view(measure, kind, row.status, row=row, can_retry=can_retry)
            repair = repair or (row.status == Chart.Status.PENDING and _is_stale(row))
    if repair:
        request_charts(measure.pk)
    return views


def chart_for(measure: Measure, kind: str, *, can_retry: bool = False) -> ChartView:
    return charts_for(measure, can_retry=can_retry)[kind]


def _view(measure: Measure, kind: str, status: str, *, row: Chart | None = None, can_retry: bool = False) -> ChartView:
    args = [measure.project_id, measure.pk, kind]
    view = ChartView(
        kind=kind,
        measure_id=measure.pk,
        title=ChartKind(kind).label,
        status=status,
        poll_url=reverse("projects:chart_status", args=args),
        can_retry=can_retry and status == Chart.Status.FAILED,
    )
    if row is None or status != Chart.Status.READY:
        return view
    png = reverse("projects:chart_file", args=[*args, "png"]) + f"?v={row.key}"
    svg = reverse("projects:chart_file", args=[*args, "svg"]) + f"?v={row.key}"
    return replace(
        view,
        png_url=signed_url(row.png),  # the <img>: a signed link, served before the session is read
        svg_url=svg,
        png_download_url=png + "&download=1",
        svg_download_url=svg + "&download=1",
        alt=row.alt,
    )
