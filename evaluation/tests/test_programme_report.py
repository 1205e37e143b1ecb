"""The programme report service: reuse for unchanged data, retries, progress, and the PDF itself."""

from __future__ import annotations

import io
import logging
import re
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import OperationalError
from django.db.models import QuerySet
from django.utils import timezone
from pypdf import PdfReader

from evaluation import programme_report as service
from evaluation.models import ProgrammeReport, RenderStatus
from evaluation.programme_report import display, file_name, generate, programme_data_key, request_report
from evaluation.reporting import REPORTS, Column, Scope, Table, build_report
from projects.models import Typology
from projects.tests.factories import ProjectFactory

YEAR = 2024  # ProjectFactory's projects start on 6 January 2025: financial year 2024/25


@pytest.fixture
def queued(monkeypatch):
    """The tasks queued, by report id, instead of sending them to the broker."""
    ids: list[int] = []

    def publish(task, report_id):
        ids.append(report_id)
        return True

    monkeypatch.setattr(service, "publish", publish)
    return ids


@pytest.fixture
def projects(programme):
    return [
        ProjectFactory(practice=programme.practice, typology=Typology.PROCESS_DRIVEN),
        ProjectFactory(practice=programme.sibling_practice, typology=Typology.PATIENT_CENTRED, process_subtheme=""),
    ]


def ask(programme, django_capture_on_commit_callbacks, *, year=YEAR):
    with django_capture_on_commit_callbacks(execute=True):
        return request_report(programme.commissioner, year, programme.lead)


def pdf_text(report: ProgrammeReport) -> str:
    report.refresh_from_db()
    with report.file.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    return "\n".join(page.extract_text() for page in reader.pages)


# Asking for it


def test_asking_twice_for_unchanged_data_reuses_the_first_report(
    programme, projects, queued, django_capture_on_commit_callbacks
):
    first, reused_first = ask(programme, django_capture_on_commit_callbacks)
    again, reused_again = ask(programme, django_capture_on_commit_callbacks)
    assert (reused_first, reused_again) == (False, True)
    assert again.pk == first.pk and ProgrammeReport.objects.count() == 1
    assert queued == [first.pk]
    assert first.status == RenderStatus.QUEUED and first.requested_by == programme.lead


def test_the_data_key_covers_every_report_of_the_year(programme, projects, queued, django_capture_on_commit_callbacks):
    report, _ = ask(programme, django_capture_on_commit_callbacks)
    scope = Scope(commissioner=programme.commissioner, year=YEAR)
    assert report.data_key == programme_data_key([build_report(slug, scope) for slug in REPORTS])
    assert report.financial_year == YEAR and report.commissioner == programme.commissioner


def test_a_new_project_makes_a_new_report(programme, projects, queued, django_capture_on_commit_callbacks):
    first, _ = ask(programme, django_capture_on_commit_callbacks)
    ProjectFactory(practice=programme.practice, typology=Typology.HEALTH_OUTPUTS, process_subtheme="")
    second, reused = ask(programme, django_capture_on_commit_callbacks)
    assert not reused and second.pk != first.pk and second.data_key != first.data_key
    assert queued == [first.pk, second.pk]


def test_another_year_or_commissioner_is_another_report(
    programme, projects, queued, django_capture_on_commit_callbacks
):
    first, _ = ask(programme, django_capture_on_commit_callbacks)
    other_year, reused_year = ask(programme, django_capture_on_commit_callbacks, year=YEAR + 1)
    with django_capture_on_commit_callbacks(execute=True):
        other, reused_other = request_report(programme.other_commissioner, YEAR, programme.other_lead)
    assert not reused_year and not reused_other
    assert len({first.pk, other_year.pk, other.pk}) == 3 and len(queued) == 3


def test_a_ready_report_is_reused_and_not_drawn_again(programme, projects, queued, django_capture_on_commit_callbacks):
    first, _ = ask(programme, django_capture_on_commit_callbacks)
    ProgrammeReport.objects.filter(pk=first.pk).update(status=RenderStatus.READY, progress=100)
    again, reused = ask(programme, django_capture_on_commit_callbacks)
    assert reused and again.pk == first.pk and again.status == RenderStatus.READY
    assert queued == [first.pk]


def test_a_failed_report_is_tried_again(programme, projects, queued, django_capture_on_commit_callbacks):
    first, _ = ask(programme, django_capture_on_commit_callbacks)
    ProgrammeReport.objects.filter(pk=first.pk).update(status=RenderStatus.FAILED, progress=40, error="Boom")
    again, reused = request_report(programme.commissioner, YEAR, programme.finance)
    assert not reused and again.pk == first.pk
    assert (again.status, again.progress, again.error, again.requested_by) == (
        RenderStatus.QUEUED, 0, "", programme.finance,
    )  # fmt: skip


def test_a_failed_report_is_queued_again_on_commit(programme, projects, queued, django_capture_on_commit_callbacks):
    first, _ = ask(programme, django_capture_on_commit_callbacks)
    ProgrammeReport.objects.filter(pk=first.pk).update(status=RenderStatus.FAILED)
    ask(programme, django_capture_on_commit_callbacks)
    assert queued == [first.pk, first.pk] and ProgrammeReport.objects.count() == 1


@pytest.mark.parametrize(
    ("status", "stale_after"),
    [(RenderStatus.QUEUED, service.QUEUED_STALE_AFTER), (RenderStatus.RUNNING, service.RUNNING_STALE_AFTER)],
)
def test_a_report_left_unfinished_too_long_is_queued_again(
    programme, projects, queued, django_capture_on_commit_callbacks, status, stale_after
):
    first, _ = ask(programme, django_capture_on_commit_callbacks)
    recently = timezone.now() - stale_after + timedelta(seconds=30)
    ProgrammeReport.objects.filter(pk=first.pk).update(status=status, requested_at=recently, progress=30)
    _, reused = ask(programme, django_capture_on_commit_callbacks)  # its worker may still be on it
    assert reused and queued == [first.pk]
    long_ago = timezone.now() - stale_after - timedelta(minutes=1)
    ProgrammeReport.objects.filter(pk=first.pk).update(requested_at=long_ago)
    again, reused = ask(programme, django_capture_on_commit_callbacks)
    assert not reused and again.pk == first.pk and again.requested_at > long_ago
    assert (again.status, again.progress) == (RenderStatus.QUEUED, 0)
    assert queued == [first.pk, first.pk]


def test_two_requests_at_once_make_one_report(
    programme, projects, queued, monkeypatch, django_capture_on_commit_callbacks
):
    """The other request made the row after this one looked for it: the unique constraint holds."""
    scope = Scope(commissioner=programme.commissioner, year=YEAR)
    key = programme_data_key(service.build_reports(scope))
    other = ProgrammeReport.objects.create(commissioner=programme.commissioner, financial_year=YEAR, data_key=key)
    real_first = QuerySet.first
    monkeypatch.setattr(QuerySet, "first", lambda qs: None if qs.model is ProgrammeReport else real_first(qs))
    report, reused = ask(programme, django_capture_on_commit_callbacks)
    assert reused and report.pk == other.pk and ProgrammeReport.objects.count() == 1
    assert queued == []


def test_nothing_is_queued_when_the_transaction_rolls_back(
    programme, projects, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        request_report(programme.commissioner, YEAR, programme.lead)
    assert len(callbacks) == 1 and queued == []


# Making it


@pytest.fixture
def requested(programme, projects, queued, django_capture_on_commit_callbacks):
    report, _ = ask(programme, django_capture_on_commit_callbacks)
    return report


def test_the_worker_makes_the_pdf_with_every_chapter(programme, requested):
    assert generate(requested.pk) == "ready"
    requested.refresh_from_db()
    assert (requested.status, requested.progress, requested.error) == (RenderStatus.READY, 100, "")
    assert requested.finished_at is not None
    assert requested.file.name == f"programme-reports/99J-2024-25-{requested.data_key[:8]}.pdf"
    text = pdf_text(requested)
    assert "Programme report 2024/25" in text and "NHS West Kent" in text
    assert "1 April 2024 to 31 March 2025" in text
    assert "Contents" in text and "Executive summary" in text
    positions = [text.rfind(f"{number}. {title}") for number, (title, _) in enumerate(REPORTS.values(), start=1)]
    assert all(p >= 0 for p in positions) and positions == sorted(positions), positions


def test_the_pdf_has_each_reports_intro_highlights_and_chart_captions(programme, requested):
    generate(requested.pk)
    text = re.sub(r"\s+", " ", pdf_text(requested))
    scope = Scope(commissioner=programme.commissioner, year=YEAR)
    for slug in REPORTS:
        built = build_report(slug, scope)
        assert " ".join(built.intro.split()[:6]) in text, slug
        for label, _ in built.highlights[:2]:
            assert " ".join(label.split()[:4]) in text, (slug, label)
        drawn = [c for c in built.charts if not c.is_empty]
        for chart in drawn[:1]:
            assert " ".join(chart.alt.split()[:5]) in text, (slug, chart.alt)


def test_the_pdf_embeds_each_drawn_chart_as_an_image(programme, requested, monkeypatch):
    drawn = []
    real = service.draw_chart

    def draw(spec):
        drawn.append(spec)
        return real(spec)

    monkeypatch.setattr(service, "draw_chart", draw)
    generate(requested.pk)
    requested.refresh_from_db()
    with requested.file.open("rb") as f:
        reader = PdfReader(io.BytesIO(f.read()))
    images = sum(len(page.images) for page in reader.pages)
    assert drawn and images == sum(1 for spec in drawn if not spec.is_empty) > 0


def test_running_it_twice_leaves_the_ready_report_alone(programme, requested):
    generate(requested.pk)
    requested.refresh_from_db()
    name, finished = requested.file.name, requested.finished_at
    assert generate(requested.pk) == "already done"
    requested.refresh_from_db()
    assert (requested.file.name, requested.finished_at, requested.status) == (name, finished, RenderStatus.READY)


def test_a_report_that_is_gone_is_skipped(db):
    assert generate(987654) == "gone"


def test_progress_and_stage_move_through_each_report_then_the_charts_then_the_pdf(programme, requested, monkeypatch):
    seen: list[tuple[int, str]] = []

    def watch():
        row = ProgrammeReport.objects.get(pk=requested.pk)
        seen.append((row.progress, row.stage))

    real_build, real_draw, real_write = service.build_report, service.draw_chart, service.write_pdf
    monkeypatch.setattr(service, "build_report", lambda slug, scope: watch() or real_build(slug, scope))
    monkeypatch.setattr(service, "draw_chart", lambda spec: watch() or real_draw(spec))
    monkeypatch.setattr(service, "write_pdf", lambda report, chapters: watch() or real_write(report, chapters))
    generate(requested.pk)
    stages = [stage for _, stage in seen]
    titles = [f"{title}…" for title, _ in REPORTS.values()]
    assert stages[: len(titles)] == titles
    assert stages[-1] == "Writing the PDF…" and "Drawing charts…" in stages
    progress = [p for p, _ in seen]
    assert progress == sorted(progress) and progress[0] == 0 and progress[-1] == service.DRAWN
    assert ProgrammeReport.objects.get(pk=requested.pk).progress == 100


def test_an_error_fails_the_report_with_a_short_message_and_a_log(programme, requested, monkeypatch, caplog):
    def broken(spec):
        raise ValueError("the chart has no axes " + "x" * 400)

    monkeypatch.setattr(service, "draw_chart", broken)
    with caplog.at_level(logging.ERROR, logger="evaluation.programme_report"):
        assert generate(requested.pk) == "failed"
    requested.refresh_from_db()
    assert requested.status == RenderStatus.FAILED and requested.stage == "Failed"
    assert requested.error.startswith("ValueError: the chart has no axes") and len(requested.error) == 300
    assert not requested.file
    assert "could not be made" in caplog.text


def test_a_failed_report_asked_for_again_is_made(
    programme, requested, monkeypatch, queued, django_capture_on_commit_callbacks
):
    draw_chart = service.draw_chart
    monkeypatch.setattr(service, "draw_chart", lambda spec: 1 / 0)
    generate(requested.pk)
    monkeypatch.setattr(service, "draw_chart", draw_chart)
    again, reused = ask(programme, django_capture_on_commit_callbacks)
    assert not reused and again.pk == requested.pk and queued == [requested.pk, requested.pk]
    assert generate(again.pk) == "ready"


def test_a_database_blip_puts_the_report_back_in_the_queue_for_the_retry(programme, requested, monkeypatch):
    draw_chart = service.draw_chart

    def blip(spec):
        raise OperationalError("server closed the connection")

    monkeypatch.setattr(service, "draw_chart", blip)
    with pytest.raises(OperationalError):
        generate(requested.pk)
    requested.refresh_from_db()
    assert requested.status == RenderStatus.QUEUED
    monkeypatch.setattr(service, "draw_chart", draw_chart)
    assert generate(requested.pk) == "ready"


def test_data_changed_since_the_request_renames_the_report_by_what_it_drew(programme, requested):
    ProjectFactory(practice=programme.practice, typology=Typology.HEALTH_OUTPUTS, process_subtheme="")
    assert generate(requested.pk) == "ready"
    requested.refresh_from_db()
    scope = Scope(commissioner=programme.commissioner, year=YEAR)
    assert requested.data_key == programme_data_key([build_report(slug, scope) for slug in REPORTS])


def test_data_changed_to_what_another_report_covers_fails_this_one(
    programme, requested, queued, django_capture_on_commit_callbacks
):
    ProjectFactory(practice=programme.practice, typology=Typology.HEALTH_OUTPUTS, process_subtheme="")
    newer, _ = ask(programme, django_capture_on_commit_callbacks)
    assert generate(requested.pk) == "failed"
    requested.refresh_from_db()
    assert requested.status == RenderStatus.FAILED and "data changed" in requested.error
    assert generate(newer.pk) == "ready"


def test_a_long_table_is_cut_in_the_pdf_with_a_pointer_to_the_csv(programme, requested, monkeypatch):
    monkeypatch.setattr(service, "MAX_TABLE_ROWS", 1)
    table = Table(
        title="Long", columns=(Column("Name"), Column("n", numeric=True)), rows=(("a", 1), ("b", 2), ("c", 3))
    )
    printed = service.printed(table)
    assert printed.rows == ((("a", False), ("1", True)),) and printed.left_out == 2


def test_an_empty_chart_is_not_drawn(programme):
    from evaluation.reporting import ChartSpec

    spec = ChartSpec(slug="x", title="Nothing", kind="bar", categories=(), series=(), alt="No projects.")
    drawn = service.draw_chart(spec)
    assert drawn.data_uri == "" and drawn.caption == "No projects."


def test_a_drawn_chart_keeps_its_shape_within_the_page(programme, projects):
    scope = Scope(commissioner=programme.commissioner, year=YEAR)
    spec = next(c for slug in REPORTS for c in build_report(slug, scope).charts if not c.is_empty)
    drawn = service.draw_chart(spec)
    assert drawn.data_uri.startswith("data:image/png;base64,")
    assert 0 < drawn.width <= service.PRINT_WIDTH and 0 < drawn.height <= service.PRINT_HEIGHT


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (None, "—"),
        ("", "—"),
        ("Patient-centred", "Patient-centred"),
        (1250, "1,250"),
        (12.5, "12.5"),
        (Decimal("1250.00"), "1,250.00"),
        (date(2025, 3, 3), "3 March 2025"),
    ],
)
def test_cells_are_written_as_the_reader_expects(value, shown):
    assert display(value) == shown


def test_the_file_is_named_by_commissioner_year_and_data(programme):
    report = ProgrammeReport(commissioner=programme.commissioner, financial_year=2025, data_key="abcdef0123456789")
    assert file_name(report) == "99J-2025-26-abcdef01.pdf"
