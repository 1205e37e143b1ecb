"""The programme report: every report of one financial year in one PDF, made by the worker.

Asking for it (``request_report``) builds the six reports, hashes their figures into a data key
and finds or creates the ``ProgrammeReport`` row for that key: unchanged data reuses the PDF
already made (or being made), and the unique constraint holds that against a double click. The
worker (``generate``) claims the row with a conditional ``UPDATE``, builds the reports again,
draws their charts, writes the PDF and saves it on the row, reporting progress as it goes.
"""

from __future__ import annotations

import base64
import hashlib
import logging
import struct
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.formats import date_format, number_format

from microsystems.broker import publish
from microsystems.models import User
from practices.models import Commissioner
from projects.models.payments import financial_year_bounds, financial_year_label

from .models import ProgrammeReport, RenderStatus
from .reporting import (
    REPORTS,
    ChartSpec,
    Report,
    Scope,
    Table,
    Value,
    build_report,
    cached_report,
    commissioners_reported_on,
)
from .tasks import TRANSIENT, render_programme_report

log = logging.getLogger(__name__)

PROGRAMME_REPORT_VERSION = "1"  # bump when the PDF's layout changes, so no old PDF is reused
PDF_TEMPLATE = "evaluation/programme_report_pdf.html"
MAX_TABLE_ROWS = 60  # a longer table is cut in the PDF; its CSV has every row
# Asked for again after this long, a report still queued has lost its message (the broker was down) and
# one still running has lost its worker (the task's hard time limit is 6 minutes): it is queued again.
# A repeated message is harmless: only a queued row is claimed.
QUEUED_STALE_AFTER, RUNNING_STALE_AFTER = timedelta(minutes=2), timedelta(minutes=10)
# Progress: building the reports takes it to 40%, drawing the charts to 85%, writing the PDF to 100%.
BUILT, DRAWN = 40, 85
PRINT_WIDTH, PRINT_HEIGHT = 480, 560  # the largest a chart is printed, in points (A4 less the margins)


class ReportChanged(Exception):
    """The data changed between the request and the drawing, and another row already covers the new data."""


# --- asking for it ------------------------------------------------------------------------------


def reports_for(user: User) -> QuerySet[ProgrammeReport]:
    """The programme reports a user may see: those of the commissioners whose reports they read."""
    return ProgrammeReport.objects.filter(commissioner__in=commissioners_reported_on(user))


def build_reports(scope: Scope) -> list[Report]:
    """Every report for the scope, in the order of ``REPORTS``."""
    return [cached_report(slug, scope) for slug in REPORTS]


def programme_data_key(reports: Sequence[Report]) -> str:
    """A hash of every report's figures and of the PDF's version: equal only for unchanged data."""
    parts = [PROGRAMME_REPORT_VERSION, *(f"{r.slug}:{r.data_key()}" for r in reports)]
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def request_report(commissioner: Commissioner, year: int, by: User) -> tuple[ProgrammeReport, bool]:
    """The report of the commissioner's year for the data as it is now, and whether it was reused.

    A report already made or being made for the same data is reused; a failed one, or one whose
    worker seems lost, is queued again. Otherwise a new row is queued once the transaction commits.
    """
    key = programme_data_key(build_reports(Scope(commissioner=commissioner, year=year)))
    same = ProgrammeReport.objects.filter(commissioner=commissioner, financial_year=year, data_key=key)
    existing = same.first()
    if existing is None:
        try:
            with transaction.atomic():
                report = ProgrammeReport.objects.create(
                    commissioner=commissioner, financial_year=year, data_key=key, requested_by=by
                )
        except IntegrityError:  # asked twice at once: the other request made it
            return same.get(), True
        _queue(report)
        return report, False
    if _retry(existing, by):
        return existing, False
    return existing, True


def _retry(report: ProgrammeReport, by: User) -> bool:
    """Queue again a failed report or one left unfinished too long; False if it is fine as it is."""
    now = timezone.now()
    lost = Q(status=RenderStatus.QUEUED, requested_at__lt=now - QUEUED_STALE_AFTER) | Q(
        status=RenderStatus.RUNNING, requested_at__lt=now - RUNNING_STALE_AFTER
    )
    stuck = ProgrammeReport.objects.filter(lost, pk=report.pk)
    failed = ProgrammeReport.objects.filter(pk=report.pk, status=RenderStatus.FAILED)
    reset = {"status": RenderStatus.QUEUED, "progress": 0, "stage": "", "error": "", "requested_by": by,
             "requested_at": now, "finished_at": None}  # fmt: skip
    if not (failed.update(**reset) or stuck.update(**reset)):
        return False
    report.refresh_from_db()
    _queue(report)
    return True


def _queue(report: ProgrammeReport) -> None:
    transaction.on_commit(partial(publish, render_programme_report, report.pk))


# --- making it (the worker) ---------------------------------------------------------------------


@dataclass(frozen=True)
class DrawnChart:
    """A chart as the PDF prints it: a data URI (none without data), its caption, its size in points."""

    title: str
    caption: str
    data_uri: str
    width: int
    height: int


@dataclass(frozen=True)
class PrintedTable:
    """A report table as printed: cells already written as text, cut to ``MAX_TABLE_ROWS``."""

    title: str
    columns: tuple[tuple[str, bool], ...]  # (label, numeric)
    rows: tuple[tuple[tuple[str, bool], ...], ...]  # cells: (text, numeric)
    note: str
    empty: str
    left_out: int


@dataclass(frozen=True)
class Chapter:
    number: int
    report: Report
    charts: tuple[DrawnChart, ...]
    tables: tuple[PrintedTable, ...]
    highlights: tuple[tuple[str, str], ...]


def generate(report_id: int) -> str:
    """Make the PDF of ``report_id``: "ready", or "already done"/"gone"/"failed" (the row says why).

    Safe to run twice: only a queued row is claimed, so a repeated delivery does nothing.
    """
    claimed = ProgrammeReport.objects.filter(pk=report_id, status=RenderStatus.QUEUED).update(
        status=RenderStatus.RUNNING, progress=0, stage="Starting…", error=""
    )
    if not claimed:
        return "already done" if ProgrammeReport.objects.filter(pk=report_id).exists() else "gone"
    report = ProgrammeReport.objects.select_related("commissioner").get(pk=report_id)
    try:
        _make(report)
    except TRANSIENT:
        _set(report_id, status=RenderStatus.QUEUED)  # the task's retry claims it again
        raise
    except ReportChanged as error:
        _fail(report_id, str(error))
        return "failed"
    except Exception as error:
        log.exception("The programme report %s could not be made", report_id)
        _fail(report_id, f"{type(error).__name__}: {error}")
        return "failed"
    return "ready"


def _make(report: ProgrammeReport) -> None:
    scope = Scope(commissioner=report.commissioner, year=report.financial_year)
    reports = []
    for i, (slug, (title, _)) in enumerate(REPORTS.items()):
        _set(report.pk, stage=f"{title}…", progress=BUILT * i // len(REPORTS))
        reports.append(build_report(slug, scope))
    _rekey(report, programme_data_key(reports))
    _set(report.pk, stage="Drawing charts…", progress=BUILT)
    chapters = _chapters(report.pk, reports)
    _set(report.pk, stage="Writing the PDF…", progress=DRAWN)
    pdf = write_pdf(report, chapters)
    report.file.save(file_name(report), ContentFile(pdf), save=False)
    _set(
        report.pk,
        file=report.file.name,
        status=RenderStatus.READY,
        progress=100,
        stage="Ready",
        finished_at=timezone.now(),
    )


def _rekey(report: ProgrammeReport, key: str) -> None:
    """Name the row by the data actually drawn, if it changed since the request."""
    if key == report.data_key:
        return
    try:
        with transaction.atomic():
            _set(report.pk, data_key=key)
    except IntegrityError:  # another row already covers the new data
        raise ReportChanged("The data changed while the report was being made. Ask for it again.") from None
    report.data_key = key


def _chapters(report_id: int, reports: Sequence[Report]) -> list[Chapter]:
    total = sum(len(r.charts) for r in reports) or 1
    done, chapters = 0, []
    for number, built in enumerate(reports, start=1):
        charts = []
        for spec in built.charts:
            charts.append(draw_chart(spec))
            done += 1
            _set(report_id, progress=BUILT + (DRAWN - BUILT) * done // total)
        chapters.append(
            Chapter(
                number=number,
                report=built,
                charts=tuple(charts),
                tables=tuple(printed(t) for t in built.tables),
                highlights=tuple((label, display(value)) for label, value in built.highlights),
            )
        )
    return chapters


def draw_chart(spec: ChartSpec) -> DrawnChart:
    """The chart drawn in-process and embedded as a data URI; a chart without data is not drawn."""
    if spec.is_empty:
        return DrawnChart(spec.title, spec.alt, "", 0, 0)
    from .report_charts import draw_png  # drawing code: imported where it is used

    png = draw_png(spec)
    pixels_wide, pixels_high = struct.unpack(">II", png[16:24])  # the PNG's IHDR: its size in pixels
    scale = min(PRINT_WIDTH / pixels_wide, PRINT_HEIGHT / pixels_high)
    uri = "data:image/png;base64," + base64.b64encode(png).decode("ascii")
    return DrawnChart(spec.title, spec.alt, uri, round(pixels_wide * scale), round(pixels_high * scale))


def printed(table: Table) -> PrintedTable:
    numeric = [c.numeric for c in table.columns]
    return PrintedTable(
        title=table.title,
        columns=tuple((c.label, c.numeric) for c in table.columns),
        rows=tuple(tuple(zip(map(display, row), numeric, strict=False)) for row in table.rows[:MAX_TABLE_ROWS]),
        note=table.note,
        empty=table.empty,
        left_out=max(0, len(table.rows) - MAX_TABLE_ROWS),
    )


def display(value: Value) -> str:
    """A cell as the reader sees it: "3 March 2025", "1,250", "12.5", "—" for nothing."""
    if value is None or value == "":
        return "—"
    if isinstance(value, date):
        return date_format(value, "j F Y")
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, int | float | Decimal):
        return number_format(value, force_grouping=True)
    return str(value)


def write_pdf(report: ProgrammeReport, chapters: Sequence[Chapter]) -> bytes:
    from projects.master_views import render_pdf  # the shared xhtml2pdf set-up (fonts, resource policy)

    start, end = financial_year_bounds(report.financial_year)
    context: dict[str, Any] = {
        "document_title": f"Programme report {financial_year_label(report.financial_year)}",
        "commissioner": report.commissioner,
        "year_label": financial_year_label(report.financial_year),
        "year_start": start,
        "year_end": end,
        "generated_on": timezone.localdate(),
        "chapters": chapters,
        "max_rows": MAX_TABLE_ROWS,
    }
    return render_pdf(PDF_TEMPLATE, context)


def file_name(report: ProgrammeReport) -> str:
    """``<commissioner ods>-<2025-26>-<key>.pdf``, stored under ``programme-reports/``."""
    label = financial_year_label(report.financial_year).replace("/", "-")
    return f"{report.commissioner.ods_code}-{label}-{report.data_key[:8]}.pdf"


def _set(report_id: int, **fields: Any) -> None:
    ProgrammeReport.objects.filter(pk=report_id).update(**fields)


def _fail(report_id: int, error: str) -> None:
    _set(report_id, status=RenderStatus.FAILED, error=error[:300], stage="Failed", finished_at=timezone.now())
