"""Reads that cross relations, scoped to what a user may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from microsystems.models import User

from .models import Commissioner, EngagementChange, Pcn, Practice, PracticeMembership, ProgrammeRoleKind
from .permissions import roles_of


def practices_for(user: User | AnonymousUser) -> QuerySet[Practice]:
    """Every practice the user may see: their commissioners' (programme roles) and their own."""
    roles = roles_of(user)
    if not user.is_authenticated:
        return Practice.objects.none()
    if roles.is_admin:
        return Practice.objects.all()
    commissioners = roles.commissioners_with(*ProgrammeRoleKind.values)
    # Only the parts a user has, so the database can use the (commissioner, name) index.
    scope = Q(pk__in=[])
    if commissioners:
        scope = Q(commissioner_id__in=commissioners)
    if roles.practices:
        scope = scope | Q(pk__in=list(roles.practices)) if commissioners else Q(pk__in=list(roles.practices))
    return Practice.objects.filter(scope)


def commissioners_for(user: User | AnonymousUser, *kinds: str) -> QuerySet[Commissioner]:
    """Commissioners where the user holds one of ``kinds`` (any programme role if none given)."""
    roles = roles_of(user)
    return Commissioner.objects.filter(pk__in=roles.commissioners_with(*(kinds or ProgrammeRoleKind.values)))


DIRECTORY_FIELDS = ("ods_code", "name", "postcode", "list_size", "engagement", "cohort", "pcn__name")


def pcn_choices_for(user: User | AnonymousUser) -> list[tuple[int, str]]:
    """The PCNs of the practices a user may see, as (id, name) for the directory's filter."""
    roles = roles_of(user)
    if roles.is_admin:
        scope = Pcn.objects.all()
    else:
        own = Q(commissioner_id__in=roles.commissioners_with(*ProgrammeRoleKind.values))
        if roles.practices:
            scope = Pcn.objects.filter(own | Q(practices__in=list(roles.practices))).distinct()
        else:  # no join to practices, so no DISTINCT: a lead's list comes straight from the index
            scope = Pcn.objects.filter(own)
    return list(scope.order_by("name").values_list("pk", "name"))


def practice_directory(user: User | AnonymousUser) -> QuerySet[Practice]:
    """The directory's rows: what each shows, fetched in one query."""
    staff = (
        PracticeMembership.objects.filter(practice=OuterRef("pk"))
        .order_by()
        .values("practice")
        .annotate(n=Count("pk"))
        .values("n")
    )
    # A correlated count is worked out for the rows on the page only, and the paginator's
    # count drops it; a join and GROUP BY would aggregate every practice in scope.
    return (
        practices_for(user)
        .select_related("pcn")
        .only(*DIRECTORY_FIELDS)
        .annotate(staff_count=Coalesce(Subquery(staff, output_field=IntegerField()), 0))
        .order_by("name")
    )


def practice_for_detail(user: User | AnonymousUser) -> QuerySet[Practice]:
    """The practice page: its PCN, staff and engagement history in a fixed number of queries."""
    return (
        practices_for(user)
        .select_related("pcn", "commissioner")
        .prefetch_related(
            Prefetch(
                "memberships",
                queryset=PracticeMembership.objects.select_related("user").order_by("user__full_name", "user__email"),
            ),
            Prefetch("engagement_changes", queryset=EngagementChange.objects.select_related("changed_by")),
        )
    )


def engagement_summary(user: User | AnonymousUser) -> list[dict[str, object]]:
    """Practices by engagement across the user's commissioners: one query, every state listed."""
    from .models import Engagement

    scope = Practice.objects.filter(commissioner__in=commissioners_for(user), ods_status="A")
    counts = dict(scope.values_list("engagement").annotate(n=Count("pk")).values_list("engagement", "n"))
    return [{"value": v, "label": label, "count": counts.get(v, 0)} for v, label in Engagement.choices]
