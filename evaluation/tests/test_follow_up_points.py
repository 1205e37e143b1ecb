"""The run chart marks the values entered at follow-up reviews: in its key, its drawing and its alt text."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from evaluation.services import ReviewDetails, record_review
from projects.chart_cache import chart_key, load_chart_data
from projects.charts import alt_text_run, draw_run_chart
from projects.models import ChartKind
from projects.series import run_analysis

from .conftest import SIX_MONTHS, noon


def review(project, six, by, value):
    measure = project.measures.get()
    details = ReviewDetails(
        held_on=SIX_MONTHS, sustained="sustained", attendees=list(project.team.all()), values={measure.pk: value}
    )
    record_review(follow_up=six, details=details, by=by)
    return measure


def test_a_value_entered_at_a_review_is_a_follow_up_point_of_the_series(programme, project, six, clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=1)))
    measure = review(project, six, programme.coach, Decimal("2"))
    series = load_chart_data(measure.pk).series
    assert series.follow_ups == ["", "", "", "", "", "", "6m"]
    assert series.dates[-1] == SIX_MONTHS and series.values[-1] == 2.0


def test_marking_a_point_changes_the_run_charts_key_only(programme, project):
    measure = project.measures.get()
    data = load_chart_data(measure.pk)
    plain = {kind: chart_key(measure, kind, data.series, data.cycles) for kind in ChartKind.values}
    measure.values.filter(pk=measure.values.last().pk).update(follow_up_kind="6m")
    marked_data = load_chart_data(measure.pk)
    marked = {kind: chart_key(measure, kind, marked_data.series, marked_data.cycles) for kind in ChartKind.values}
    assert marked[ChartKind.RUN] != plain[ChartKind.RUN]
    assert marked[ChartKind.XMR] == plain[ChartKind.XMR]


def test_the_run_chart_draws_and_names_the_follow_up_points(programme, project, six, clock):
    clock.move_to(noon(SIX_MONTHS + timedelta(days=1)))
    measure = review(project, six, programme.coach, Decimal("2.5"))
    series = load_chart_data(measure.pk).series
    figure = draw_run_chart(series, run_analysis(series), [], title=measure.name)
    labels = [text.get_text() for legend in figure.legends for text in legend.get_texts()]
    assert "Follow-up review" in labels
    assert "6m" in [text.get_text() for text in figure.axes[0].texts]
    text = alt_text_run(series, run_analysis(series))
    assert text.endswith("The 6-month follow-up review point, on 28 February 2026, is 2.5.")


def test_a_chart_without_follow_up_points_says_nothing_of_them(project):
    series = load_chart_data(project.measures.get().pk).series
    assert "follow-up" not in alt_text_run(series, run_analysis(series))
