"""The measure pages: who reads and who writes, the inline table, imports, the download, escaping and query counts."""

import re
from datetime import date
from decimal import Decimal

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from microsystems.models import AuditEntry
from projects.measure_csv import MAX_BYTES
from projects.models import Frequency, Measure, MeasureValue, Step, Unit
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, weekly_values

EDITORS = ["nurse", "manager", "coach"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]
HTMX = {"HX-Request": "true"}
TODAY = date(2025, 6, 30)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)


@pytest.fixture
def measure(project):
    return MeasureFactory(project=project, name="Days from result to action", baseline_points=8)


@pytest.fixture
def value(measure):
    return weekly_values(measure, [4], start=date(2025, 3, 3))[0]


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


def url(name, *args):
    return reverse(f"projects:{name}", args=args)


def measure_data(**changes):
    data = {
        "name": "Calls answered in 2 minutes",
        "kind": "process",
        "definition": "Calls answered within 2 minutes, as a share of all calls, from the phone system.",
        "unit": "percentage",
        "direction": "up",
        "frequency": "weekly",
        "target": "80",
        "baseline": "points",
        "baseline_points": "8",
        "baseline_from": "",
        "baseline_to": "",
        "specific_aim": "",
    }
    return {**data, **changes}


def value_data(prefix="new", **changes):
    data = {"on": "2025-03-12", "value": "5.5", "note": "", "astronomical": "", "astronomical_reason": ""}
    return {f"{prefix}-{k}": v for k, v in {**data, **changes}.items()}


def reads(project, measure, value):
    return [
        url("measures", project.pk),
        url("measure", project.pk, measure.pk),
        url("measure_analysis", project.pk, measure.pk),
        url("measure_csv", project.pk, measure.pk),
    ]


def writes(project, measure, value):
    """Each write view with what it is sent: (url, data or None for a GET)."""
    return [
        (url("measure_create", project.pk), None),
        (url("measure_create", project.pk), measure_data()),
        (url("measure_edit", project.pk, measure.pk), None),
        (url("measure_edit", project.pk, measure.pk), measure_data()),
        (url("measure_remove", project.pk, measure.pk), None),
        (url("measure_remove", project.pk, measure.pk), {}),
        (url("measure_value_add", project.pk, measure.pk), value_data()),
        (url("measure_value", project.pk, measure.pk, value.pk), None),
        (url("measure_value_edit", project.pk, measure.pk, value.pk), None),
        (url("measure_value_edit", project.pk, measure.pk, value.pk), value_data(f"value-{value.pk}")),
        (url("measure_value_remove", project.pk, measure.pk, value.pk), {}),
        (url("measure_import", project.pk, measure.pk), {"text": "2025-03-17,4"}),
    ]


def send(client, target, data, **kwargs):
    return client.get(target, **kwargs) if data is None else client.post(target, data, **kwargs)


def snapshot():
    return (
        list(Measure.objects.values_list("pk", "name", "unit", "target", "updated_at")),
        list(MeasureValue.objects.values_list("pk", "on", "value", "note", "astronomical")),
    )


# Access


@pytest.mark.parametrize("who", [*EDITORS, "lead"])
def test_people_with_the_project_in_scope_read_every_page(as_, project, measure, value, who):
    client = as_(who)
    for target in reads(project, measure, value):
        assert client.get(target).status_code == 200, target


@pytest.mark.parametrize("who", OUTSIDERS)
def test_outsiders_get_a_404_on_every_page_and_change_nothing(as_, project, measure, value, who):
    client, before = as_(who), snapshot()
    for target in reads(project, measure, value):
        assert client.get(target).status_code == 404, target
    for target, data in writes(project, measure, value):
        assert send(client, target, data).status_code == 404, target
        assert send(client, target, data, headers=HTMX).status_code == 404, target
    assert snapshot() == before


def test_the_lead_reads_but_cannot_change_anything(as_, project, measure, value):
    client, before = as_("lead"), snapshot()
    for target, data in writes(project, measure, value):
        assert send(client, target, data).status_code == 404, target
    assert snapshot() == before
    html = client.get(url("measure", project.pk, measure.pk)).text
    assert "Add the value" not in html
    assert "Paste or upload data" not in html
    assert "Change the measure" not in html
    assert "js/measure_table.js" not in html
    assert "Download data (CSV)" in html
    assert "Add a measure" not in client.get(url("measures", project.pk)).text


@pytest.mark.parametrize("who", EDITORS)
def test_editors_see_the_forms(as_, project, measure, value, who):
    html = as_(who).get(url("measure", project.pk, measure.pk)).text
    for text in ("Add the value", "Paste or upload data", "Change the measure", "js/measure_table.js"):
        assert text in html
    assert "Add a measure" in as_(who).get(url("measures", project.pk)).text


def test_a_measure_of_another_project_is_not_found_through_this_one(as_, project, programme):
    other = ProjectFactory(practice=programme.practice)
    foreign = MeasureFactory(project=other)
    (foreign_value,) = weekly_values(foreign, [3])
    client, before = as_("nurse"), snapshot()
    for target in reads(project, foreign, foreign_value)[1:]:
        assert client.get(target).status_code == 404, target
    for target, data in writes(project, foreign, foreign_value):
        if f"/measures/{foreign.pk}/" in target:
            assert send(client, target, data).status_code == 404, target
    assert snapshot() == before


def test_a_value_of_another_measure_is_not_found_through_this_one(as_, project, measure):
    other = MeasureFactory(project=project)
    (foreign_value,) = weekly_values(other, [3])
    client = as_("nurse")
    target = url("measure_value_edit", project.pk, measure.pk, foreign_value.pk)
    assert client.get(target, headers=HTMX).status_code == 404
    assert client.post(url("measure_value_remove", project.pk, measure.pk, foreign_value.pk)).status_code == 404
    assert MeasureValue.objects.filter(pk=foreign_value.pk).exists()


def test_a_closed_project_cannot_be_changed_by_its_team(as_, programme):
    project = ProjectFactory(practice=programme.practice, step=Step.WITHDRAWN)
    measure = MeasureFactory(project=project)
    client = as_("nurse")
    assert client.get(url("measure", project.pk, measure.pk)).status_code == 200
    assert client.post(url("measure_import", project.pk, measure.pk), {"text": "2025-03-17,4"}).status_code == 404
    assert not MeasureValue.objects.exists()


# Measures


def test_the_list_shows_each_measure_with_its_points_and_latest_value(as_, project, measure):
    weekly_values(measure, [4, 5, 6.5])
    html = as_("lead").get(url("measures", project.pk)).text
    assert f'<a href="{measure.get_absolute_url()}">Days from result to action</a>' in html
    assert re.search(
        r'<td class="text-end">3</td>\s*<td>6.5 days <span class="text-body-secondary">on 20 January 2025', html
    )


def test_the_list_says_what_to_do_when_empty(as_, project):
    assert "No measures yet. Add the first one" in as_("nurse").get(url("measures", project.pk)).text


def test_adding_a_measure_goes_to_its_page(as_, project):
    response = as_("nurse").post(url("measure_create", project.pk), measure_data())
    measure = Measure.objects.get()
    assert response.status_code == 302
    assert response["Location"] == measure.get_absolute_url() + "#data"
    assert (measure.unit, measure.target, measure.baseline_points, measure.baseline_to) == (
        Unit.PERCENTAGE,
        Decimal("80.000"),
        8,
        None,
    )


def test_the_baseline_choice_decides_which_fields_are_kept(as_, project):
    data = measure_data(baseline="dates", baseline_points="8", baseline_from="2025-01-06", baseline_to="2025-02-24")
    as_("nurse").post(url("measure_create", project.pk), data)
    measure = Measure.objects.get()
    assert (measure.baseline_points, measure.baseline_from, measure.baseline_to) == (
        None,
        date(2025, 1, 6),
        date(2025, 2, 24),
    )


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Give the measure a name."),
        ({"name": "days FROM result to action"}, "name", "The project already has a measure called"),
        ({"target": "120"}, "target", "The target cannot be used: 120 is outside 0 to 100 for a percentage."),
        ({"target": "lots"}, "target", "Enter the target as a number."),
        ({"baseline_points": ""}, "baseline_points", "Enter how many of the first points make the baseline."),
        ({"baseline": "dates", "baseline_from": "2025-03-01", "baseline_to": ""}, "baseline_to", "Enter the last date"),
        (
            {"baseline": "dates", "baseline_from": "2025-03-01", "baseline_to": "2025-01-06"},
            "baseline_to",
            "The end of the baseline must be after its start.",
        ),
        ({"unit": "furlongs"}, "unit", "Select a valid choice."),
    ],
)
def test_a_bad_measure_is_refused_at_its_field_and_nothing_is_saved(as_, project, measure, changes, field, message):
    before = snapshot()
    response = as_("nurse").post(url("measure_create", project.pk), measure_data(**changes))
    assert response.status_code == 200
    assert "There is a problem" in response.text
    assert re.search(rf'<li><a href="#id_{field}">{re.escape(message)}', response.text), response.text
    assert snapshot() == before


def test_changing_a_measure_keeps_its_settings_in_the_form(as_, project, measure):
    html = as_("nurse").get(url("measure_edit", project.pk, measure.pk)).text
    assert 'value="Days from result to action"' in html
    assert re.search(r'value="points"[^>]*checked', html)
    response = as_("nurse").post(
        url("measure_edit", project.pk, measure.pk), measure_data(name="Days to action", unit="days", target="")
    )
    assert response.status_code == 302
    measure.refresh_from_db()
    assert (measure.name, measure.unit, measure.target) == ("Days to action", Unit.DAYS, None)


def test_removing_a_measure_asks_first_and_says_how_many_values_go(as_, project, measure):
    weekly_values(measure, [4, 5, 6])
    client = as_("nurse")
    html = client.get(url("measure_remove", project.pk, measure.pk)).text
    assert "Its 3 values and its charts will go too." in html
    response = client.post(url("measure_remove", project.pk, measure.pk))
    assert response["Location"] == url("measures", project.pk)
    assert not Measure.objects.exists() and not MeasureValue.objects.exists()
    assert AuditEntry.objects.filter(action="measure.removed").exists()


# The measure's page


def test_the_page_shows_the_definition_charts_summary_and_data(as_, project, measure):
    weekly_values(measure, [6, 7, 6.5, 7, 6, 6.5, 7, 7, 4, 3, 3.5, 4, 3, 3.5, 4, 3, 3.5, 4, 3, 3.5])
    html = as_("lead").get(url("measure", project.pk, measure.pk)).text
    assert "Working days from a result arriving to a GP filing it" in html
    assert 'id="chart-' in html and "Drawing the run chart" in html
    assert "Median 6.75 days (baseline: first 8 weeks)." in html
    assert "A shift of 12 points below the median from 3 March 2025: a sign of improvement." in html
    assert "Special cause variation: improvement." in html
    assert html.count('<tr id="value-') == 20
    assert f'hx-get="{url("measure_analysis", project.pk, measure.pk)}" hx-trigger="measure-changed from:body"' in html


def test_a_measure_without_data_says_what_to_do(as_, project, measure):
    html = as_("nurse").get(url("measure", project.pk, measure.pk)).text
    assert "No values yet. Add them one at a time in the table, or paste or upload them below." in html
    assert "Add data to see the chart." in html


def test_user_text_is_escaped(as_, project):
    measure = MeasureFactory(project=project, name="<b>Bold</b>", definition="<script>alert(1)</script>")
    weekly_values(measure, [4])
    MeasureValue.objects.update(note="<i>note</i>")
    client = as_("nurse")
    for target in (url("measure", project.pk, measure.pk), url("measures", project.pk)):
        html = client.get(target).text
        assert "<b>Bold</b>" not in html and "&lt;b&gt;Bold&lt;/b&gt;" in html
    html = client.get(url("measure", project.pk, measure.pk)).text
    assert "<script>alert(1)</script>" not in html and "<i>note</i>" not in html


def test_the_page_runs_the_same_number_of_queries_with_5_or_60_values(as_, project):
    few, many = MeasureFactory(project=project), MeasureFactory(project=project)
    weekly_values(few, [4] * 5, start=date(2024, 1, 1))
    weekly_values(many, [4, 5, 6] * 20, start=date(2024, 1, 1))
    client = as_("nurse")
    client.get(url("measure", project.pk, few.pk))  # the first request of a session costs a few queries more
    counts = []
    for m in (few, many):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url("measure", project.pk, m.pk)).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1], counts


def test_the_list_runs_the_same_number_of_queries_with_1_or_30_measures(as_, project, django_assert_max_num_queries):
    client = as_("nurse")
    weekly_values(MeasureFactory(project=project), [4, 5])
    with CaptureQueriesContext(connection) as one:
        client.get(url("measures", project.pk))
    for _ in range(29):
        weekly_values(MeasureFactory(project=project), [4, 5])
    with django_assert_max_num_queries(len(one)):
        client.get(url("measures", project.pk))


# The table


def test_adding_a_value_without_javascript_redirects_to_the_data(as_, project, measure):
    response = as_("nurse").post(url("measure_value_add", project.pk, measure.pk), value_data(note="Locum"))
    assert response["Location"] == measure.get_absolute_url() + "#data"
    saved = MeasureValue.objects.get()
    assert (saved.on, saved.period, saved.value, saved.note) == (
        date(2025, 3, 12),
        date(2025, 3, 10),
        Decimal("5.500"),
        "Locum",
    )


def test_adding_a_value_with_htmx_returns_a_fresh_row_and_the_rows_in_order(as_, project, measure, value):
    response = as_("nurse").post(
        url("measure_value_add", project.pk, measure.pk), value_data(on="2025-02-24"), headers=HTMX
    )
    assert response.status_code == 200
    assert response["HX-Trigger"] == "measure-changed"
    html = response.text
    assert html.strip().startswith('<tbody id="add-value-body">')
    assert '<tbody id="values-body" hx-swap-oob="true">' in html
    new = MeasureValue.objects.get(on=date(2025, 2, 24))
    assert html.index(f'id="value-{new.pk}"') < html.index(f'id="value-{value.pk}"')
    assert 'name="new-value"' in html and 'value="5.5"' not in html  # the add row is empty again


def test_a_refused_value_comes_back_in_the_add_row_with_its_message(as_, project, measure, value):
    client = as_("nurse")
    response = client.post(url("measure_value_add", project.pk, measure.pk), value_data(on="2025-03-05"), headers=HTMX)
    assert response.status_code == 422
    assert "The week of 3 March 2025 already has a value (4). Change that one instead." in response.text
    assert 'aria-invalid="true"' in response.text and 'value="2025-03-05"' in response.text
    response = client.post(url("measure_value_add", project.pk, measure.pk), value_data(value="six"))
    assert response.status_code == 200
    assert "Enter the value as a number." in response.text and 'value="six"' in response.text
    assert MeasureValue.objects.count() == 1


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"value": "-1"}, "-1 is negative, and a days cannot be."),
        ({"astronomical": "on"}, "Say why this point is astronomical."),
        ({"on": "2025-07-01"}, "The date cannot be in the future."),
        ({"on": "31/02/2025"}, "Enter a real date, like 3/3/2025."),
        ({"note": "x" * 301}, "Ensure this value has at most 300 characters (it has 301)."),
    ],
)
def test_bad_values_change_nothing(as_, project, measure, changes, message):
    response = as_("nurse").post(url("measure_value_add", project.pk, measure.pk), value_data(**changes), headers=HTMX)
    assert response.status_code == 422
    assert message in response.text
    assert not MeasureValue.objects.exists()


def test_a_row_turns_into_a_form_and_back(as_, project, measure, value):
    client = as_("nurse")
    html = client.get(url("measure_value_edit", project.pk, measure.pk, value.pk), headers=HTMX).text
    assert html.strip().startswith(f'<tr id="value-{value.pk}" class="value-editing">')
    assert f'id="value-{value.pk}-form"' in html and f'form="value-{value.pk}-form"' in html
    assert 'value="2025-03-03"' in html and 'value="4"' in html
    html = client.get(url("measure_value", project.pk, measure.pk, value.pk), headers=HTMX).text
    assert html.strip().startswith(f'<tr id="value-{value.pk}">') and "3 March 2025" in html


def test_saving_a_row_returns_it_and_asks_the_page_for_new_charts(as_, project, measure, value):
    data = value_data(f"value-{value.pk}", on="2025-03-04", value="3.25", note="Short staffed")
    response = as_("nurse").post(url("measure_value_edit", project.pk, measure.pk, value.pk), data, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Trigger"] == "measure-changed"
    assert "HX-Retarget" not in response
    assert "3.25" in response.text and "Short staffed" in response.text
    value.refresh_from_db()
    assert (value.on, value.value, value.note) == (date(2025, 3, 4), Decimal("3.250"), "Short staffed")


def test_moving_a_value_to_another_week_returns_every_row_in_order(as_, project, measure, value):
    earlier = weekly_values(measure, [6], start=date(2025, 2, 3))[0]
    data = value_data(f"value-{value.pk}", on="2025-01-06", value="4")
    response = as_("nurse").post(url("measure_value_edit", project.pk, measure.pk, value.pk), data, headers=HTMX)
    assert response["HX-Retarget"] == "#values-body"
    assert response.text.index(f'id="value-{value.pk}"') < response.text.index(f'id="value-{earlier.pk}"')


def test_a_refused_row_stays_a_form_with_its_message(as_, project, measure, value):
    weekly_values(measure, [6], start=date(2025, 3, 10))
    data = value_data(f"value-{value.pk}", on="2025-03-11", value="4")
    response = as_("nurse").post(url("measure_value_edit", project.pk, measure.pk, value.pk), data, headers=HTMX)
    assert response.status_code == 422
    assert "The week of 10 March 2025 already has a value (6). Change that one instead." in response.text
    value.refresh_from_db()
    assert value.on == date(2025, 3, 3)


def test_changing_a_value_without_javascript_is_a_page_of_its_own(as_, project, measure, value):
    client = as_("nurse")
    html = client.get(url("measure_value_edit", project.pk, measure.pk, value.pk)).text
    assert "<h1" in html and "Change the value for 3 March 2025" in html
    data = value_data(f"value-{value.pk}", on="2025-03-03", value="2")
    response = client.post(url("measure_value_edit", project.pk, measure.pk, value.pk), data)
    assert response["Location"] == measure.get_absolute_url() + "#data"


def test_removing_a_row(as_, project, measure, value):
    response = as_("nurse").post(url("measure_value_remove", project.pk, measure.pk, value.pk), headers=HTMX)
    assert (response.status_code, response.text, response["HX-Trigger"]) == (200, "", "measure-changed")
    assert not MeasureValue.objects.exists()


def test_the_analysis_fragment_has_the_charts_and_the_summary(as_, project, measure):
    weekly_values(measure, [4, 5, 6])
    html = as_("lead").get(url("measure_analysis", project.pk, measure.pk)).text
    assert "<html" not in html
    assert "What the run chart shows" in html and "What the XmR chart shows" in html


# Import and download


def test_pasted_data_is_added_and_the_page_shows_the_charts(as_, project, measure):
    text = "date,value,note\n03/03/2025,6.5,Locum week\n10/03/2025,4\n\n"
    response = as_("nurse").post(url("measure_import", project.pk, measure.pk), {"text": text})
    assert response["Location"] == measure.get_absolute_url() + "#analysis"
    assert list(MeasureValue.objects.values_list("value", flat=True)) == [Decimal("6.5"), Decimal("4")]


def test_an_uploaded_file_goes_through_the_same_parser(as_, project, measure):
    upload = SimpleUploadedFile("data.csv", "\ufeffdate,value\r\n2025-03-03,6\r\n".encode(), "text/csv")
    response = as_("nurse").post(url("measure_import", project.pk, measure.pk), {"file": upload, "text": ""})
    assert response.status_code == 302
    assert MeasureValue.objects.get().value == Decimal("6")


def test_bad_rows_are_listed_the_text_kept_and_nothing_saved(as_, project, measure, value):
    text = "03/03/2025,5\nsoon,4\n17/03/2025,x<b>\n24/03/2025,3\n"
    response = as_("nurse").post(url("measure_import", project.pk, measure.pk), {"text": text})
    assert response.status_code == 200
    html = response.text
    assert "Nothing was saved: 3 rows need fixing." in html
    assert "Line 1: week of 3 March 2025 already has a value (4); edit it in the table" in html
    assert "Line 2: “soon” is not a date: use dd/mm/yyyy or yyyy-mm-dd" in html
    assert "Line 3: “x&lt;b&gt;” is not a number" in html
    assert "17/03/2025,x&lt;b&gt;" in html  # the pasted text is kept, escaped
    assert MeasureValue.objects.count() == 1


def test_an_import_needs_something_to_read(as_, project, measure):
    html = as_("nurse").post(url("measure_import", project.pk, measure.pk), {"text": "  "}).text
    assert '<a href="#id_text">Paste the data, or choose a file to upload.</a>' in html


def test_a_file_too_large_is_refused_before_it_is_read(as_, project, measure):
    upload = SimpleUploadedFile("big.csv", b"2025-03-03,1\n" + b"x" * MAX_BYTES, "text/csv")
    html = as_("nurse").post(url("measure_import", project.pk, measure.pk), {"file": upload}).text
    assert "The file is larger than 1 MB. Split it into parts and upload each." in html
    assert not MeasureValue.objects.exists()


def test_a_file_that_is_not_text_is_refused(as_, project, measure):
    upload = SimpleUploadedFile("chart.xlsx", bytes([0x81, 0x8D, 0x8F, 0x90, 0x9D]), "application/octet-stream")
    html = as_("nurse").post(url("measure_import", project.pk, measure.pk), {"file": upload}).text
    assert "The file is not text. Save it from your spreadsheet as CSV (comma delimited)." in html


def test_the_download_is_a_csv_named_after_the_measure(as_, project, measure):
    weekly_values(measure, [6.5, 4], start=date(2025, 3, 3))
    MeasureValue.objects.filter(on=date(2025, 3, 10)).update(astronomical=True, astronomical_reason="IT outage")
    response = as_("lead").get(url("measure_csv", project.pk, measure.pk))
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="days-from-result-to-action.csv"'
    assert response.content.decode() == (
        "date,value,note,astronomical,astronomical_reason\r\n2025-03-03,6.5,,no,\r\n2025-03-10,4,,yes,IT outage\r\n"
    )


def test_a_downloaded_file_uploads_unchanged_to_another_measure(as_, project, measure):
    weekly_values(measure, [6.5, 4, 3], start=date(2025, 3, 3))
    MeasureValue.objects.filter(on=date(2025, 3, 10)).update(
        note="Locum, again", astronomical=True, astronomical_reason="IT"
    )
    client = as_("nurse")
    content = client.get(url("measure_csv", project.pk, measure.pk)).content
    other = MeasureFactory(project=project, frequency=Frequency.WEEKLY)
    upload = SimpleUploadedFile("days.csv", content, "text/csv")
    assert client.post(url("measure_import", project.pk, other.pk), {"file": upload}).status_code == 302
    fields = ("on", "value", "note", "astronomical", "astronomical_reason")
    assert list(other.values.values_list(*fields)) == list(measure.values.values_list(*fields))


def test_the_overview_summary_lists_the_measures_with_links(project, measure):
    from projects.measures import measures_for_overview
    from projects.tables import measures_html

    weekly_values(measure, [4, 3.5])
    html = measures_html(measures_for_overview(project))
    assert f'<a href="{measure.get_absolute_url()}">Days from result to action</a>' in html
    assert "2 points; latest 3.5 days on 13 January 2025" in html
    assert measures_html([]) == ""
