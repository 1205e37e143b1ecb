from datetime import date, time

import factory

from coaching.models import Action, CoachProfile, Session, SessionStatus, TrainingRecord
from microsystems.tests.factories import UserFactory
from practices.tests.factories import CommissionerFactory
from projects.tests.factories import ProjectFactory, TeamMemberFactory


class CoachProfileFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CoachProfile

    user = factory.SubFactory(UserFactory)
    commissioner = factory.SubFactory(CommissionerFactory)
    commissioning_role = "Primary care commissioning manager"
    level = "coach"
    trained_on = date(2024, 3, 1)
    protected_hours = 4
    max_projects = 3


class TrainingRecordFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TrainingRecord

    coach = factory.SubFactory(CoachProfileFactory)
    course = "Clinical microsystems coaching, two days"
    completed_on = date(2024, 3, 1)
    hours = 14


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Session

    project = factory.SubFactory(ProjectFactory)
    coach = factory.SubFactory(UserFactory)
    status = SessionStatus.HELD
    on = date(2025, 2, 4)
    starts_at = time(13, 0)
    planned_minutes = 60
    actual_minutes = 60


class ActionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Action

    raised_in = factory.SubFactory(SessionFactory)
    project = factory.SelfAttribute("raised_in.project")
    owner = factory.SubFactory(TeamMemberFactory, project=factory.SelfAttribute("..project"))
    description = "Draft the buddy list"
    due_on = date(2025, 2, 18)


class AgreementFactory(factory.django.DjangoModelFactory):
    """A signed coaching agreement: what a project needs, besides its team, to leave Organise."""

    class Meta:
        model = "coaching.CoachingAgreement"

    project = factory.SubFactory(ProjectFactory)
    signed_by_name = "Dr Asha Shah"
    signed_by_role = "GP partner"
    signed_on = date(2025, 1, 8)
    meeting_slot = "Tuesdays at 1pm"
    staff_released = "The whole team for the hour."
    champion = "Priya Patel"
    patients_involved = "A patient representative sits on the team."


def coach_with_mentor(user, commissioner):
    """A coaching profile for ``user`` with an active mentor, so they may coach a project alone."""
    from coaching.models import Mentoring

    profile = CoachProfileFactory(user=user, commissioner=commissioner)
    mentor = CoachProfileFactory(commissioner=commissioner, level="mentor")
    Mentoring.objects.create(mentor=mentor, mentee=profile, starts_on=date(2024, 1, 1))
    return profile
