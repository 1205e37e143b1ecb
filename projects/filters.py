"""The project list's filters: step, category, PCN and coach, with selects drawn in Python."""

from __future__ import annotations

import django_filters
from django.db.models import Q, QuerySet

from evaluation.reporting import years_offered
from microsystems.compiled import CompiledQuery
from microsystems.filtering import PlainSelectsMixin, SharedChoices
from microsystems.models import User
from practices.models import ProgrammeRoleKind
from practices.permissions import roles_of

from .models import Project, Step, Typology, financial_year_label
from .selectors import MISSING_CHOICES, missing_condition, started_in

_COACHES_OF_COMMISSIONERS = CompiledQuery(
    lambda commissioner_ids: (
        User.objects.filter(
            programme_roles__role=ProgrammeRoleKind.COACH, programme_roles__commissioner_id__in=commissioner_ids
        )
        .distinct()
        .order_by("full_name")
        .values_list("pk", "full_name", "email")
    )
)


def coach_choices(user: User, projects: QuerySet[Project]) -> list[tuple[int, str]]:
    """The coaches to filter by, as (id, name), in one query: the coaches of the user's commissioners,
    or for practice staff the coaches of the projects they can see."""
    commissioners = roles_of(user).commissioners_with(*ProgrammeRoleKind.values)
    if commissioners:
        rows = _COACHES_OF_COMMISSIONERS(sorted(commissioners))
    else:
        projects = projects.order_by()
        coaches = User.objects.filter(
            Q(pk__in=projects.values("lead_coach_id")) | Q(pk__in=projects.values("co_coach_id"))
        )
        rows = list(coaches.order_by("full_name").values_list("pk", "full_name", "email"))
    return [(pk, name or email) for pk, name, email in rows]


class ProjectFilter(PlainSelectsMixin, django_filters.FilterSet):
    q = django_filters.CharFilter(method="search", label="Title or practice")
    step = django_filters.ChoiceFilter(choices=Step.choices, empty_label="Any step")
    typology = django_filters.ChoiceFilter(choices=Typology.choices, empty_label="Any category", label="Category")
    pcn = django_filters.ChoiceFilter(field_name="practice__pcn_id", label="PCN", empty_label="All PCNs")
    coach = django_filters.ChoiceFilter(method="coached_by", label="Coach", empty_label="Any coach")
    year = django_filters.ChoiceFilter(method="started_in_year", label="Started in", empty_label="Any year")
    missing = django_filters.ChoiceFilter(
        choices=MISSING_CHOICES, method="lacking", label="Missing", empty_label="Nothing in particular"
    )
    # Not drawn as a select: the programme dashboard's links name the commissioner they count.
    commissioner = django_filters.NumberFilter(field_name="practice__commissioner_id")

    SELECTS = ("step", "typology", "pcn", "coach", "year", "missing")

    class Meta:
        model = Project
        fields = ["q", "step", "typology", "pcn", "coach", "year", "missing", "commissioner"]

    def __init__(
        self,
        *args: object,
        pcns: list[tuple[int, str]] | None = None,
        coaches: list[tuple[int, str]] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.filters["pcn"].extra["choices"] = SharedChoices(pcns or [])
        self.filters["coach"].extra["choices"] = SharedChoices(coaches or [])
        self.filters["year"].extra["choices"] = [(str(y), financial_year_label(y)) for y in years_offered()]

    def search(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(practice__name__icontains=value) | Q(practice__ods_code__iexact=value)
        )

    def coached_by(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        return queryset.filter(Q(lead_coach_id=value) | Q(co_coach_id=value))

    def started_in_year(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        return queryset.filter(started_in(int(value)))

    def lacking(self, queryset: QuerySet[Project], name: str, value: str) -> QuerySet[Project]:
        return queryset.filter(missing_condition(value))
