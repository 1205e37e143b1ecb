from datetime import date

import factory

from practices.tests.factories import PracticeFactory
from projects.models import MemberKind, Project, Typology, WorkbookSection
from projects.workbook import SECTIONS


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project
        skip_postgeneration_save = True

    practice = factory.SubFactory(PracticeFactory)
    title = factory.Sequence(lambda n: f"Test results handling {n}")
    scope = "Results from the laboratory, from arrival to the patient knowing the outcome."
    starts_on = date(2025, 1, 6)
    planned_end_on = date(2025, 4, 7)
    typology = Typology.PROCESS_DRIVEN
    process_subtheme = "administrative"

    @factory.post_generation
    def sections(self, create, extracted, **kwargs):
        if create:
            WorkbookSection.objects.bulk_create(
                [WorkbookSection(project=self, key=s.key, data=s.empty()) for s in SECTIONS]
            )


class TeamMemberFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "projects.TeamMember"

    project = factory.SubFactory(ProjectFactory)
    kind = MemberKind.PARTNER
    name = factory.Faker("name", locale="en_GB")
    organisation = "Kent Community Health"
    team_role = "District nurse"
    is_clinical = True
