"""A measure's stored improvement signal: what its XmR chart's latest point says, kept current by every write."""

from datetime import date, timedelta
from decimal import Decimal
from importlib import import_module

import pytest
import time_machine
from django.apps import apps as django_apps

from projects.measures import (
    MeasureDetails,
    ValueDetails,
    add_value,
    import_values,
    improvement_signal_of,
    remove_value,
    update_measure,
    update_value,
)
from projects.models import Direction, Frequency, Measure, MeasureKind, Unit
from projects.models.improvement import ImprovementSignal
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, weekly_values

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 30)
START = date(2025, 1, 6)
BASELINE = [10, 11, 9, 10, 11, 10, 9, 10]  # mean 10, narrow limits


@pytest.fixture(autouse=True)
def frozen(monkeypatch):
    monkeypatch.setattr("projects.chart_cache.request_charts", lambda pk: None)
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def measure(programme):
    project = ProjectFactory(practice=programme.practice, lead_coach=programme.coach)
    measure = MeasureFactory(project=project, name="Days waiting", direction=Direction.DOWN, baseline_points=8)
    weekly_values(measure, BASELINE, start=START)
    return measure


def signal(measure: Measure) -> str:
    measure.refresh_from_db()
    return measure.improvement_signal


def week(n: int) -> date:
    return START + timedelta(weeks=n)


def test_the_rule_reads_the_latest_point_in_the_direction_of_improvement():
    falling = [*BASELINE, 4]
    assert improvement_signal_of(falling, direction="down", baseline=8) == ImprovementSignal.IMPROVING
    assert improvement_signal_of(falling, direction="up", baseline=8) == ImprovementSignal.WORSENING
    assert improvement_signal_of([*BASELINE, 10], direction="down", baseline=8) == ImprovementSignal.NONE


def test_no_direction_or_too_few_points_gives_no_signal():
    assert improvement_signal_of([*BASELINE, 4], direction="", baseline=8) == ImprovementSignal.UNKNOWN
    assert improvement_signal_of([5], direction="down", baseline=None) == ImprovementSignal.UNKNOWN
    assert improvement_signal_of([], direction="down", baseline=None) == ImprovementSignal.UNKNOWN


def test_adding_a_value_beyond_the_limits_in_the_better_direction_makes_it_improving(programme, measure):
    add_value(measure=measure, details=ValueDetails(on=week(8), value=Decimal("3")), by=programme.nurse)
    assert signal(measure) == ImprovementSignal.IMPROVING


def test_updating_and_removing_the_value_bring_the_signal_back(programme, measure):
    value = add_value(measure=measure, details=ValueDetails(on=week(8), value=Decimal("3")), by=programme.nurse)

    update_value(value=value, details=ValueDetails(on=week(8), value=Decimal("17")), by=programme.nurse)
    assert signal(measure) == ImprovementSignal.WORSENING

    update_value(value=value, details=ValueDetails(on=week(8), value=Decimal("10")), by=programme.nurse)
    assert signal(measure) == ImprovementSignal.NONE

    update_value(value=value, details=ValueDetails(on=week(8), value=Decimal("2")), by=programme.nurse)
    remove_value(value=value, by=programme.nurse)
    assert signal(measure) == ImprovementSignal.NONE


def test_an_import_recomputes_it(programme, measure):
    import_values(measure=measure, text=f"{week(8):%d/%m/%Y},2\n{week(9):%d/%m/%Y},2", by=programme.nurse)
    assert signal(measure) == ImprovementSignal.IMPROVING


def test_changing_the_direction_or_the_baseline_recomputes_it(programme, measure):
    add_value(measure=measure, details=ValueDetails(on=week(8), value=Decimal("6")), by=programme.nurse)
    assert signal(measure) == ImprovementSignal.IMPROVING

    def change(**fields):
        values = {
            "name": measure.name, "kind": MeasureKind.OUTCOME, "definition": "Days.", "unit": Unit.DAYS,
            "direction": Direction.DOWN, "frequency": Frequency.WEEKLY, "baseline_points": 8,
        } | fields  # fmt: skip
        update_measure(measure=measure, details=MeasureDetails(**values), by=programme.nurse)

    change(direction=Direction.UP)
    assert signal(measure) == ImprovementSignal.WORSENING
    change(direction=Direction.NEITHER)
    assert signal(measure) == ImprovementSignal.UNKNOWN
    change(direction=Direction.DOWN, baseline_points=None)  # limits from all nine points: 6 is inside them
    assert signal(measure) == ImprovementSignal.NONE


def test_the_data_migration_fills_existing_measures(measure):
    other = MeasureFactory(project=measure.project, name="No direction", direction="")
    weekly_values(other, [1, 2, 3])
    weekly_values(measure, [3], start=week(8))
    Measure.objects.update(improvement_signal="")

    migration = import_module("projects.migrations.0006_measure_improvement_signal")
    migration.fill_signals(django_apps, None)

    assert signal(measure) == ImprovementSignal.IMPROVING
    assert signal(other) == ImprovementSignal.UNKNOWN
