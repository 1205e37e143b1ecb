"""Digests: one message that gathers many things, never a message with nothing in it.

- *Overdue actions*, daily, to each person who owns one (a team member with a login): all
  their overdue actions, grouped by project. Key ``actions:<user>:<day>``.
- *The lead's weekly digest*, to each programme lead, for every commissioner they lead:
  follow-ups overdue (30 days past due and not held), overdue actions by project, projects
  in Organise to Treat with no coaching session held for 4 weeks, and practices in the
  programme (invited or engaged) not contacted for 6 months. *Contacted* means the latest
  of: a coaching session held at one of its projects, one of its projects starting, or a
  change to its engagement. Key ``lead-weekly:<user>:<ISO year-week>``.
- *The practice's monthly digest*, to each member of staff of a practice with a project
  under way: its projects, their steps, coaches and next sessions, and each measure's
  latest value with a link to its charts. Key ``practice-monthly:<practice>:<user>:<yyyy-mm>``.

A digest goes at the first sweep of its day, week or month. Each finder asks the database
only for the people whose key is not in the outbox yet (``NOT EXISTS`` on the key, built in
SQL), so the sweeps after the first cost one small query each. Every finder reads a
constant number of queries; long lists are cut at ``MAX_ROWS`` with a count of the rest.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from itertools import groupby
from typing import Any, TypeVar

from dateutil.relativedelta import relativedelta  # type: ignore[import-untyped]
from django.db.models import (
    CharField,
    Count,
    Exists,
    F,
    Min,
    Model,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Cast, Concat
from django.urls import reverse

from coaching.models import Action, ActionStatus, Session, SessionStatus
from evaluation.models import OVERDUE_AFTER, FollowUp, FollowUpStatus
from microsystems.models import User
from practices.models import (
    Engagement,
    EngagementChange,
    OdsStatus,
    Practice,
    PracticeMembership,
    ProgrammeRole,
    ProgrammeRoleKind,
)
from projects.models import Measure, MeasureValue, Project, Step

from .content import Draft, day, render
from .models import Kind, Notification

M = TypeVar("M", bound=Model)

MAX_ROWS = 20  # per section of a digest: the rest are counted and linked
QUIET_PROJECT = timedelta(weeks=4)
QUIET_PRACTICE = relativedelta(months=6)
COACHED_STEPS = [Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT]
UNDER_WAY = [*COACHED_STEPS, Step.FOLLOW_UP]
IN_PROGRAMME = [Engagement.INVITED, Engagement.ENGAGED]


def key_of(*parts: str | F) -> Concat:
    """A deduplication key built in SQL from text and integer columns (as ``F``), to compare with the outbox."""
    pieces = [Value(part) if isinstance(part, str) else Cast(part, output_field=CharField()) for part in parts]
    return Concat(*pieces, output_field=CharField())


def not_in_outbox(queryset: QuerySet[M], key: Concat) -> QuerySet[M]:
    """The rows of ``queryset`` whose digest key (``key``, per row) the outbox does not hold yet."""
    return queryset.annotate(digest_key=key).filter(~Exists(Notification.objects.filter(key=OuterRef("digest_key"))))


@dataclass(frozen=True)
class Section:
    """One list in a digest, cut at ``MAX_ROWS``."""

    rows: list[Any]
    more: int = 0

    @classmethod
    def of(cls, rows: list[Any]) -> Section:
        return cls(rows=rows[:MAX_ROWS], more=max(0, len(rows) - MAX_ROWS))

    def __bool__(self) -> bool:
        return bool(self.rows)


# Overdue actions, daily, per owner


@dataclass
class ProjectActions:
    project: Project
    link: str
    actions: list[dict[str, Any]] = field(default_factory=list)


def overdue_actions(today: date) -> list[Notification]:
    """One digest per person with overdue actions, listing all of them by project."""
    key = key_of("actions:", F("owner__user_id"), f":{today.isoformat()}")
    actions = (
        not_in_outbox(
            Action.objects.filter(status=ActionStatus.OPEN, due_on__lt=today, owner__user__is_active=True).exclude(
                project__step=Step.WITHDRAWN
            ),
            key,
        )
        .select_related("owner__user", "project__practice")
        .order_by("owner__user_id", "project__title", "project_id", "due_on", "pk")
    )
    drafts = []
    for _, owned in groupby(actions, key=lambda action: action.owner.user_id):
        mine = list(owned)
        person = mine[0].owner.user
        assert person is not None
        by_project: dict[int, ProjectActions] = {}
        for action in mine:
            group = by_project.setdefault(
                action.project_id,
                ProjectActions(action.project, reverse("coaching:project_sessions", args=[action.project_id])),
            )
            group.actions.append({"action": action, "due": day(action.due_on), "days": (today - action.due_on).days})
        groups = list(by_project.values())
        count = len(mine)
        drafts.append(
            Draft(
                key=f"actions:{person.pk}:{today.isoformat()}",
                kind=Kind.ACTIONS_OVERDUE,
                recipient=person,
                subject=f"You have {count} overdue actions" if count > 1 else "You have an overdue action",
                template="actions_overdue",
                link=groups[0].link if len(groups) == 1 else reverse("projects:list"),
                context={"groups": groups, "count": count},
            )
        )
    return [render(draft) for draft in drafts]


# The lead's weekly digest


@dataclass
class ProgrammeDigest:
    """What a lead's weekly digest lists, for the commissioners they lead."""

    follow_ups: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    quiet_projects: list[dict[str, Any]] = field(default_factory=list)
    quiet_practices: list[dict[str, Any]] = field(default_factory=list)


def week_of(today: date) -> str:
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def lead_weekly(today: date) -> list[Notification]:
    """Each programme lead's weekly digest; none for a lead with nothing to hear about."""
    period = week_of(today)
    roles = not_in_outbox(
        ProgrammeRole.objects.filter(role=ProgrammeRoleKind.LEAD, user__is_active=True),
        key_of("lead-weekly:", F("user_id"), f":{period}"),
    ).select_related("user")
    leads: dict[int, tuple[User, set[int]]] = {}
    for role in roles:
        leads.setdefault(role.user_id, (role.user, set()))[1].add(role.commissioner_id)
    if not leads:
        return []
    found = _programme_digests({c for _, led in leads.values() for c in led}, today)
    drafts = []
    for person, led in leads.values():
        digest = ProgrammeDigest()
        for commissioner_id in sorted(led):
            part = found.get(commissioner_id)
            if part:
                digest.follow_ups += part.follow_ups
                digest.actions += part.actions
                digest.quiet_projects += part.quiet_projects
                digest.quiet_practices += part.quiet_practices
        sections = {
            "follow_ups": Section.of(sorted(digest.follow_ups, key=lambda row: row["sort"])),
            "actions": Section.of(sorted(digest.actions, key=lambda row: row["sort"])),
            "quiet_projects": Section.of(sorted(digest.quiet_projects, key=lambda row: row["sort"])),
            "quiet_practices": Section.of(sorted(digest.quiet_practices, key=lambda row: row["sort"])),
        }
        if not any(sections.values()):
            continue  # never an empty digest
        drafts.append(
            Draft(
                key=f"lead-weekly:{person.pk}:{period}",
                kind=Kind.LEAD_WEEKLY,
                recipient=person,
                subject=f"Your programme this week ({day(today)})",
                template="lead_weekly",
                link=reverse("projects:list"),
                context={**sections, "week": period, "today": day(today), "lists": _lists()},
            )
        )
    return [render(draft) for draft in drafts]


def _lists() -> dict[str, str]:
    """Where the whole of each section's list is, for the rows past ``MAX_ROWS``."""
    return {
        "follow_ups": reverse("evaluation:follow_ups"),
        "projects": reverse("projects:list"),
        "practices": reverse("practices:directory"),
    }


def _programme_digests(commissioners: set[int], today: date) -> dict[int, ProgrammeDigest]:
    """Every section of the weekly digest for ``commissioners``, by commissioner: four queries."""
    digests: dict[int, ProgrammeDigest] = defaultdict(ProgrammeDigest)
    for follow_up in _overdue_follow_ups(commissioners, today):
        digests[follow_up.project.practice.commissioner_id].follow_ups.append(
            {
                "follow_up": follow_up,
                "due": day(follow_up.due_on),
                "days": (today - follow_up.due_on).days,
                "link": follow_up.get_absolute_url(),
                "sort": (follow_up.due_on, follow_up.pk),
            }
        )
    for row in _overdue_actions_by_project(commissioners, today):
        digests[row["project__practice__commissioner_id"]].actions.append(
            {
                **row,
                "oldest_due": day(row["oldest"]),
                "link": reverse("coaching:project_sessions", args=[row["project_id"]]),
                "sort": (row["oldest"], row["project_id"]),
            }
        )
    for project in _quiet_projects(commissioners, today):
        last = project.last_held  # type: ignore[attr-defined]
        digests[project.practice.commissioner_id].quiet_projects.append(
            {
                "project": project,
                "last_held": day(last) if last else "",
                "link": project.get_absolute_url(),
                "sort": (last or project.starts_on, project.pk),
            }
        )
    for practice in _quiet_practices(commissioners, today):
        contacts = [practice.engagement_since, practice.last_session, practice.last_start, practice.last_change]  # type: ignore[attr-defined]
        last_contact = max((d for d in contacts if d is not None), default=None)
        digests[practice.commissioner_id].quiet_practices.append(
            {
                "practice": practice,
                "last_contact": day(last_contact) if last_contact else "",
                "link": practice.get_absolute_url(),
                "sort": (last_contact or date.min, practice.name),
            }
        )
    return digests


def _overdue_follow_ups(commissioners: set[int], today: date) -> QuerySet[FollowUp]:
    return (
        FollowUp.objects.filter(
            status=FollowUpStatus.SCHEDULED,
            due_on__lt=today - OVERDUE_AFTER,
            project__practice__commissioner_id__in=commissioners,
        )
        .exclude(project__step=Step.WITHDRAWN)
        .select_related("project__practice", "assigned_to")
    )


def _overdue_actions_by_project(commissioners: set[int], today: date) -> QuerySet[Action, dict[str, Any]]:
    return (
        Action.objects.filter(
            status=ActionStatus.OPEN, due_on__lt=today, project__practice__commissioner_id__in=commissioners
        )
        .exclude(project__step=Step.WITHDRAWN)
        .values("project_id", "project__title", "project__practice__name", "project__practice__commissioner_id")
        .annotate(count=Count("pk"), oldest=Min("due_on"))
        .order_by()
    )


def _last_held(**to: Any) -> Subquery:
    held = Session.objects.filter(status=SessionStatus.HELD, **to).order_by("-on")
    return Subquery(held.values("on")[:1])


def _quiet_projects(commissioners: set[int], today: date) -> QuerySet[Project]:
    """Projects being coached with no session held for 4 weeks (or none since they started 4 weeks ago)."""
    since = today - QUIET_PROJECT
    return (
        Project.objects.filter(practice__commissioner_id__in=commissioners, step__in=COACHED_STEPS)
        .annotate(last_held=_last_held(project=OuterRef("pk")))
        .filter(Q(last_held__lt=since) | Q(last_held__isnull=True, starts_on__lt=since))
        .select_related("practice", "lead_coach")
    )


def _quiet_practices(commissioners: set[int], today: date) -> QuerySet[Practice]:
    """Practices invited or engaged with no contact (held session, project start, engagement change) for 6 months."""
    since = today - QUIET_PRACTICE
    held = Session.objects.filter(project__practice=OuterRef("pk"), status=SessionStatus.HELD)
    started = Project.objects.filter(practice=OuterRef("pk"))
    changed = EngagementChange.objects.filter(practice=OuterRef("pk"))
    return (
        Practice.objects.filter(
            commissioner_id__in=commissioners, engagement__in=IN_PROGRAMME, ods_status=OdsStatus.ACTIVE
        )
        .exclude(engagement_since__gte=since)
        .filter(~Exists(held.filter(on__gte=since)))
        .filter(~Exists(started.filter(starts_on__gte=since)))
        .filter(~Exists(changed.filter(effective_on__gte=since)))
        .annotate(
            last_session=_last_held(project__practice=OuterRef("pk")),
            last_start=Subquery(started.order_by("-starts_on").values("starts_on")[:1]),
            last_change=Subquery(changed.order_by("-effective_on").values("effective_on")[:1]),
        )
    )


# The practice's monthly digest


def practice_monthly(today: date) -> list[Notification]:
    """Each member of staff of a practice with a project under way: where its projects are."""
    period = today.strftime("%Y-%m")
    under_way = Project.objects.filter(step__in=UNDER_WAY)
    members = list(
        not_in_outbox(
            PracticeMembership.objects.filter(user__is_active=True, practice__in=under_way.values("practice_id")),
            key_of("practice-monthly:", F("practice_id"), ":", F("user_id"), f":{period}"),
        ).select_related("user", "practice")
    )
    if not members:
        return []
    projects = _projects_of({member.practice_id for member in members}, today)
    drafts = [
        Draft(
            key=f"practice-monthly:{member.practice_id}:{member.user_id}:{period}",
            kind=Kind.PRACTICE_MONTHLY,
            recipient=member.user,
            subject=f"Where {member.practice.name} is: {today:%B %Y}",
            template="practice_monthly",
            link=member.practice.get_absolute_url(),
            context={"practice": member.practice, "projects": projects[member.practice_id], "month": f"{today:%B %Y}"},
        )
        for member in members
        if projects.get(member.practice_id)
    ]
    return [render(draft) for draft in drafts]


def _projects_of(practice_ids: set[int], today: date) -> dict[int, list[dict[str, Any]]]:
    """The practices' projects under way, each with its next session and its measures' latest values: two queries."""
    upcoming = Session.objects.filter(project=OuterRef("pk"), status=SessionStatus.PLANNED, on__gte=today).order_by(
        "on", "starts_at"
    )
    projects = list(
        Project.objects.filter(practice_id__in=practice_ids, step__in=UNDER_WAY)
        .annotate(next_session=Subquery(upcoming.values("on")[:1]))
        .select_related("lead_coach", "co_coach")
        .order_by("practice_id", "starts_on", "pk")
    )
    latest = MeasureValue.objects.filter(measure=OuterRef("pk")).order_by("-period")
    measures: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for measure in (
        Measure.objects.filter(project__in=[p.pk for p in projects])
        .annotate(latest_value=Subquery(latest.values("value")[:1]), latest_on=Subquery(latest.values("on")[:1]))
        .order_by("project_id", "kind", "name", "pk")
    ):
        value = measure.latest_value  # type: ignore[attr-defined]
        measures[measure.project_id].append(
            {
                "measure": measure,
                "value": _number(value) if value is not None else "",
                "on": day(measure.latest_on) if value is not None else "",  # type: ignore[attr-defined]
                "link": reverse("projects:measure", args=[measure.project_id, measure.pk]),
            }
        )
    by_practice: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for project in projects:
        nxt = project.next_session  # type: ignore[attr-defined]
        by_practice[project.practice_id].append(
            {
                "project": project,
                "link": project.get_absolute_url(),
                "next_session": day(nxt) if nxt else "",
                "measures": measures.get(project.pk, []),
            }
        )
    return by_practice


def _number(value: Decimal) -> str:
    """12.500 → 12.5, 40.000 → 40."""
    return format(value.normalize(), "f")
