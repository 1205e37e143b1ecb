"""Recording a project's embedding self-assessment: what is allowed, what is refused and where, and the summary."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from evaluation.embedding import (
    AssessmentDetails,
    EmbeddingError,
    may_read,
    may_record,
    occasions_open,
    project_assessments,
    record_assessment,
)
from evaluation.models import CHARACTERISTICS, EmbeddingAssessment
from microsystems.models import AuditEntry
from projects.models import Project, Step
from projects.services import PossiblePatientData
from projects.tests.payment_factories import funded_project

from .conftest import COMPLETED_ON, TODAY

NAMES = [name for name, _ in CHARACTERISTICS]


def scores(*values: int) -> dict[str, int]:
    """Ten scores: the values given, the rest 3."""
    given = list(values) + [3] * (len(NAMES) - len(values))
    return dict(zip(NAMES, given, strict=True))


def details(on: date = TODAY, **changes) -> AssessmentDetails:
    return AssessmentDetails(**({"assessed_on": on, "scores": scores(2, 2), "notes": ""} | changes))


def refused(**kwargs) -> EmbeddingError:
    with pytest.raises(EmbeddingError) as error:
        record_assessment(**kwargs)
    return error.value


@pytest.fixture
def active(programme, clock):
    return funded_project(programme, step=Step.ASSESS)


# Recording


def test_the_team_records_its_baseline_and_it_is_audited(programme, active):
    assessment = record_assessment(project=active, occasion="baseline", details=details(), by=programme.nurse)

    assert assessment.scores() == scores(2, 2)
    assert (assessment.assessed_on, assessment.recorded_by) == (TODAY, programme.nurse)
    entry = AuditEntry.objects.get(action="embedding.recorded")
    assert entry.actor == programme.nurse and "Baseline" in entry.summary and "mean 2.8" in entry.summary


def test_a_follow_up_needs_the_project_completed(programme, active):
    error = refused(project=active, occasion="6m", details=details(), by=programme.coach)

    assert str(error) == "The follow-up self-assessments open once the project has completed."
    assert occasions_open(active) == ["baseline"]
    assert not EmbeddingAssessment.objects.exists()


def test_after_completion_the_follow_ups_open(programme, project):
    assert occasions_open(project) == ["baseline", "6m", "12m"]
    record_assessment(project=project, occasion="6m", details=details(), by=programme.coach)
    assert project.embedding_assessments.get().occasion == "6m"


@pytest.mark.parametrize(
    ("on", "occasion", "message"),
    [
        (TODAY + timedelta(days=1), "baseline", "The date assessed cannot be in the future."),
        (date(2025, 1, 5), "baseline", "The date assessed cannot be before the project started (6 January 2025)."),
        (
            COMPLETED_ON - timedelta(days=1),
            "6m",
            "A follow-up self-assessment cannot be before the project completed (29 August 2025).",
        ),
    ],
)
def test_the_date_must_fit_the_project(programme, project, on, occasion, message):
    error = refused(project=project, occasion=occasion, details=details(on), by=programme.nurse)
    assert (error.field, str(error)) == ("assessed_on", message)
    assert not EmbeddingAssessment.objects.exists()


@pytest.mark.parametrize("bad", [0, 6, None, True])
def test_every_score_is_from_1_to_5(programme, project, bad):
    given = scores() | {"patient_focus": bad}
    error = refused(project=project, occasion="baseline", details=details(scores=given), by=programme.nurse)
    assert (error.field, str(error)) == ("patient_focus", "Score patient focus from 1 to 5.")


def test_notes_that_look_like_patient_data_wait_for_confirmation(programme, project):
    notes = "Discussed Mrs Jane Smith 12/03/1950 at the meeting."
    with pytest.raises(PossiblePatientData):
        record_assessment(project=project, occasion="baseline", details=details(notes=notes), by=programme.nurse)
    assert not EmbeddingAssessment.objects.exists()

    record_assessment(
        project=project,
        occasion="baseline",
        details=details(notes=notes),
        by=programme.nurse,
        confirmed_not_patient_data=True,
    )
    assert EmbeddingAssessment.objects.get().notes == notes


def test_a_withdrawn_project_takes_no_more_assessments(programme, project):
    Project.objects.filter(pk=project.pk).update(step=Step.WITHDRAWN)
    project.refresh_from_db()
    error = refused(project=project, occasion="baseline", details=details(), by=programme.nurse)
    assert "withdrawn" in str(error)
    assert not may_record(programme.nurse, project)


# Changing


def test_changing_it_keeps_one_per_occasion_and_records_what_changed(programme, project, clock):
    first = record_assessment(project=project, occasion="baseline", details=details(), by=programme.nurse)
    clock.shift(timedelta(minutes=5))
    changed = record_assessment(
        project=project,
        occasion="baseline",
        details=details(scores=scores(4, 2)),
        by=programme.coach,
        base=first.recorded_at,
    )

    assert EmbeddingAssessment.objects.get().pk == first.pk == changed.pk
    assert changed.leadership == 4 and changed.recorded_by == programme.coach
    entry = AuditEntry.objects.get(action="embedding.updated")
    assert entry.changes["leadership"] == [2, 4] and "organisational_support" not in entry.changes


def test_a_save_over_someone_elses_is_refused(programme, project, clock):
    first = record_assessment(project=project, occasion="baseline", details=details(), by=programme.nurse)
    clock.shift(timedelta(minutes=5))
    record_assessment(
        project=project, occasion="baseline", details=details(scores=scores(5)), by=programme.manager,
        base=first.recorded_at,
    )  # fmt: skip

    stale = refused(
        project=project, occasion="baseline", details=details(scores=scores(1)), by=programme.nurse,
        base=first.recorded_at,
    )  # fmt: skip
    fresh = refused(project=project, occasion="baseline", details=details(scores=scores(1)), by=programme.nurse)

    assert str(stale).startswith("Manager Amherst saved this self-assessment while you were filling it in.")
    assert str(fresh) == str(stale)
    assert EmbeddingAssessment.objects.get().leadership == 5


# Who, and the summary


def test_staff_and_coaches_record_the_lead_reads_others_neither(programme, project):
    for user in (programme.nurse, programme.manager, programme.coach):
        assert may_record(user, project) and may_read(user, project)
    assert may_read(programme.lead, project) and not may_record(programme.lead, project)
    for user in (programme.sibling_nurse, programme.other_lead, programme.finance):
        assert not may_read(user, project) and not may_record(user, project)


def test_the_summary_shows_the_change_to_the_latest_follow_up(programme, project, django_assert_num_queries):
    record_assessment(project=project, occasion="baseline", details=details(scores=scores(1, 2)), by=programme.nurse)
    record_assessment(project=project, occasion="6m", details=details(scores=scores(3, 2)), by=programme.nurse)
    record_assessment(project=project, occasion="12m", details=details(scores=scores(4, 5)), by=programme.nurse)

    with django_assert_num_queries(1):
        summary = project_assessments(project)

    leadership, support = summary.rows[0], summary.rows[1]
    assert (leadership.scores, leadership.change) == ((1, 3, 4), 3)
    assert (support.scores, support.change) == ((2, 2, 5), 3)
    assert summary.means == (2.7, 2.9, 3.3)
    assert summary.mean_change == 0.6 and summary.latest_label == "12-month follow-up"


def test_without_a_follow_up_there_is_no_change(programme, project):
    record_assessment(project=project, occasion="baseline", details=details(), by=programme.nurse)
    summary = project_assessments(project)
    assert summary.mean_change is None and all(row.change is None for row in summary.rows)
    assert summary.rows[0].scores == (2, None, None)
