"""Report charts: keyed by their figures, asked for in constant queries, drawn once, failures kept, lost ones redone."""

from __future__ import annotations

import logging
from datetime import timedelta
from unittest import mock

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from evaluation import report_charts
from evaluation.models import RenderStatus, ReportChart
from evaluation.report_charts import (
    chart_key,
    chart_size,
    chart_view,
    chart_views,
    describe,
    draw_png,
    render_and_store,
    storage_name,
)
from evaluation.reporting import ChartSeries, ChartSpec

PNG = b"\x89PNG\r\n\x1a\n"


def spec(
    values=(12, 5, 3), *, kind="bar", slug="typology", series=1, percent=False, alt="Process-driven leads."
) -> ChartSpec:
    categories = tuple(f"Category {i + 1}" for i in range(len(values)))
    return ChartSpec(
        slug=slug,
        title="Projects by primary category",
        kind=kind,
        categories=categories,
        series=tuple(ChartSeries(f"Series {n + 1}", tuple(values)) for n in range(series)),
        alt=alt,
        x_label="Category",
        y_label="Projects",
        percent=percent,
    )


def many(count: int) -> list[ChartSpec]:
    return [spec((i + 1, 2, 3), slug=f"chart-{i}") for i in range(count)]


@pytest.fixture(autouse=True)
def storage(settings):
    """A fresh in-memory storage for each test: charts drawn by one test are not another's."""
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"}}


@pytest.fixture
def published():
    with mock.patch.object(report_charts, "publish") as publish:
        yield publish


def queued_keys(publish: mock.Mock) -> list[str]:
    return [call.args[1] for call in publish.call_args_list]


# Keys


def test_the_same_figures_give_the_same_key(programme):
    assert chart_key(spec(), programme.commissioner.pk) == chart_key(spec(), programme.commissioner.pk)


def test_changed_figures_give_a_new_key(programme):
    pk = programme.commissioner.pk
    assert chart_key(spec((12, 5, 3)), pk) != chart_key(spec((12, 5, 4)), pk)
    assert chart_key(spec(), pk) != chart_key(spec(alt="Other words."), pk)


def test_another_commissioner_never_shares_a_key(programme):
    assert chart_key(spec(), programme.commissioner.pk) != chart_key(spec(), programme.other_commissioner.pk)


def test_a_new_drawing_code_version_gives_a_new_key(programme, monkeypatch):
    before = chart_key(spec(), programme.commissioner.pk)
    monkeypatch.setattr(report_charts, "REPORT_CHART_VERSION", "next")
    assert chart_key(spec(), programme.commissioner.pk) != before


def test_decimal_figures_key_like_the_numbers_they_are(programme):
    from decimal import Decimal

    as_decimal = spec((Decimal("12.5"), Decimal("5"), Decimal("3")))  # type: ignore[arg-type]
    assert chart_key(as_decimal, programme.commissioner.pk) == chart_key(
        spec((12.5, 5.0, 3.0)), programme.commissioner.pk
    )


# Drawing


@pytest.mark.parametrize("kind", ChartSpec.KINDS)
@pytest.mark.parametrize("series", [1, 3])
def test_each_kind_draws_a_png(kind, series):
    png = draw_png(spec((40.0, 35.5, 24.5), kind=kind, series=series, percent=kind == "stacked"))
    assert png.startswith(PNG) and len(png) > 5000


def test_the_same_spec_draws_the_same_bytes():
    assert draw_png(spec(kind="grouped", series=2)) == draw_png(spec(kind="grouped", series=2))


def test_negative_changes_and_many_categories_draw():
    png = draw_png(spec(tuple((i % 7) - 3 for i in range(40)), kind="bar"))
    assert png.startswith(PNG)


def test_an_empty_spec_draws_a_plain_message_rather_than_failing():
    assert draw_png(spec((0, 0, 0))).startswith(PNG)


def test_a_horizontal_bar_chart_grows_with_its_categories():
    assert chart_size(spec((1, 2, 3), kind="barh")) == (800, 400)
    assert chart_size(spec(tuple(range(1, 31)), kind="barh"))[1] > 400
    assert chart_size(spec(tuple(range(1, 300)), kind="barh"))[1] == report_charts.MAX_HEIGHT


def test_a_spec_without_alt_text_is_described_from_its_figures():
    words = describe(spec((12, 5, 3), alt=""))
    assert "largest is Category 1 (12)" in words and "smallest is Category 3 (3)" in words


# Asking for charts


def test_a_page_asks_for_new_charts_once_and_queues_their_drawing_on_commit(
    programme, published, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        views = chart_views([spec()], programme.commissioner)
    [view] = views
    row = ReportChart.objects.get()
    assert (view.status, view.key, row.key, row.status) == ("pending", row.key, view.key, RenderStatus.QUEUED)
    assert row.commissioner == programme.commissioner and row.spec["title"] == "Projects by primary category"
    assert view.alt == "Process-driven leads." and view.poll_url == f"/programme/charts/{row.key}/"
    assert queued_keys(published) == [row.key]
    with django_capture_on_commit_callbacks(execute=True):
        chart_views([spec()], programme.commissioner)
    assert ReportChart.objects.count() == 1 and published.call_count == 1  # asked again: not queued twice


def test_an_empty_chart_is_not_drawn(programme, published, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        [view] = chart_views([spec((0, 0, 0))], programme.commissioner)
    assert view.status == "empty" and view.poll_url == "" and view.img_url == ""
    assert not ReportChart.objects.exists() and not published.called


@pytest.mark.parametrize("count", [1, 5])
def test_asking_for_charts_takes_the_same_queries_however_many(programme, published, count, django_assert_num_queries):
    with django_assert_num_queries(2):  # one SELECT, one INSERT of the new ones
        chart_views(many(count), programme.commissioner)
    with django_assert_num_queries(1):  # known: one SELECT
        views = chart_views(many(count), programme.commissioner)
    assert [view.status for view in views] == ["pending"] * count


def test_with_a_worker_in_process_the_chart_is_drawn_and_shown(programme, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):  # Celery runs eagerly in the tests
        [view] = chart_views([spec()], programme.commissioner)
    [view] = chart_views([spec()], programme.commissioner)
    assert view.status == "ready" and view.img_url.startswith("/charts/")
    with default_storage.open(storage_name(view.key)) as stored:
        assert stored.read().startswith(PNG)


def test_a_chart_still_queued_after_a_minute_is_queued_again(programme, published, django_capture_on_commit_callbacks):
    chart_views([spec()], programme.commissioner)
    row = ReportChart.objects.get()
    ReportChart.objects.update(requested_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        chart_views([spec()], programme.commissioner)
    assert queued_keys(published) == [row.key]
    row.refresh_from_db()
    assert row.requested_at > timezone.now() - timedelta(seconds=30)  # asked again now: not queued on every page


def test_a_chart_queued_less_than_a_minute_ago_is_left_to_its_worker(
    programme, published, django_capture_on_commit_callbacks
):
    chart_views([spec()], programme.commissioner)
    ReportChart.objects.update(requested_at=timezone.now() - timedelta(seconds=20))
    with django_capture_on_commit_callbacks(execute=True):
        chart_views([spec()], programme.commissioner)
    assert not published.called


def test_polling_a_lost_chart_queues_it_again(programme, published, django_capture_on_commit_callbacks):
    chart_views([spec()], programme.commissioner)
    ReportChart.objects.update(requested_at=timezone.now() - timedelta(minutes=2))
    with django_capture_on_commit_callbacks(execute=True):
        view = chart_view(ReportChart.objects.get())
    assert view.status == "pending" and queued_keys(published) == [view.key]


def test_a_broker_that_is_down_leaves_the_chart_queued_for_the_next_page(programme, django_capture_on_commit_callbacks):
    from kombu.exceptions import OperationalError

    with (
        mock.patch("evaluation.tasks.render_report_chart.delay", side_effect=OperationalError("down")),
        django_capture_on_commit_callbacks(execute=True),
    ):
        [view] = chart_views([spec()], programme.commissioner)
    assert view.status == "pending" and ReportChart.objects.get().status == RenderStatus.QUEUED


# Drawing and storing


def test_the_worker_draws_and_stores_the_chart_once(programme, published):
    chart_views([spec()], programme.commissioner)
    row = ReportChart.objects.get()
    assert render_and_store(row.key) == "drawn"
    row.refresh_from_db()
    assert row.status == RenderStatus.READY and row.rendered_at is not None and row.error == ""
    assert default_storage.exists(row.file_name) and row.file_name == storage_name(row.key)
    with mock.patch.object(report_charts, "draw_png") as draw:
        assert render_and_store(row.key) == "already drawn"
    assert not draw.called


def test_a_drawing_error_marks_the_chart_failed_and_is_logged(programme, published, caplog):
    chart_views([spec()], programme.commissioner)
    row = ReportChart.objects.get()
    with (
        mock.patch.object(report_charts, "draw_png", side_effect=ValueError("x" * 1000)),
        caplog.at_level(logging.ERROR, logger="evaluation.report_charts"),
    ):
        assert render_and_store(row.key) == "failed"
    row.refresh_from_db()
    assert row.status == RenderStatus.FAILED and row.error.startswith("ValueError: xxx") and len(row.error) == 300
    assert "Drawing the report chart" in caplog.text
    assert not default_storage.exists(row.file_name)
    [view] = chart_views([spec()], programme.commissioner)
    assert view.status == "failed" and view.img_url == ""


def test_a_key_nobody_asked_for_is_gone(db):
    assert render_and_store("f" * 64) == "gone"


def test_a_ready_chart_links_to_its_signed_image(client, programme, published):
    chart_views([spec()], programme.commissioner)
    render_and_store(ReportChart.objects.get().key)
    [view] = chart_views([spec()], programme.commissioner)
    response = client.get(view.img_url)  # no sign-in: the signature is the permission
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content if response.streaming else [response.content]).startswith(PNG)
