"""The programme report pages: asking for a year, the progress partial, the download, and who reaches them."""

from __future__ import annotations

import re

import pytest
from django.core.files.base import ContentFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from evaluation import programme_report as service
from evaluation.models import ProgrammeReport, RenderStatus
from evaluation.reporting import years_offered
from projects.tests.factories import ProjectFactory

YEAR = 2024
READERS = ["lead", "finance", "admin"]
OUTSIDERS = ["coach", "manager", "nurse", "sibling_nurse", "other_nurse"]
PAGE = reverse("programme:programme_report")


def status_url(report):
    return reverse("programme:programme_report_status", args=[report.pk])


def download_url(report):
    return reverse("programme:programme_report_download", args=[report.pk])


@pytest.fixture
def queued(monkeypatch):
    ids: list[int] = []

    def publish(task, report_id):
        ids.append(report_id)
        return True

    monkeypatch.setattr(service, "publish", publish)
    return ids


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def made(programme, *, commissioner=None, status=RenderStatus.READY, key="a" * 64, **fields):
    """A programme report row as the worker leaves it; a ready one has a small PDF."""
    report = ProgrammeReport.objects.create(
        commissioner=commissioner or programme.commissioner,
        financial_year=YEAR,
        data_key=key,
        status=status,
        requested_by=programme.lead,
        **fields,
    )
    if status == RenderStatus.READY:
        report.file.save("99J-2024-25-aaaaaaaa.pdf", ContentFile(b"%PDF-1.4 programme report"), save=True)
    return report


# The page


@pytest.mark.parametrize("who", READERS)
def test_the_lead_finance_and_an_admin_see_the_page(as_, programme, who):
    page = as_(who).get(PAGE)
    assert page.status_code == 200
    assert "Make the programme report" in page.text and "NHS West Kent" in page.text
    assert "No programme reports yet" in page.text
    for year in years_offered()[:3]:
        assert f'<option value="{year}"' in page.text


@pytest.mark.parametrize("who", OUTSIDERS)
def test_coaches_and_practice_staff_get_404_everywhere(as_, programme, queued, who):
    report = made(programme)
    client = as_(who)
    assert client.get(PAGE).status_code == 404
    assert client.post(PAGE, {"year": YEAR}).status_code == 404
    assert client.get(status_url(report)).status_code == 404
    assert client.get(download_url(report)).status_code == 404
    assert ProgrammeReport.objects.count() == 1 and queued == []


def test_another_commissioners_lead_sees_only_their_own_reports(as_, programme):
    report = made(programme)
    client = as_("other_lead")
    page = client.get(f"{PAGE}?commissioner={programme.commissioner.pk}")
    assert page.status_code == 200 and "NHS High Weald" in page.text and "NHS West Kent" not in page.text
    assert download_url(report) not in page.text and "No programme reports yet" in page.text
    assert client.get(status_url(report)).status_code == 404
    assert client.get(download_url(report)).status_code == 404


def test_another_commissioners_lead_cannot_ask_for_this_commissioners_report(as_, programme, queued):
    ProjectFactory(practice=programme.practice)
    as_("other_lead").post(f"{PAGE}?commissioner={programme.commissioner.pk}", {"year": YEAR})
    assert list(ProgrammeReport.objects.values_list("commissioner", flat=True)) == [programme.other_commissioner.pk]


def test_signed_out_visitors_are_sent_to_sign_in(client, programme):
    report = made(programme)
    for url in (PAGE, status_url(report), download_url(report)):
        response = client.get(url)
        assert response.status_code == 302 and "login" in response["Location"]


def test_an_admin_picks_the_commissioner(as_, programme):
    made(programme, commissioner=programme.other_commissioner)
    page = as_("admin").get(f"{PAGE}?commissioner={programme.other_commissioner.pk}")
    assert page.status_code == 200 and 'name="commissioner"' in page.text
    assert "Reports made for NHS High Weald" in page.text
    assert page.text.count("Download the PDF") == 1


# Asking for one


def test_asking_for_a_report_queues_it_and_comes_back_to_the_page(
    as_, programme, queued, django_capture_on_commit_callbacks
):
    ProjectFactory(practice=programme.practice)
    client = as_("lead")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(PAGE, {"year": YEAR})
    assert response.status_code == 302
    assert response["Location"] == f"{PAGE}?commissioner={programme.commissioner.pk}&year={YEAR}"
    report = ProgrammeReport.objects.get()
    assert (report.financial_year, report.commissioner, report.requested_by) == (
        YEAR,
        programme.commissioner,
        programme.lead,
    )
    assert queued == [report.pk]
    page = client.get(response["Location"])
    assert "The programme report for 2024/25 is being made" in page.text
    assert status_url(report) in page.text and 'hx-trigger="every 1s"' in page.text
    assert "Waiting to start" in page.text
    assert f'<option value="{YEAR}" selected>' in page.text  # the year just asked for stays chosen


def test_asking_again_for_unchanged_data_says_it_is_reused(as_, programme, queued, django_capture_on_commit_callbacks):
    ProjectFactory(practice=programme.practice)
    client = as_("finance")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"year": YEAR})
        response = client.post(PAGE, {"year": YEAR}, follow=True)
    assert "Already generated for unchanged data: reused" in response.text
    assert ProgrammeReport.objects.count() == 1 and len(queued) == 1


def test_trying_a_failed_report_again_queues_the_same_report(
    as_, programme, queued, django_capture_on_commit_callbacks
):
    ProjectFactory(practice=programme.practice)
    client = as_("lead")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"year": YEAR})
    report = ProgrammeReport.objects.get()
    report.status, report.error = RenderStatus.FAILED, "Boom"
    report.save(update_fields=["status", "error"])
    with django_capture_on_commit_callbacks(execute=True):
        page = client.post(f"{PAGE}?commissioner={programme.commissioner.pk}", {"year": YEAR}, follow=True)
    assert "The programme report for 2024/25 is being made" in page.text
    report.refresh_from_db()
    assert report.status == RenderStatus.QUEUED and report.error == "" and queued == [report.pk, report.pk]


@pytest.mark.parametrize(
    ("year", "message"),
    [("", "Choose the financial year to report on."), ("1999", "Choose a financial year from the list."),
     ("soon", "Choose a financial year from the list.")],
)  # fmt: skip
def test_a_bad_year_is_shown_at_the_field_and_nothing_is_queued(as_, programme, queued, year, message):
    page = as_("lead").post(PAGE, {"year": year})
    assert page.status_code == 200
    assert "There is a problem" in page.text and f'<li><a href="#id_year">{escape(message)}</a></li>' in page.text
    assert page.text.count(escape(message)) >= 2
    assert ProgrammeReport.objects.count() == 0 and queued == []


def test_the_whole_way_from_the_button_to_the_download(as_, programme, django_capture_on_commit_callbacks):
    """Tasks run in-process here: the request queues it, the task makes it, the page offers it."""
    ProjectFactory(practice=programme.practice)
    client = as_("lead")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(PAGE, {"year": YEAR})
    report = ProgrammeReport.objects.get()
    assert report.status == RenderStatus.READY
    partial = client.get(status_url(report))
    assert download_url(report) in partial.text and "hx-get" not in partial.text
    download = client.get(download_url(report))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"] == 'attachment; filename="programme-report-99J-2024-25.pdf"'
    assert b"".join(download.streaming_content).startswith(b"%PDF")


# The progress partial


def test_the_partial_shows_progress_and_keeps_polling_while_the_report_is_made(as_, programme):
    report = made(programme, status=RenderStatus.RUNNING, progress=45, stage="Drawing charts…")
    partial = as_("lead").get(status_url(report))
    assert partial.status_code == 200
    assert f'hx-get="{status_url(report)}"' in partial.text and 'hx-swap="outerHTML"' in partial.text
    assert "Drawing charts…" in partial.text and 'aria-valuenow="45"' in partial.text and 'width="45%"' in partial.text
    assert "<html" not in partial.text  # a fragment, not a page


def test_the_partial_of_a_failed_report_stops_polling_and_says_what_to_do(as_, programme):
    report = made(programme, status=RenderStatus.FAILED, error="ValueError: <no axes>")
    partial = as_("finance").get(status_url(report))
    assert "hx-get" not in partial.text and "The report could not be made" in partial.text
    assert escape("ValueError: <no axes>") in partial.text and "<no axes>" not in partial.text
    assert "Try again" in partial.text and f'name="year" value="{YEAR}"' in partial.text


def test_a_report_not_ready_cannot_be_downloaded(as_, programme):
    report = made(programme, status=RenderStatus.RUNNING)
    assert as_("lead").get(download_url(report)).status_code == 404


@pytest.mark.parametrize("who", READERS)
def test_the_lead_finance_and_an_admin_download_a_ready_report(as_, programme, who):
    report = made(programme)
    download = as_(who).get(download_url(report))
    assert download.status_code == 200 and download["Content-Disposition"].startswith("attachment;")
    assert b"".join(download.streaming_content) == b"%PDF-1.4 programme report"


def test_the_status_and_download_refuse_post(as_, programme):
    report = made(programme)
    client = as_("lead")
    assert client.post(status_url(report)).status_code == 405
    assert client.post(download_url(report)).status_code == 405


# The list


def test_the_page_lists_the_reports_newest_first_with_who_asked(as_, programme):
    older = made(programme, key="b" * 64, status=RenderStatus.FAILED, error="Boom")
    newer = made(programme, key="c" * 64)
    page = as_("lead").get(PAGE).text
    assert page.index(f'id="programme-report-{newer.pk}"') < page.index(f'id="programme-report-{older.pk}"')
    assert "2024/25" in page and "by Lead West" in page
    assert download_url(newer) in page and download_url(older) not in page


def test_the_page_reads_a_fixed_number_of_queries_however_many_reports(as_, programme):
    client = as_("lead")

    def queries() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(PAGE).status_code == 200
        return len(ctx.captured_queries)

    queries()  # the first request of a session also reads the user's roles
    made(programme, key="0" * 64, status=RenderStatus.QUEUED)
    one = queries()
    for n in range(1, 5):
        made(programme, key=str(n) * 64, status=RenderStatus.QUEUED)
    assert queries() == one
    assert len(re.findall(r'id="programme-report-\d+"', client.get(PAGE).text)) == 5
