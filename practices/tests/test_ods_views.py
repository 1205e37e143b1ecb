"""The upload page and the import's progress page."""

from __future__ import annotations

import pytest
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from practices.models import OdsImport, OdsImportStatus, Practice, ProgrammeRoleKind
from practices.tests.factories import CommissionerFactory, ProgrammeRoleFactory
from practices.tests.test_ods import SAMPLE, epraccur, gp_rows_of, row, sample_rows

UPLOAD = reverse("practices:import_upload")


def sample_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("epraccur.csv", SAMPLE.read_bytes(), content_type="text/csv")


def an_import(commissioner, **fields) -> OdsImport:
    ods_import = OdsImport(commissioner=commissioner, file_name="epraccur.csv", rows_total=127, **fields)
    ods_import.file.save("epraccur.csv", ContentFile(SAMPLE.read_bytes()), save=True)
    return ods_import


def test_a_lead_uploads_the_file_and_sees_the_counts(client, programme, django_capture_on_commit_callbacks):
    client.force_login(programme.lead)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(UPLOAD, {"file": sample_upload()})

    ods_import = OdsImport.objects.get()
    assert response.status_code == 302
    assert response["Location"] == ods_import.get_absolute_url()
    assert ods_import.status == OdsImportStatus.DONE
    assert (ods_import.commissioner, ods_import.uploaded_by) == (programme.commissioner, programme.lead)
    assert ods_import.file_name == "epraccur.csv"
    created = len(gp_rows_of("99J")) - 2
    assert ods_import.created == created
    assert ods_import.skipped == len(sample_rows()) - len(gp_rows_of("99J"))
    assert Practice.objects.filter(commissioner=programme.commissioner).count() == created + 2
    page = client.get(response["Location"])
    assert page.status_code == 200
    text = " ".join(page.text.split())
    assert f'New practices</dt><dd class="col-sm-7">{created}</dd>' in text
    assert "100%" in text
    assert "Every row was read." in text
    assert 'hx-trigger="every 1s"' not in text


def test_non_gp_settings_are_imported_when_the_lead_ticks_the_box(
    client, programme, django_capture_on_commit_callbacks
):
    client.force_login(programme.lead)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(UPLOAD, {"file": sample_upload(), "include_non_gp": "on"})

    west_rows = [r for r in sample_rows() if r[14] == "99J"]
    assert Practice.objects.filter(commissioner=programme.commissioner).count() == len(west_rows)


def test_the_upload_page_shows_the_form_and_the_last_imports(client, programme):
    an_import(programme.commissioner, status=OdsImportStatus.DONE, created=7, uploaded_by=programme.lead)
    an_import(programme.other_commissioner, status=OdsImportStatus.DONE, created=99)
    client.force_login(programme.lead)

    response = client.get(UPLOAD)

    assert response.status_code == 200
    assert 'enctype="multipart/form-data"' in response.text
    assert 'name="commissioner"' not in response.text  # one commissioner: it is implied
    assert "7 new" in response.text
    assert "99 new" not in response.text


def test_a_lead_of_two_commissioners_chooses_which_to_import(client, programme, django_capture_on_commit_callbacks):
    ProgrammeRoleFactory(user=programme.lead, commissioner=programme.other_commissioner, role=ProgrammeRoleKind.LEAD)
    client.force_login(programme.lead)
    assert 'name="commissioner"' in client.get(UPLOAD).text

    missing = client.post(UPLOAD, {"file": sample_upload()})
    assert missing.status_code == 200
    assert "This field is required." in missing.text

    with django_capture_on_commit_callbacks(execute=True):
        client.post(UPLOAD, {"file": sample_upload(), "commissioner": programme.other_commissioner.pk})

    ods_import = OdsImport.objects.get()
    assert ods_import.commissioner == programme.other_commissioner
    assert ods_import.created == len(gp_rows_of("99K")) - 0  # the fixture's Crowborough is not in the file
    assert not Practice.objects.filter(ods_code="G82017").exists()  # West Kent's rows were left alone


def test_a_lead_cannot_choose_a_commissioner_they_do_not_lead(client, programme):
    ProgrammeRoleFactory(user=programme.lead, commissioner=CommissionerFactory(ods_code="91Q"), role="lead")
    client.force_login(programme.lead)

    response = client.post(UPLOAD, {"file": sample_upload(), "commissioner": programme.other_commissioner.pk})

    assert response.status_code == 200
    assert "Select a valid choice" in response.text
    assert not OdsImport.objects.exists()


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"Amherst,TN13 3AQ\nKingswood,TN2 4UH\n", "its first row has 2 columns, where epraccur.csv has 27"),
        (b"Code,Name,Postcode\nG82013,Amherst,TN13 3AQ\n", "its first row is a row of column headings"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "This is not a text file"),
        (b"", "The submitted file is empty."),
    ],
)
def test_a_file_that_is_not_epraccur_is_refused_at_the_field_and_nothing_is_written(client, programme, data, message):
    before = Practice.objects.count()
    client.force_login(programme.lead)

    response = client.post(UPLOAD, {"file": SimpleUploadedFile("practices.csv", data)})

    assert response.status_code == 200
    assert message in response.text
    assert 'href="#id_file"' in response.text  # the error summary links to the field
    assert "is-invalid" in response.text
    assert not OdsImport.objects.exists()
    assert Practice.objects.count() == before


def test_a_file_without_the_leads_practices_is_refused(client, programme):
    client.force_login(programme.lead)

    response = client.post(
        UPLOAD, {"file": SimpleUploadedFile("e.csv", epraccur([row("G81099", "ELSEWHERE", commissioner="99K")]))}
    )

    assert "has no practices of NHS West Kent (99J)" in response.text
    assert not OdsImport.objects.exists()


def test_a_file_is_required_and_at_most_20_mb(client, programme):
    client.force_login(programme.lead)

    assert "This field is required." in client.post(UPLOAD, {}).text
    big = SimpleUploadedFile("e.csv", epraccur([row()]) + b" " * (20 * 1024 * 1024))
    assert "larger than 20 MB" in client.post(UPLOAD, {"file": big}).text
    assert not OdsImport.objects.exists()


@pytest.mark.parametrize("who", ["coach", "finance", "manager", "nurse", "other_nurse"])
def test_people_who_are_not_programme_leads_get_a_404_on_both_pages(client, programme, who):
    ods_import = an_import(programme.commissioner)
    client.force_login(getattr(programme, who))

    assert client.get(UPLOAD).status_code == 404
    assert client.post(UPLOAD, {"file": sample_upload()}).status_code == 404
    assert client.get(ods_import.get_absolute_url()).status_code == 404
    assert not OdsImport.objects.exclude(pk=ods_import.pk).exists()


def test_another_commissioners_lead_gets_a_404_on_the_import(client, programme):
    ods_import = an_import(programme.commissioner)
    client.force_login(programme.other_lead)

    assert client.get(ods_import.get_absolute_url()).status_code == 404
    assert client.get(ods_import.get_absolute_url(), headers={"HX-Request": "true"}).status_code == 404


def test_an_anonymous_visitor_is_asked_to_sign_in(client, programme):
    response = client.get(UPLOAD)

    assert response.status_code == 302
    assert reverse("login") in response["Location"]


def test_the_progress_page_polls_while_the_import_runs(client, programme):
    ods_import = an_import(programme.commissioner, status=OdsImportStatus.RUNNING, rows_done=50)
    client.force_login(programme.lead)

    response = client.get(ods_import.get_absolute_url())

    assert response.status_code == 200
    assert "<html" in response.text
    assert f'hx-get="{ods_import.get_absolute_url()}"' in response.text
    assert 'hx-trigger="every 1s"' in response.text
    assert 'aria-valuenow="39"' in response.text
    assert "checked 50 of 127 rows" in response.text
    assert f'<a href="{ods_import.get_absolute_url()}">Refresh</a>' in response.text
    assert "<script>" not in response.text  # CSP forbids inline script
    assert 'style="' not in response.text  # and inline styles


def test_the_htmx_request_returns_only_the_progress_fragment(client, programme):
    ods_import = an_import(programme.commissioner, status=OdsImportStatus.RUNNING, rows_done=100)
    client.force_login(programme.lead)

    response = client.get(ods_import.get_absolute_url(), headers={"HX-Request": "true"})

    assert response.status_code == 200
    assert response.text.lstrip().startswith('<div id="import-progress"')
    assert "<html" not in response.text
    assert "breadcrumb" not in response.text
    assert 'hx-trigger="every 1s"' in response.text
    assert "HX-Request" in response["Vary"]


def test_the_fragment_stops_polling_and_shows_the_problems_when_finished(client, programme):
    ods_import = an_import(
        programme.commissioner,
        status=OdsImportStatus.DONE,
        rows_done=127,
        created=3,
        skipped=2,
        problems=[{"line": 12, "message": "open date '2013x401' is not a date (YYYYMMDD)"}],
    )
    client.force_login(programme.lead)

    response = client.get(ods_import.get_absolute_url(), headers={"HX-Request": "true"})

    assert "hx-trigger" not in response.text
    assert "hx-get" not in response.text
    assert "Line 12: open date &#x27;2013x401&#x27; is not a date (YYYYMMDD)" in response.text
    assert "Refresh" not in response.text


def test_a_failed_import_says_why_and_that_nothing_was_saved(client, programme):
    ods_import = an_import(
        programme.commissioner,
        status=OdsImportStatus.FAILED,
        problems=[{"line": None, "message": "The file is empty."}],
    )
    client.force_login(programme.lead)

    response = client.get(ods_import.get_absolute_url())

    assert "The file was not imported" in response.text
    assert "Nothing was saved." in response.text
    assert "The file is empty." in response.text
    assert "hx-trigger" not in response.text
