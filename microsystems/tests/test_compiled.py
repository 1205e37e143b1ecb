"""Compiled queries answer exactly as the querysets they are built from, for any ids, in one counted query."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db.models import Count, OuterRef, Subquery

from coaching.tests.factories import AgreementFactory
from microsystems.compiled import LONGEST, CompiledQuery
from microsystems.tests.factories import UserFactory
from practices.tests.factories import PracticeFactory
from projects.models import Payment, PaymentStatus, Project, SpecificAim, Step, TeamMember
from projects.tests.factories import ProjectFactory, TeamMemberFactory


def same_rows(left, right):
    """Model instances compared by their loaded field values, not only their primary keys."""
    return [_values(r) for r in left] == [_values(r) for r in right]


def _values(row):
    if hasattr(row, "_meta"):
        return {k: v for k, v in row.__dict__.items() if not k.startswith("_")}
    return row


@pytest.fixture
def projects(db):
    practice = PracticeFactory()
    coach = UserFactory(full_name="Cora Coach")
    first = ProjectFactory(practice=practice, lead_coach=coach, starts_on=date(2024, 5, 1), step=Step.ASSESS)
    second = ProjectFactory(practice=practice, starts_on=date(2025, 2, 3))
    AgreementFactory(project=first)
    for project, names in ((first, ["Ann", "Bob", "Cy"]), (second, ["Dee"])):
        for i, name in enumerate(names):
            TeamMemberFactory(project=project, name=name, is_champion=i == 0)
    SpecificAim.objects.create(
        project=first, measure="Days to a result", baseline="9", target="3", target_date=date(2024, 9, 1)
    )
    return first, second


def test_model_instances_with_related_objects_and_annotations_match_the_orm(projects):
    def build(project_id):
        return (
            Project.objects.filter(pk=project_id)
            .select_related("practice", "lead_coach", "agreement")
            .annotate(members=Count("team"))
        )

    compiled = CompiledQuery(build)
    for project in projects:
        got, expected = compiled(project.pk), list(build(project.pk))
        assert same_rows(got, expected)
        assert got[0].members == expected[0].members
        assert same_rows([got[0].practice], [expected[0].practice])
        assert (got[0].lead_coach and got[0].lead_coach.full_name) == (
            expected[0].lead_coach and expected[0].lead_coach.full_name
        )
        assert hasattr(got[0], "agreement") == hasattr(expected[0], "agreement")  # a missing one raises, as in Django


def test_dates_json_and_subqueries_come_back_converted(projects):
    first, _ = projects
    newest_aim = SpecificAim.objects.filter(project=OuterRef("pk")).order_by("-target_date")

    def build(project_id):
        return Project.objects.filter(pk=project_id).annotate(aim_by=Subquery(newest_aim.values("target_date")[:1]))

    got = CompiledQuery(build)(first.pk)[0]
    assert got.starts_on == date(2024, 5, 1) and got.aim_by == date(2024, 9, 1)
    sections = CompiledQuery(lambda pk: first.sections.model.objects.filter(project_id=pk).values_list("key", "data"))
    assert dict(sections(first.pk)) == dict(first.sections.values_list("key", "data"))


def test_values_values_list_and_flat_rows_match_the_orm(projects):
    first, second = projects
    builds = [
        lambda pk: TeamMember.objects.filter(project_id=pk).values("name", "is_champion"),
        lambda pk: TeamMember.objects.filter(project_id=pk).values_list("name", "project__title"),
        lambda pk: TeamMember.objects.filter(project_id=pk).values_list("name", flat=True),
    ]
    for build in builds:
        compiled = CompiledQuery(build)
        for project in (first, second, first):  # the same plan, run again with other ids
            assert compiled(project.pk) == list(build(project.pk))


def test_list_arguments_of_any_length_and_constants_beside_them(projects):
    first, second = projects

    def build(ids):
        return TeamMember.objects.filter(project_id__in=ids, is_champion=True).order_by("name").values_list("name")

    compiled = CompiledQuery(build)
    for ids in ([first.pk], [first.pk, second.pk], [second.pk, first.pk, 999_999]):
        assert compiled(ids) == list(build(ids))
    many = list(range(1, LONGEST + 5)) + [first.pk]  # past LONGEST: built as Django would, same answer
    assert compiled(many) == list(build(many))


def test_an_empty_list_is_no_rows_without_asking_the_database(projects, django_assert_num_queries):
    compiled = CompiledQuery(lambda ids: Project.objects.filter(pk__in=ids))
    with django_assert_num_queries(0):
        assert compiled([]) == []


def test_each_call_is_one_query_that_the_connection_counts(projects, django_assert_num_queries):
    first, _ = projects
    compiled = CompiledQuery(lambda pk: TeamMember.objects.filter(project_id=pk).select_related("user"))
    compiled(first.pk)
    with django_assert_num_queries(1):
        assert len(compiled(first.pk)) == 3


def test_rows_written_after_the_first_call_are_read(projects):
    first, _ = projects
    compiled = CompiledQuery(lambda pk: Payment.objects.filter(project_id=pk).values_list("amount", flat=True))
    assert compiled(first.pk) == []
    Payment.objects.create(
        project=first,
        route="first_project",
        milestone="agreement",
        amount="1500.00",
        due_on=date(2024, 6, 1),
        financial_year=2024,
        status=PaymentStatus.DUE,
    )
    assert [str(a) for a in compiled(first.pk)] == ["1500.00"]


@pytest.mark.parametrize(
    "build, problem",
    [
        (lambda pk: Project.objects.filter(pk=pk).prefetch_related("team"), "prefetch"),
        (lambda pk: Project.objects.all(), "must reach"),
        (lambda pk: Project.objects.filter(pk=pk, **({} if pk < 31_000 else {"title": "x"})), "change"),
        (lambda pk: Project.objects.filter(title=str(pk)), "unchanged"),
    ],
)
def test_a_query_that_cannot_be_compiled_is_refused_with_the_reason(db, build, problem):
    with pytest.raises(ImproperlyConfigured, match=problem):
        CompiledQuery(build)(1)


def test_anything_but_whole_numbers_is_refused_before_the_database_is_asked(db):
    compiled = CompiledQuery(lambda pk: Project.objects.filter(pk=pk))
    for wrong in (b"12", ["1", "2"], [1.5], None, 2.5):
        with pytest.raises(TypeError, match="whole numbers"):
            compiled(wrong)


def test_dates_are_arguments_in_field_lookups_and_in_raw_sql(projects):
    from django.db.models import IntegerField
    from django.db.models.expressions import RawSQL

    first, _ = projects

    def build(project_id, day):
        aims_due = RawSQL(
            "SELECT COUNT(*) FROM projects_specificaim a"
            " WHERE a.project_id = projects_project.id AND a.target_date <= %s",
            (day,),
            output_field=IntegerField(),
        )
        return Project.objects.filter(pk=project_id, starts_on__lte=day).annotate(due=aims_due).values_list("pk", "due")

    compiled = CompiledQuery(build)
    for day in (date(2024, 4, 30), date(2024, 5, 1), date(2024, 9, 1), date(2030, 1, 1)):
        assert compiled(first.pk, day) == list(build(first.pk, day)), day


def test_text_matched_exactly_is_an_argument_and_a_transformed_one_is_refused(projects):
    first, second = projects
    compiled = CompiledQuery(lambda code: Project.objects.filter(practice__ods_code=code).values_list("pk", flat=True))
    assert sorted(compiled(first.practice.ods_code)) == sorted([first.pk, second.pk])
    assert compiled("NOPE1") == []
    with pytest.raises(ImproperlyConfigured, match="unchanged"):
        CompiledQuery(lambda text: Project.objects.filter(title__icontains=text))("results")
