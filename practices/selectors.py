"""Reads that cross relations, scoped to what a user may see."""

from __future__ import annotations

from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Prefetch, Q, QuerySet

from microsystems.models import User

from .models import Commissioner, EngagementChange, Practice, PracticeMembership, ProgrammeRoleKind
from .permissions import roles_of


def practices_for(user: User | AnonymousUser) -> QuerySet[Practice]:
    """Every practice the user may see: their commissioners' (programme roles) and their own."""
    roles = roles_of(user)
    if not user.is_authenticated:
        return Practice.objects.none()
    if roles.is_admin:
        return Practice.objects.all()
    commissioners = roles.commissioners_with(*ProgrammeRoleKind.values)
    return Practice.objects.filter(Q(commissioner_id__in=commissioners) | Q(pk__in=list(roles.practices)))


def commissioners_for(user: User | AnonymousUser, *kinds: str) -> QuerySet[Commissioner]:
    """Commissioners where the user holds one of ``kinds`` (any programme role if none given)."""
    roles = roles_of(user)
    return Commissioner.objects.filter(pk__in=roles.commissioners_with(*(kinds or ProgrammeRoleKind.values)))


def practice_directory(user: User | AnonymousUser) -> QuerySet[Practice]:
    """The directory's rows: what each shows, fetched in one query."""
    return (
        practices_for(user)
        .select_related("pcn", "commissioner")
        .annotate(staff_count=Count("memberships", distinct=True))
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
