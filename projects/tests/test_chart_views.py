"""A measure's charts: rendered after the data changes, cached by key, served with ETags, polled while pending."""

import re
from datetime import date, timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.urls import reverse
from django.utils import timezone

from projects import chart_cache, tasks
from projects.chart_cache import charts_for, load_chart_data, refresh_charts, request_charts, storage_name
from projects.models import Chart, MeasureValue, Step
from projects.models.improvement import period_start
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, PdsaCycleFactory, weekly_values

READERS = ["nurse", "manager", "coach", "lead"]
EDITORS = ["nurse", "manager", "coach"]
OUTSIDERS = ["sibling_nurse", "other_lead", "other_nurse", "finance"]
HTMX = {"HX-Request": "true"}
FAKE_DRAWING = (b"\x89PNG fake", b"<svg/>", "A fake chart.")
VALUES = [8, 9, 7, 8, 9, 8, 7, 8, 9, 8, 5, 4, 5, 4, 3, 4, 5, 4]


@pytest.fixture(autouse=True)
def storage(settings):
    """A fresh in-memory storage for each test, so no test finds another's chart files."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}
    return default_storage


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)


@pytest.fixture
def measure(project):
    measure = MeasureFactory(project=project, name="Days from result to action", target=Decimal("4"))
    weekly_values(measure, VALUES)
    return measure


@pytest.fixture
def as_(client, programme):
    def sign_in(who):
        client.force_login(getattr(programme, who))
        return client

    return sign_in


DRAWN: dict[str, tuple[bytes, bytes, str]] = {}
real_draw = chart_cache.draw


def draw_once(data, kind):
    """The real drawing, kept for the next test with the same data (each test has its own storage)."""
    key = chart_cache.chart_key(data.measure, kind, data.series, data.cycles)
    if key not in DRAWN:
        DRAWN[key] = real_draw(data, kind)
    return DRAWN[key]


@pytest.fixture
def charted(measure, django_capture_on_commit_callbacks):
    """The measure with both charts drawn, as saving its values would leave it."""
    with (
        mock.patch.object(chart_cache, "draw", side_effect=draw_once),
        django_capture_on_commit_callbacks(execute=True),
    ):
        request_charts(measure.pk)
    return measure


def status_url(measure, kind="run"):
    return reverse("projects:chart_status", args=[measure.project_id, measure.pk, kind])


def file_url(measure, kind="run", fmt="png"):
    return reverse("projects:chart_file", args=[measure.project_id, measure.pk, kind, fmt])


def chart(measure, kind="run"):
    return Chart.objects.get(measure=measure, kind=kind)


def add_value(measure, value, on):
    return MeasureValue.objects.create(measure=measure, on=on, period=period_start(on, measure.frequency), value=value)


def current_key(measure, kind="run"):
    data = load_chart_data(measure.pk)
    return chart_cache.chart_key(data.measure, kind, data.series, data.cycles)


# Rendering after the data changes


def test_requesting_charts_draws_both_and_stores_png_and_svg(charted, storage):
    for kind in ("run", "xmr"):
        row = chart(charted, kind)
        assert row.status == Chart.Status.READY and row.key == current_key(charted, kind)
        assert row.png == storage_name(row.key, kind, "png") and row.svg == storage_name(row.key, kind, "svg")
        assert storage.open(row.png).read().startswith(b"\x89PNG")
        assert b"<svg" in storage.open(row.svg).read()
        assert row.rendered_at is not None and row.error == ""
    shift = "A shift of 8 points below the median from 17 March 2025, in the direction of improvement"
    assert shift in chart(charted).alt
    assert "The target of 4 days" in chart(charted, "xmr").alt


def test_the_render_waits_for_the_transaction_to_commit(measure, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.render_chart, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            request_charts(measure.pk)
        assert not delay.called and not Chart.objects.exists()
        for callback in callbacks:
            callback()
    assert sorted(call.args[1] for call in delay.call_args_list) == ["run", "xmr"]
    assert set(Chart.objects.values_list("status", flat=True)) == {Chart.Status.PENDING}


def test_the_ready_partial_shows_the_image_with_alt_text_and_downloads(as_, charted):
    response = as_("nurse").get(status_url(charted), headers=HTMX)
    assert response.status_code == 200
    row, html = chart(charted), response.text
    image = re.search(r'<img src="(/charts/[^"]+)" alt="([^"]*)" width="800" height="400"', html)
    assert image and image[2] == row.alt
    signed = as_("nurse").get(image[1])
    assert signed.status_code == 200 and signed["Content-Type"] == "image/png" and signed["ETag"] == f'"{row.key}"'
    assert f'href="{file_url(charted)}?v={row.key}&amp;download=1" download>Download PNG' in html
    assert f'href="{file_url(charted, fmt="svg")}?v={row.key}&amp;download=1" download>Download SVG' in html
    assert "hx-get" not in html


def test_the_png_is_served_with_its_key_as_etag_and_cached_for_ever(as_, charted, storage):
    row = chart(charted)
    response = as_("lead").get(file_url(charted), {"v": row.key})
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert response["ETag"] == f'"{row.key}"'
    assert response["Cache-Control"] == "private, max-age=31536000, immutable"
    assert response.content == storage.open(row.png).read()
    assert "Content-Disposition" not in response


def test_without_the_key_in_the_url_the_file_must_be_revalidated(as_, charted):
    response = as_("nurse").get(file_url(charted, "xmr", "svg"))
    assert response["Content-Type"] == "image/svg+xml"
    assert response["Cache-Control"] == "private, no-cache"
    assert "script-src" not in response["Content-Security-Policy"]
    assert response["Content-Security-Policy"].startswith("default-src 'none'")


def test_a_known_etag_gets_not_modified(as_, charted):
    row = chart(charted)
    response = as_("nurse").get(file_url(charted), headers={"If-None-Match": f'"{row.key}"'})
    assert response.status_code == 304 and response.content == b""
    assert response["ETag"] == f'"{row.key}"'
    other = as_("nurse").get(file_url(charted), headers={"If-None-Match": '"0123"'})
    assert other.status_code == 200


def test_a_download_is_an_attachment_named_after_the_measure(as_, charted):
    row = chart(charted, "xmr")
    response = as_("nurse").get(file_url(charted, "xmr", "svg"), {"v": row.key, "download": "1"})
    assert response["Content-Disposition"] == 'attachment; filename="days-from-result-to-action-xmr-chart.svg"'


def test_unknown_kinds_and_formats_are_not_found(as_, charted):
    client = as_("nurse")
    assert client.get(status_url(charted, "pie")).status_code == 404
    assert client.get(file_url(charted, "pie", "png")).status_code == 404
    assert client.get(file_url(charted, "run", "gif")).status_code == 404
    assert client.get(file_url(charted, "run", "png.png")).status_code == 404


# Never stale, never twice


def test_a_chart_whose_data_changed_shows_as_pending_and_never_the_old_image(
    as_, charted, django_capture_on_commit_callbacks
):
    old = chart(charted)
    with mock.patch.object(tasks.render_chart, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            add_value(charted, Decimal("3"), date(2025, 5, 12))
            request_charts(charted.pk)
        html = as_("nurse").get(status_url(charted), headers=HTMX).text
    new_key = current_key(charted)
    delay.assert_any_call(charted.pk, "run", new_key)
    assert chart(charted).status == Chart.Status.PENDING and chart(charted).key == new_key
    assert f'hx-get="{status_url(charted)}" hx-trigger="every 1s" hx-swap="outerHTML"' in html
    assert "<img" not in html and old.key not in html and "Drawing the run chart" in html
    assert as_("nurse").get(file_url(charted), {"v": old.key}).status_code == 404


def test_data_changed_without_a_request_is_pending_on_the_page_and_requested_again(
    charted, django_capture_on_commit_callbacks
):
    add_value(charted, Decimal("3"), date(2025, 5, 12))  # as if the writer's request was lost
    with mock.patch.object(tasks.render_chart, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        views = charts_for(charted)
    assert views["run"].status == views["xmr"].status == "pending"
    assert views["run"].png_url == ""
    assert sorted(call.args[1] for call in delay.call_args_list) == ["run", "xmr"]


def test_an_unchanged_chart_is_not_rendered_again(charted, django_capture_on_commit_callbacks):
    with (
        mock.patch.object(tasks.render_chart, "delay") as delay,
        mock.patch.object(chart_cache, "draw") as draw,
        django_capture_on_commit_callbacks(execute=True),
    ):
        request_charts(charted.pk)
        request_charts(charted.pk)
        MeasureValue.objects.filter(measure=charted).update(note="Locum week")  # notes are not drawn
        request_charts(charted.pk)
        views = charts_for(charted)
    assert not delay.called and not draw.called
    assert views["run"].status == views["xmr"].status == "ready"


def test_data_back_to_an_earlier_state_reuses_the_stored_files(charted, django_capture_on_commit_callbacks):
    first = chart(charted)
    with django_capture_on_commit_callbacks(execute=True):
        extra = add_value(charted, Decimal("3"), date(2025, 5, 12))
        request_charts(charted.pk)
    assert chart(charted).key != first.key and chart(charted).status == Chart.Status.READY
    with mock.patch.object(chart_cache, "draw") as draw, django_capture_on_commit_callbacks(execute=True):
        extra.delete()
        request_charts(charted.pk)
    assert not draw.called
    back = chart(charted)
    assert (back.key, back.status, back.png, back.alt) == (first.key, Chart.Status.READY, first.png, first.alt)


def test_a_cycle_date_change_redraws_only_the_run_chart(charted, django_capture_on_commit_callbacks):
    with mock.patch.object(tasks.render_chart, "delay") as delay:
        with django_capture_on_commit_callbacks(execute=True):
            cycle = PdsaCycleFactory(project=charted.project, change_idea__project=charted.project)
            request_charts(charted.pk)
        with django_capture_on_commit_callbacks(execute=True):
            cycle.actual_end = cycle.planned_end + timedelta(weeks=2)
            cycle.save()
            request_charts(charted.pk)
    assert [call.args[1] for call in delay.call_args_list] == ["run", "run"]


def test_the_render_task_ignores_an_outdated_key(charted):
    before = chart(charted)
    with mock.patch.object(chart_cache, "draw") as draw:
        assert tasks.render_chart.delay(charted.pk, "run", "0" * 64).get() == "outdated"
    assert not draw.called
    after = chart(charted)
    assert (after.key, after.status, after.png) == (before.key, before.status, before.png)


def test_a_slow_render_of_older_data_never_overwrites_a_newer_request(measure):
    key = current_key(measure)
    Chart.objects.create(measure=measure, kind="run", key=key)

    def draw_while_the_data_changes(data, kind):
        Chart.objects.filter(measure=measure, kind=kind).update(key="f" * 64, status=Chart.Status.PENDING)
        return real_draw(data, kind)

    with mock.patch.object(chart_cache, "draw", side_effect=draw_while_the_data_changes):
        assert tasks.render_chart(measure.pk, "run", key) == "drawn"
    row = chart(measure)
    assert (row.key, row.status, row.png) == ("f" * 64, Chart.Status.PENDING, "")


def test_a_repeated_delivery_of_a_drawn_chart_does_nothing(charted):
    with mock.patch.object(chart_cache, "draw") as draw:
        assert tasks.render_chart(charted.pk, "xmr", chart(charted, "xmr").key) == "already drawn"
    assert not draw.called


def test_a_pending_chart_older_than_a_minute_is_queued_again(charted, storage, django_capture_on_commit_callbacks):
    for row in Chart.objects.filter(measure=charted):
        storage.delete(row.png)
    Chart.objects.filter(measure=charted).update(
        status=Chart.Status.PENDING, requested_at=timezone.now() - timedelta(minutes=2)
    )
    with mock.patch.object(tasks.render_chart, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        assert charts_for(charted)["run"].status == "pending"
    assert sorted(call.args[1] for call in delay.call_args_list) == ["run", "xmr"]
    assert chart(charted).requested_at > timezone.now() - timedelta(minutes=1)


def test_the_sweep_queues_again_only_charts_pending_for_too_long(project, measure, charted, storage):
    for row in Chart.objects.filter(measure=measure):
        storage.delete(row.png)
    fresh = MeasureFactory(project=project)
    weekly_values(fresh, [1, 2, 3])
    Chart.objects.create(measure=fresh, kind="run", key="a" * 64)
    Chart.objects.filter(measure=measure).update(
        status=Chart.Status.PENDING, key="b" * 64, requested_at=timezone.now() - timedelta(minutes=5)
    )
    with mock.patch.object(tasks.render_chart, "delay") as delay:
        assert tasks.requeue_lost_charts() == 1
    assert sorted((call.args[0], call.args[1]) for call in delay.call_args_list) == [
        (measure.pk, "run"),
        (measure.pk, "xmr"),
    ]


def test_a_lost_render_whose_files_were_stored_is_marked_ready_without_drawing(
    charted, django_capture_on_commit_callbacks
):
    Chart.objects.filter(measure=charted).update(
        status=Chart.Status.PENDING, requested_at=timezone.now() - timedelta(minutes=2)
    )
    with mock.patch.object(chart_cache, "draw") as draw, django_capture_on_commit_callbacks(execute=True):
        charts_for(charted)
    assert not draw.called
    assert set(Chart.objects.filter(measure=charted).values_list("status", flat=True)) == {Chart.Status.READY}


def test_a_recent_pending_chart_is_not_queued_again_by_polling(charted, django_capture_on_commit_callbacks):
    Chart.objects.filter(measure=charted).update(status=Chart.Status.PENDING)
    with mock.patch.object(tasks.render_chart, "delay") as delay, django_capture_on_commit_callbacks(execute=True):
        charts_for(charted)
        charts_for(charted)
    assert not delay.called


# Empty and failed


def test_a_measure_without_values_has_no_chart(as_, charted, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        MeasureValue.objects.filter(measure=charted).delete()
        request_charts(charted.pk)
    assert not Chart.objects.filter(measure=charted).exists()
    assert charts_for(charted)["xmr"].status == "empty"
    html = as_("nurse").get(status_url(charted, "xmr"), headers=HTMX).text
    assert "Add data to see the chart." in html and "hx-get" not in html


def test_a_failed_render_is_marked_with_its_error_and_shows_a_retry_to_editors(
    as_, measure, django_capture_on_commit_callbacks
):
    broken = mock.patch.object(chart_cache, "draw_run_chart", side_effect=ValueError("no room for the legend"))
    with broken, pytest.raises(ValueError), django_capture_on_commit_callbacks(execute=True):
        request_charts(measure.pk)
    row = chart(measure)
    assert row.status == Chart.Status.FAILED and row.error == "ValueError: no room for the legend"
    html = as_("nurse").get(status_url(measure), headers=HTMX).text
    assert "The run chart could not be drawn." in html
    assert f'hx-post="{status_url(measure)}"' in html and "Try again</button>" in html
    assert "no room for the legend" not in html
    lead = as_("lead").get(status_url(measure), headers=HTMX).text
    assert "could not be drawn" in lead and "Try again" not in lead


def test_an_editor_retries_a_failed_chart(as_, measure):
    Chart.objects.create(measure=measure, kind="run", key=current_key(measure), status=Chart.Status.FAILED)
    response = as_("coach").post(status_url(measure), headers=HTMX)
    assert response.status_code == 200
    assert chart(measure).status == Chart.Status.READY
    assert "<img" in response.text and "could not be drawn" not in response.text


def test_a_retry_shows_the_chart_pending_while_the_worker_draws_it(as_, measure):
    Chart.objects.create(measure=measure, kind="xmr", key=current_key(measure, "xmr"), status=Chart.Status.FAILED)
    with mock.patch.object(tasks.render_chart, "delay") as delay:
        response = as_("nurse").post(status_url(measure, "xmr"), headers=HTMX)
    delay.assert_any_call(measure.pk, "xmr", current_key(measure, "xmr"))
    assert 'hx-trigger="every 1s"' in response.text and chart(measure, "xmr").status == Chart.Status.PENDING
    assert "Drawing the XmR chart…" in response.text


def test_a_retry_without_javascript_goes_back_to_the_page(as_, measure):
    Chart.objects.create(measure=measure, kind="run", key=current_key(measure), status=Chart.Status.FAILED)
    with mock.patch.object(tasks.render_chart, "delay"):
        response = as_("nurse").post(status_url(measure))
    assert response.status_code == 302


def test_the_lead_cannot_retry(as_, measure):
    Chart.objects.create(measure=measure, kind="run", key=current_key(measure), status=Chart.Status.FAILED)
    assert as_("lead").post(status_url(measure), headers=HTMX).status_code == 404
    assert chart(measure).status == Chart.Status.FAILED


# Access


@pytest.mark.parametrize("who", READERS)
def test_the_team_coach_and_lead_see_the_charts(as_, charted, who):
    client = as_(who)
    assert client.get(status_url(charted, "xmr")).status_code == 200
    assert client.get(file_url(charted, "xmr", "svg")).status_code == 200


@pytest.mark.parametrize("who", OUTSIDERS)
def test_others_get_not_found(as_, charted, who):
    client = as_(who)
    assert client.get(status_url(charted)).status_code == 404
    assert client.get(file_url(charted)).status_code == 404
    assert client.post(status_url(charted), headers=HTMX).status_code == 404


def test_a_measure_of_another_project_is_not_found_through_this_projects_url(as_, charted, programme):
    mine = ProjectFactory(practice=programme.practice, lead_coach=programme.coach, step=Step.TREAT)
    client = as_("nurse")
    for url in (status_url(charted), file_url(charted)):
        assert client.get(url.replace(f"/{charted.project_id}/", f"/{mine.pk}/", 1)).status_code == 404


@pytest.mark.parametrize("extra", [0, 60])
def test_the_page_helper_reads_three_queries_whatever_the_data(charted, extra, django_assert_num_queries):
    if extra:
        weekly_values(charted, list(range(extra)), start=date(2026, 1, 5))
        with mock.patch.object(chart_cache, "draw", return_value=FAKE_DRAWING):
            refresh_charts(charted.pk)
    with django_assert_num_queries(3):
        views = charts_for(charted)
    assert views["run"].status == views["xmr"].status == "ready"


def test_the_page_helper_takes_what_the_page_has_read(charted, django_assert_num_queries):
    measure = type(charted).objects.prefetch_related("values", "charts").get(pk=charted.pk)
    with django_assert_num_queries(0):
        views = charts_for(measure, cycles=[])
    assert views["xmr"].status == "ready"


@pytest.mark.parametrize("extra", [0, 80])
def test_serving_a_file_costs_the_same_queries_whatever_the_data(as_, charted, extra, django_assert_max_num_queries):
    if extra:
        weekly_values(charted, list(range(extra)), start=date(2026, 1, 5))
        with mock.patch.object(chart_cache, "draw", return_value=FAKE_DRAWING):
            refresh_charts(charted.pk)
    client = as_("nurse")
    client.get(file_url(charted))  # the session and roles are loaded once
    with django_assert_max_num_queries(3):  # session, user, and the chart row in scope (2 with a cached session)
        assert client.get(file_url(charted)).status_code == 200


def test_stored_files_are_content_addressed_and_kept_once(charted, storage):
    row = chart(charted)
    assert chart_cache.store(row.key, "run", "png", b"other bytes") == row.png
    assert storage.open(row.png).read().startswith(b"\x89PNG")
