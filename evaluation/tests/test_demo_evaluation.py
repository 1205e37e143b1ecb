"""The demo's evaluation data: reviews of due follow-ups, self-assessments and benefits, safe to seed twice."""

from __future__ import annotations

import pytest
from django.utils import timezone

from evaluation.demo import demo_projects, seed_evaluation
from evaluation.models import EmbeddingAssessment, FollowUp, FollowUpReview, FollowUpStatus
from evaluation.reporting import Scope, build_report
from practices.demo import seed_demo
from practices.models import Commissioner
from projects.models import Step

pytestmark = pytest.mark.slow


@pytest.fixture
def seeded(db):
    seed_demo()
    return demo_projects()


def counts():
    return [m.objects.count() for m in (FollowUpReview, EmbeddingAssessment)]


def test_every_follow_up_already_due_is_held_with_a_mix_of_outcomes_and_assessed(seeded):
    today = timezone.localdate()
    follow_ups = FollowUp.objects.filter(project__in=[p.pk for p in seeded])

    assert not follow_ups.filter(status=FollowUpStatus.SCHEDULED, due_on__lte=today).exists()
    reviews = FollowUpReview.objects.filter(follow_up__in=follow_ups)
    assert reviews.count() >= 2
    assert len(set(reviews.values_list("sustained", flat=True))) >= 2
    for review in reviews.exclude(sustained="sustained"):
        assert review.reasons, "a change not fully sustained says why"
    for project in seeded:
        occasions = set(project.embedding_assessments.values_list("occasion", flat=True))
        if project.step in (Step.ORGANISE, Step.WITHDRAWN):
            assert not occasions
            continue
        assert "baseline" in occasions, project
        for follow_up in project.follow_ups.filter(status=FollowUpStatus.HELD):
            assert follow_up.kind in occasions, follow_up
        if project.completed_on:
            assert project.staff_benefits.strip() and project.patient_benefits.strip()


def test_seeding_again_adds_nothing(seeded):
    before = counts()
    assert seed_evaluation() == 0
    assert counts() == before


def test_the_reports_have_figures_for_the_demo(seeded):
    west = Commissioner.objects.get(ods_code="99J")
    outcomes = dict(build_report("outcomes", Scope(west)).highlights)
    embedding = dict(build_report("embedding", Scope(west)).highlights)
    coaching = dict(build_report("coaching", Scope(west)).highlights)

    assert outcomes["Projects completed"] >= 1
    assert not outcomes["With special-cause improvement"].startswith("0 ")  # the demo measures improve
    assert embedding["Baseline assessments"] >= 1 and embedding["Practices compared at a follow-up"] >= 1
    assert coaching["Sessions held"] > 0
