"""Measures and their values: what the services allow, what they refuse and where they say so, audits and charts."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine

from microsystems.models import AuditEntry
from projects.measures import (
    ImportRefused,
    MeasureDetails,
    ValueDetails,
    add_value,
    amount,
    analysis_summary,
    create_measure,
    import_values,
    measures_for_overview,
    remove_measure,
    remove_value,
    update_measure,
    update_value,
)
from projects.models import Frequency, Measure, MeasureKind, MeasureValue, SpecificAim, Unit
from projects.services import ProjectError
from projects.tests.factories import ProjectFactory
from projects.tests.improvement_factories import MeasureFactory, MeasureValueFactory, weekly_values

pytestmark = pytest.mark.django_db

TODAY = date(2025, 6, 30)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(TODAY, tick=False):
        yield


@pytest.fixture
def charts(monkeypatch):
    """The measures whose charts were requested, in order."""
    requested: list[int] = []
    monkeypatch.setattr("projects.chart_cache.request_charts", requested.append)
    return requested


@pytest.fixture
def project(programme):
    return ProjectFactory(practice=programme.practice, lead_coach=programme.coach)


@pytest.fixture
def nurse(programme):
    return programme.nurse


def details(**changes):
    base = {
        "name": "Days from result to action",
        "kind": MeasureKind.OUTCOME,
        "definition": "Working days from a result arriving to a GP filing it.",
        "unit": Unit.DAYS,
        "direction": "down",
        "frequency": Frequency.WEEKLY,
    }
    return MeasureDetails(**{**base, **changes})


def refused(call, field):
    with pytest.raises(ProjectError) as caught:
        call()
    assert caught.value.field == field, str(caught.value)
    return str(caught.value)


def actions(subject):
    return list(AuditEntry.objects.filter(object_id=str(subject.pk)).values_list("action", flat=True))


# Measures


def test_a_measure_is_created_audited_and_its_charts_requested(project, nurse, charts):
    measure = create_measure(project=project, details=details(target=Decimal("2"), baseline_points=8), by=nurse)
    assert (measure.name, measure.unit, measure.target, measure.baseline_points) == (
        "Days from result to action",
        Unit.DAYS,
        Decimal("2.000"),
        8,
    )
    assert measure.created_by == nurse
    entry = AuditEntry.objects.get(action="measure.created")
    assert (entry.actor, entry.summary, entry.changes["target"]) == (nurse, "Days from result to action", "2")
    assert charts == [measure.pk]


def test_a_name_is_unique_in_the_project_whatever_its_case(project, nurse, charts):
    create_measure(project=project, details=details(), by=nurse)
    message = refused(
        lambda: create_measure(project=project, details=details(name="  days FROM result to action "), by=nurse),
        "name",
    )
    assert message == "The project already has a measure called “days FROM result to action”. Choose another name."
    other = ProjectFactory(practice=project.practice)
    assert create_measure(project=other, details=details(), by=nurse).pk


def test_a_measure_can_keep_its_own_name_when_changed(project, nurse, charts):
    measure = create_measure(project=project, details=details(), by=nurse)
    update_measure(measure=measure, details=details(definition="Calendar days."), by=nurse)
    measure.refresh_from_db()
    assert measure.definition == "Calendar days."
    entry = AuditEntry.objects.get(action="measure.updated")
    assert entry.changes == {"definition": ["Working days from a result arriving to a GP filing it.", "Calendar days."]}
    assert charts == [measure.pk, measure.pk]


def test_the_baseline_is_the_first_points_or_a_date_range_not_both(project, nurse):
    both = details(baseline_points=8, baseline_from=date(2025, 1, 6), baseline_to=date(2025, 3, 1))
    assert "not both" in refused(lambda: create_measure(project=project, details=both, by=nurse), "baseline")
    half = details(baseline_from=date(2025, 1, 6))
    assert refused(lambda: create_measure(project=project, details=half, by=nurse), "baseline_to")
    backwards = details(baseline_from=date(2025, 3, 1), baseline_to=date(2025, 1, 6))
    message = refused(lambda: create_measure(project=project, details=backwards, by=nurse), "baseline_to")
    assert message == "The end of the baseline must be after its start."
    one = details(baseline_points=1)
    assert refused(lambda: create_measure(project=project, details=one, by=nurse), "baseline_points")
    assert not Measure.objects.exists()


def test_a_date_range_baseline_is_kept(project, nurse, charts):
    ranged = details(baseline_from=date(2025, 1, 6), baseline_to=date(2025, 2, 24))
    measure = create_measure(project=project, details=ranged, by=nurse)
    assert (measure.baseline_from, measure.baseline_to, measure.baseline_points) == (
        date(2025, 1, 6),
        date(2025, 2, 24),
        None,
    )


def test_a_percentage_target_is_between_0_and_100(project, nurse):
    over = details(unit=Unit.PERCENTAGE, target=Decimal("120"))
    message = refused(lambda: create_measure(project=project, details=over, by=nurse), "target")
    assert message == "The target cannot be used: 120 is outside 0 to 100 for a percentage."
    negative = details(target=Decimal("-1"))
    assert refused(lambda: create_measure(project=project, details=negative, by=nurse), "target")


def test_a_specific_aim_must_be_the_projects(project, nurse):
    other = ProjectFactory(practice=project.practice)
    aim = SpecificAim.objects.create(
        project=other, measure="Results in 2 days", baseline="60%", target="90%", target_date=date(2025, 9, 1)
    )
    message = refused(
        lambda: create_measure(project=project, details=details(specific_aim=aim), by=nurse), "specific_aim"
    )
    assert message == "Choose one of this project's specific aims."


def test_the_frequency_cannot_change_once_there_are_values(project, nurse, charts):
    measure = MeasureFactory(project=project)
    MeasureValueFactory(measure=measure)
    monthly = details(name=measure.name, frequency=Frequency.MONTHLY)
    assert "cannot change" in refused(lambda: update_measure(measure=measure, details=monthly, by=nurse), "frequency")


def test_the_unit_must_suit_the_values_already_entered(project, nurse, charts):
    measure = MeasureFactory(project=project, unit=Unit.SCORE)
    MeasureValueFactory(measure=measure, on=date(2025, 3, 4), value=Decimal("140"))
    as_percentage = details(name=measure.name, unit=Unit.PERCENTAGE)
    message = refused(lambda: update_measure(measure=measure, details=as_percentage, by=nurse), "unit")
    assert (
        message == "The values do not suit that unit: 140 is outside 0 to 100 for a percentage (week of 3 March 2025)."
    )
    measure.refresh_from_db()
    assert measure.unit == Unit.SCORE


def test_removing_a_measure_removes_its_values_and_is_audited_on_the_project(project, nurse):
    measure = MeasureFactory(project=project)
    weekly_values(measure, [4, 5, 6])
    assert remove_measure(measure=measure, by=nurse) == 3
    assert not MeasureValue.objects.exists()
    entry = AuditEntry.objects.get(action="measure.removed")
    assert (entry.object_id, entry.summary) == (str(project.pk), f"{measure.name} (3 values)")


# Values


def test_a_value_is_filed_under_its_week_audited_and_its_charts_requested(project, nurse, charts):
    measure = MeasureFactory(project=project)
    value = add_value(measure=measure, details=ValueDetails(on=date(2025, 3, 5), value=Decimal("4.25")), by=nurse)
    assert (value.on, value.period, value.value, value.entered_by) == (
        date(2025, 3, 5),
        date(2025, 3, 3),
        Decimal("4.250"),
        nurse,
    )
    entry = AuditEntry.objects.get(action="measure.value_added")
    assert entry.summary == f"{measure.name}: 4.25 for the week of 3 March 2025"
    assert charts == [measure.pk]


def test_a_value_for_a_monthly_measure_is_filed_under_the_first_of_the_month(project, nurse, charts):
    measure = MeasureFactory(project=project, frequency=Frequency.MONTHLY)
    value = add_value(measure=measure, details=ValueDetails(on=date(2025, 3, 19), value=Decimal("4")), by=nurse)
    assert value.period == date(2025, 3, 1)


def test_a_second_value_in_the_same_week_is_refused_at_the_date(project, nurse, charts):
    measure = MeasureFactory(project=project)
    add_value(measure=measure, details=ValueDetails(on=date(2025, 3, 3), value=Decimal("4")), by=nurse)
    again = ValueDetails(on=date(2025, 3, 7), value=Decimal("5"))
    message = refused(lambda: add_value(measure=measure, details=again, by=nurse), "on")
    assert message == "The week of 3 March 2025 already has a value (4). Change that one instead."
    assert measure.values.count() == 1


def test_an_astronomical_point_needs_a_reason(project, nurse, charts):
    measure = MeasureFactory(project=project)
    marked = ValueDetails(on=date(2025, 3, 3), value=Decimal("40"), astronomical=True, astronomical_reason="  ")
    assert refused(lambda: add_value(measure=measure, details=marked, by=nurse), "astronomical_reason")
    explained = ValueDetails(on=date(2025, 3, 3), value=Decimal("40"), astronomical=True, astronomical_reason="IT down")
    assert add_value(measure=measure, details=explained, by=nurse).astronomical_reason == "IT down"


def test_a_reason_without_the_mark_is_not_kept(project, nurse, charts):
    measure = MeasureFactory(project=project)
    value = ValueDetails(on=date(2025, 3, 3), value=Decimal("4"), astronomical_reason="Typed by mistake")
    assert add_value(measure=measure, details=value, by=nurse).astronomical_reason == ""


def test_a_percentage_value_is_between_0_and_100(project, nurse):
    measure = MeasureFactory(project=project, unit=Unit.PERCENTAGE)
    over = ValueDetails(on=date(2025, 3, 3), value=Decimal("100.1"))
    message = refused(lambda: add_value(measure=measure, details=over, by=nurse), "value")
    assert message == "100.1 is outside 0 to 100 for a percentage."


def test_a_count_cannot_be_negative_and_a_date_cannot_be_in_the_future(project, nurse):
    measure = MeasureFactory(project=project, unit=Unit.COUNT)
    negative = ValueDetails(on=date(2025, 3, 3), value=Decimal("-1"))
    assert refused(lambda: add_value(measure=measure, details=negative, by=nurse), "value")
    future = ValueDetails(on=TODAY + timedelta(days=1), value=Decimal("1"))
    assert refused(lambda: add_value(measure=measure, details=future, by=nurse), "on")


def test_a_value_can_move_within_its_week_but_not_onto_anothers(project, nurse, charts):
    measure = MeasureFactory(project=project)
    first, second = weekly_values(measure, [4, 5], start=date(2025, 3, 3))
    update_value(value=first, details=ValueDetails(on=date(2025, 3, 6), value=Decimal("3"), note="late"), by=nurse)
    first.refresh_from_db()
    assert (first.on, first.value, first.note) == (date(2025, 3, 6), Decimal("3.000"), "late")
    onto = ValueDetails(on=date(2025, 3, 11), value=Decimal("3"))
    assert refused(lambda: update_value(value=first, details=onto, by=nurse), "on")
    entry = AuditEntry.objects.get(action="measure.value_updated")
    assert entry.changes == {"on": ["2025-03-03", "2025-03-06"], "value": ["4", "3"], "note": ["", "late"]}
    assert charts == [measure.pk]


def test_removing_a_value_is_audited_and_asks_for_new_charts(project, nurse, charts):
    measure = MeasureFactory(project=project)
    (value,) = weekly_values(measure, [4])
    remove_value(value=value, by=nurse)
    assert not measure.values.exists()
    assert actions(measure) == ["measure.value_removed"]
    assert charts == [measure.pk]


# Imports


def test_an_import_adds_every_row_in_one_go(project, nurse, charts):
    measure = MeasureFactory(project=project)
    added = import_values(measure=measure, text="date,value,note\n03/03/2025,6.5,Locum\n2025-03-10,4\n", by=nurse)
    assert [(v.period, v.value, v.note) for v in added] == [
        (date(2025, 3, 3), Decimal("6.500"), "Locum"),
        (date(2025, 3, 10), Decimal("4.000"), ""),
    ]
    entry = AuditEntry.objects.get(action="measure.values_imported")
    assert entry.summary == "2 values from 03/03/2025 to 10/03/2025"
    assert charts == [measure.pk]


def test_an_import_with_a_bad_row_saves_nothing_and_lists_every_reason(project, nurse, charts):
    measure = MeasureFactory(project=project)
    weekly_values(measure, [4], start=date(2025, 3, 3))
    with pytest.raises(ImportRefused) as caught:
        import_values(measure=measure, text="10/03/2025,5\n05/03/2025,6\nsoon,4\n", by=nurse)
    assert str(caught.value) == "Nothing was saved: 2 rows need fixing."
    assert [str(e) for e in caught.value.errors] == [
        "Line 2: week of 3 March 2025 already has a value (4); edit it in the table",
        "Line 3: “soon” is not a date: use dd/mm/yyyy or yyyy-mm-dd",
    ]
    assert measure.values.count() == 1
    assert charts == []
    assert not AuditEntry.objects.filter(action="measure.values_imported").exists()


# Reads


def test_the_overview_gets_each_measures_points_and_latest_value_in_one_query(project, django_assert_num_queries):
    quiet = MeasureFactory(project=project, name="Calls answered", unit=Unit.PERCENTAGE, kind=MeasureKind.PROCESS)
    busy = MeasureFactory(project=project, name="Days to action")
    weekly_values(busy, [4, 5, 6.5])
    with django_assert_num_queries(1):
        rows = measures_for_overview(project)
    shown = {m.name: (m.points, m.latest_value, m.latest_on, m.latest_shown) for m in rows}
    assert shown == {
        "Calls answered": (0, None, None, ""),
        "Days to action": (3, Decimal("6.5"), date(2025, 1, 20), "6.5 days"),
    }
    assert quiet.pk in {m.pk for m in rows}


def test_amounts_read_with_their_units():
    assert [amount(6.5, Unit.DAYS), amount(1, Unit.DAYS), amount(42.456, Unit.PERCENTAGE), amount(3, Unit.COUNT)] == [
        "6.5 days",
        "1 day",
        "42.46%",
        "3",
    ]
    assert amount(2.5, Unit.RATE) == "2.5 per 1,000"


def test_the_summary_says_what_the_run_and_xmr_charts_show(project):
    measure = MeasureFactory(project=project, baseline_points=8, target=Decimal("4"))
    data = [6, 7, 6.5, 7, 6, 6.5, 7, 6, 4, 3, 3.5, 4, 3, 3.5, 4, 3, 3.5, 4, 3, 3.5]
    values = weekly_values(measure, data)
    summary = analysis_summary(measure, values)
    assert summary.run[0] == "Median 6.5 days (baseline: first 8 weeks)."
    assert "A shift of 13 points below the median from 24 February 2025: a sign of improvement." in summary.run
    assert summary.run[-1] == "Runs: 5 of 18 useful points — too few, a sign of change."
    assert summary.xmr[0].startswith("Mean 6.5 days; process limits ")
    assert "(trial limits: fewer than 12 points)" in summary.xmr[0]
    assert summary.xmr[1] == "Special cause variation: improvement."
    assert summary.xmr[2] == "Special cause across the series: 13 points of improvement."
    assert summary.xmr[3] == "The process will not meet the target of 4 days unless it changes."


def test_the_summary_of_a_measure_without_values_is_empty(project):
    measure = MeasureFactory(project=project)
    assert analysis_summary(measure, []) == analysis_summary(measure, [])
    assert analysis_summary(measure, []).run == []
