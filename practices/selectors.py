"""Reads that cross relations, scoped to what a user may see."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.contrib.auth.models import AnonymousUser
from django.db.models import Count, Exists, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce

from coaching.models import Session, SessionStatus
from microsystems.compiled import CompiledQuery
from microsystems.models import User
from projects.models import Project

from .models import (
    Commissioner,
    Engagement,
    EngagementChange,
    Pcn,
    Practice,
    PracticeMembership,
    ProgrammeRoleKind,
)
from .permissions import roles_of

NOT_CONTACTED_FOR = relativedelta(months=6)


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


_PCNS_OF_COMMISSIONERS = CompiledQuery(  # no join to practices, so no DISTINCT: straight from the index
    lambda commissioner_ids: (
        Pcn.objects.filter(commissioner_id__in=commissioner_ids).order_by("name").values_list("pk", "name")
    )
)


def pcns_of(commissioner_ids: Iterable[int]) -> list[tuple[int, str]]:
    """The commissioners' PCNs as (id, name), by name: one query, compiled once per process."""
    return _PCNS_OF_COMMISSIONERS(sorted(commissioner_ids))


def pcn_choices_for(user: User | AnonymousUser) -> list[tuple[int, str]]:
    """The PCNs of the practices a user may see, as (id, name) for the directory's filter."""
    roles = roles_of(user)
    if roles.is_admin:
        scope = Pcn.objects.all()
    else:
        commissioners = roles.commissioners_with(*ProgrammeRoleKind.values)
        if not roles.practices:  # a lead's or coach's list, the one most asked for
            return pcns_of(commissioners)
        scope = Pcn.objects.filter(Q(commissioner_id__in=commissioners) | Q(practices__in=list(roles.practices)))
        scope = scope.distinct()
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


def sees_practice(user: User | AnonymousUser, practice: Practice) -> bool:
    """``practices_for``'s rule for one practice already read: no query."""
    if not user.is_authenticated:
        return False
    roles = roles_of(user)
    return (
        roles.is_admin
        or practice.commissioner_id in roles.commissioners_with(*ProgrammeRoleKind.values)
        or practice.pk in roles.practices
    )


_PRACTICE_BY_CODE = CompiledQuery(
    lambda ods_code: Practice.objects.filter(ods_code=ods_code).select_related("pcn", "commissioner")
)
_MEMBERS = CompiledQuery(
    lambda practice_id: (
        PracticeMembership.objects.filter(practice_id=practice_id)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    )
)
_ENGAGEMENT_CHANGES = CompiledQuery(
    lambda practice_id: EngagementChange.objects.filter(practice_id=practice_id).select_related("changed_by")
)


def practice_page(
    user: User | AnonymousUser, ods_code: str
) -> tuple[Practice, list[PracticeMembership], list[EngagementChange]] | None:
    """The practice (with its PCN and commissioner), its staff and its engagement history, if the user may see
    it (``sees_practice``), else None: three queries compiled once per process."""
    practice = next(iter(_PRACTICE_BY_CODE(ods_code)), None)
    if practice is None or not sees_practice(user, practice):
        return None
    return practice, _MEMBERS(practice.pk), _ENGAGEMENT_CHANGES(practice.pk)


def engagement_summary(user: User | AnonymousUser) -> list[dict[str, object]]:
    """Practices by engagement across the user's commissioners: one query, every state listed."""
    scope = Practice.objects.filter(commissioner__in=commissioners_for(user), ods_status="A")
    counts = dict(scope.values_list("engagement").annotate(n=Count("pk")).values_list("engagement", "n"))
    return [{"value": v, "label": label, "count": counts.get(v, 0)} for v, label in Engagement.choices]


# How far a practice has come, and whether anyone has been in touch: the programme dashboard counts these
# and the directory filters by them, through the same conditions, so a number and its list always agree.


def completed_a_project() -> Q:
    """At least one of its projects reached Follow-up (it has a completion date), whatever happened next."""
    return Q(Exists(Project.objects.filter(practice=OuterRef("pk"), completed_on__isnull=False)))


def has_two_projects() -> Q:
    """Two or more projects, whatever became of them: a second row exists (``OFFSET 1``), found on the index."""
    return Q(Exists(Project.objects.filter(practice=OuterRef("pk")).order_by().values("pk")[1:2]))


def started_a_second_project() -> Q:
    """It completed a project and has two or more: it came back for more."""
    return completed_a_project() & has_two_projects()


def not_contacted_since(cutoff: date) -> Q:
    """Engaged before ``cutoff`` (or since an unknown date) and no coaching session held on any project since."""
    # Reached through the practice's own projects, then each project's sessions, both on their foreign-key
    # indexes. Asked of the sessions directly, the database walked every recent held session in the country
    # for each practice (seconds at national scale).
    sessions = Session.objects.filter(project=OuterRef("pk"), status=SessionStatus.HELD, on__gte=cutoff)
    contacted = Project.objects.filter(practice=OuterRef("pk")).filter(Exists(sessions))
    engaged_before = Q(engagement_since__isnull=True) | Q(engagement_since__lt=cutoff)
    return Q(engagement=Engagement.ENGAGED) & engaged_before & ~Q(Exists(contacted))


def contact_cutoff(today: date) -> date:
    """The day six months ago: a practice with no held session since then has not been contacted for 6 months."""
    cutoff: date = today - NOT_CONTACTED_FOR
    return cutoff


PROGRESS_COMPLETED, PROGRESS_SECOND, PROGRESS_NOT_CONTACTED = "completed", "second", "not_contacted"
PROGRESS_CHOICES = [
    (PROGRESS_COMPLETED, "Completed a project"),
    (PROGRESS_SECOND, "Completed a project and started another"),
    (PROGRESS_NOT_CONTACTED, "Engaged, no session for 6 months"),
]


def progress_condition(progress: str, today: date) -> Q:
    """The condition for one of ``PROGRESS_CHOICES``."""
    if progress == PROGRESS_COMPLETED:
        return completed_a_project()
    if progress == PROGRESS_SECOND:
        return started_a_second_project()
    if progress == PROGRESS_NOT_CONTACTED:
        return not_contacted_since(contact_cutoff(today))
    raise ValueError(f"Unknown progress {progress!r}")
