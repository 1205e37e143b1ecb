"""The coaching report: sessions, attendance, overruns, actions, and the coaches' experience and mentoring.

Sessions and actions count for the scope's projects (started in the chosen year, if one is chosen);
only held sessions count. A session overran when its actual length is longer than planned; it
can only be judged when the coach logged the actual length. Attendance is the share of attendance
marks that are "attended". An action was done on time when it is done with its closing date on or
before its due date; the share is of the actions that can be judged: done, or open past their due
date (an open action not yet due, or a dropped one, is not judged).

Coaches are the commissioner's, whatever the PCN: their experience (completed projects by typology,
see ``coaching.coaches``) is their whole record, and their figures count the scope's projects only.
Mentoring pairs are those active today, or at any time in the chosen year.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Avg, Count, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from coaching.coaches import count_subquery, experience_summary, with_load_and_experience
from coaching.models import (
    Action,
    ActionStatus,
    Attendance,
    CoachProfile,
    Mentoring,
    Session,
    SessionAttendance,
    SessionStatus,
)
from evaluation.reporting import ChartSeries, ChartSpec, Column, Report, Scope, Table, Value, percent
from projects.models import Project, Typology

from ._common import plural, share

SLUG = "coaching"
MOST_SESSIONS = 30  # sessions per project counted one by one; more are counted together
BINS = ((1, 4), (5, 8), (9, 12), (13, 16), (17, 20), (21, None))  # the method plans 13 weekly sessions

CSV_HEADER = (
    "Coach", "Level", "Active", "Open projects", "Most projects at once", "Projects coached", "Sessions held",
    "Sessions timed", "Sessions overran", "% overran", "Attendance marks", "Marked attended", "% attended",
    "Actions judged", "Actions done on time", "% on time", "Completed projects (all time)",
    *(f"Completed: {label.lower()}" for _, label in Typology.choices), "Mentored by", "Mentoring",
)  # fmt: skip

Row = tuple[Value, ...]


def build(scope: Scope) -> Report:
    today = timezone.localdate()
    projects = scope.projects()
    held = Session.objects.filter(project__in=projects, status=SessionStatus.HELD)
    sessions = _sessions(held)
    per_project = _per_project(projects)
    attendance = _attendance(held)
    actions = _actions(Action.objects.filter(project__in=projects), today)
    pairs = _pairs(scope, today)
    coaches = _coaches(scope, projects, held, today, pairs)
    return Report(
        slug=SLUG,
        title="Coaching",
        intro=(
            "How coaching went: sessions per project, who attended, sessions that ran over, actions done on time, "
            "and the coaches' experience and mentoring. Sessions and actions count for the projects in this "
            "selection; each coach's experience is their whole record."
        ),
        scope=scope,
        charts=(_sessions_chart(per_project), _experience_chart(coaches)),
        tables=(
            _sessions_table(sessions, per_project, attendance),
            _actions_table(actions),
            _coach_table(coaches),
            _pairs_table(pairs),
        ),
        csv_header=CSV_HEADER,
        csv_rows=tuple(coach["csv"] for coach in coaches),
        highlights=(
            ("Sessions held", sessions["held"]),
            ("Mean sessions per coached project", _one_place(per_project["mean"])),
            ("Median sessions per coached project", per_project["median"]),
            ("Attendance", f"{percent(attendance['present'], attendance['marks'])}%"),
            ("Sessions that overran", share(sessions["overran"], sessions["timed"])),
            ("Actions done on time", share(actions["on_time"], actions["judged"])),
            ("Active mentoring pairs", len(pairs)),
            ("Mentees with no completed project", len({p["mentee_id"] for p in pairs if not p["mentee_completed"]})),
        ),
    )


def _count(rows: QuerySet[Any]) -> Coalesce:
    """A correlated ``COUNT(*)`` of ``rows`` in the outer query: ``coaching.coaches.count_subquery`` for any model."""
    return count_subquery(rows)  # type: ignore[arg-type]  # typed for projects, works for any queryset


# --- queries --------------------------------------------------------------------------------------


def _overran() -> Q:
    return Q(actual_minutes__gt=F("planned_minutes"))


def _sessions(held: QuerySet[Session]) -> dict[str, Any]:
    """Held sessions, those with a logged length, those that overran and by how much on average: one query."""
    return held.aggregate(
        held=Count("pk"),
        timed=Count("pk", filter=Q(actual_minutes__isnull=False)),
        overran=Count("pk", filter=_overran()),
        minutes_over=Avg(F("actual_minutes") - F("planned_minutes"), filter=_overran()),
    )


def _per_project(projects: QuerySet[Project]) -> dict[str, Any]:
    """Held sessions per coached project (one with at least one): mean, median and how many had each count.

    One query: the database counts each project's sessions, then counts the projects per count
    (up to ``MOST_SESSIONS``), so the median is read from a few dozen numbers, not from the projects.
    """
    counted = projects.order_by().annotate(n=Count("sessions", filter=Q(sessions__status=SessionStatus.HELD)))
    figures = counted.filter(n__gt=0).aggregate(
        projects=Count("pk"),
        mean=Avg("n"),
        more=Count("pk", filter=Q(n__gt=MOST_SESSIONS)),
        **{f"n{k}": Count("pk", filter=Q(n=k)) for k in range(1, MOST_SESSIONS + 1)},
    )
    histogram = {k: figures[f"n{k}"] for k in range(1, MOST_SESSIONS + 1)}
    return {
        "projects": figures["projects"],
        "mean": figures["mean"],
        "median": _median(histogram, figures["more"], figures["projects"]),
        "histogram": histogram,
        "more": figures["more"],
    }


def _median(histogram: dict[int, int], more: int, total: int) -> Value:
    """The median of the counts, from how many projects had each; "more than N" when it lies beyond the histogram."""
    if not total:
        return None
    middle = [(total - 1) // 2, total // 2]  # the positions of the middle value(s) in the sorted counts
    values: list[int | None] = []
    seen = 0
    for k in sorted(histogram):
        for position in middle:
            if seen <= position < seen + histogram[k]:
                values.append(k)
        seen += histogram[k]
    if len(values) < len(middle):
        return f"more than {MOST_SESSIONS}"
    low, high = values
    assert low is not None and high is not None
    return low if low == high else (low + high) / 2


def _attendance(held: QuerySet[Session]) -> dict[str, int]:
    """Attendance marks at held sessions, by what they say: one query."""
    return SessionAttendance.objects.filter(session__in=held).aggregate(
        marks=Count("pk"),
        present=Count("pk", filter=Q(status=Attendance.PRESENT)),
        apologies=Count("pk", filter=Q(status=Attendance.APOLOGIES)),
        absent=Count("pk", filter=Q(status=Attendance.ABSENT)),
    )


def _on_time() -> Q:
    return Q(status=ActionStatus.DONE, closed_on__lte=F("due_on"))


def _judged(today: date) -> Q:
    return Q(status=ActionStatus.DONE) | Q(status=ActionStatus.OPEN, due_on__lt=today)


def _actions(actions: QuerySet[Action], today: date) -> dict[str, int]:
    """Actions by what became of them against their due date: one query."""
    done = Q(status=ActionStatus.DONE)
    return actions.aggregate(
        total=Count("pk"),
        judged=Count("pk", filter=_judged(today)),
        on_time=Count("pk", filter=_on_time()),
        late=Count("pk", filter=done & (Q(closed_on__gt=F("due_on")) | Q(closed_on__isnull=True))),
        overdue=Count("pk", filter=Q(status=ActionStatus.OPEN, due_on__lt=today)),
        not_due=Count("pk", filter=Q(status=ActionStatus.OPEN, due_on__gte=today)),
        dropped=Count("pk", filter=Q(status=ActionStatus.DROPPED)),
    )


def _pairs(scope: Scope, today: date) -> list[dict[str, Any]]:
    """Mentoring pairs of the commissioner's coaches active today (or in the chosen year), with the mentee's
    completed projects: one query."""
    start, end = scope.bounds or (today, today)
    active = Q(starts_on__lte=end) & (Q(ends_on__isnull=True) | Q(ends_on__gte=start))
    completed = Project.objects.filter(
        Q(lead_coach=OuterRef("mentee__user_id")) | Q(co_coach=OuterRef("mentee__user_id")), completed_on__isnull=False
    )
    rows = (
        Mentoring.objects.filter(active, mentee__commissioner=scope.commissioner)
        .annotate(mentee_completed=_count(completed))
        .order_by("mentor__user__full_name", "mentee__user__full_name", "pk")
        .values_list(
            "mentor_id",
            "mentor__user__full_name",
            "mentee_id",
            "mentee__user__full_name",
            "starts_on",
            "ends_on",
            "mentee_completed",
        )  # fmt: skip
    )
    names = ("mentor_id", "mentor", "mentee_id", "mentee", "starts_on", "ends_on", "mentee_completed")
    return [dict(zip(names, row, strict=True)) for row in rows]


def _coaches(
    scope: Scope, projects: QuerySet[Project], held: QuerySet[Session], today: date, pairs: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """Every coach of the commissioner with their load, experience and figures for the scope.

    The scope's figures are counted per coach with ``GROUP BY`` (one query each for projects, sessions,
    attendance and actions), then joined to the coaches by id. Counted inside the coach query as
    correlated subqueries, each coach re-ran the scope's subqueries: seconds at national scale.
    """
    figures: dict[int, dict[str, int]] = {}

    def add(rows: Any, key: str) -> None:
        for row in rows:
            coach = row.pop(key)
            if coach is not None:
                totals = figures.setdefault(coach, {})
                for name, value in row.items():
                    totals[name] = totals.get(name, 0) + value

    add(projects.order_by().values("lead_coach").annotate(projects_coached=Count("pk")), "lead_coach")
    co_coached = projects.exclude(co_coach=F("lead_coach")).order_by().values("co_coach")
    add(co_coached.annotate(projects_coached=Count("pk")), "co_coach")
    add(
        held.order_by()
        .values("coach")
        .annotate(
            sessions_held=Count("pk"),
            sessions_timed=Count("pk", filter=Q(actual_minutes__isnull=False)),
            sessions_overran=Count("pk", filter=_overran()),
        ),
        "coach",
    )
    marks = SessionAttendance.objects.filter(session__in=held).order_by().values("session__coach")
    add(
        marks.annotate(marks=Count("pk"), marks_present=Count("pk", filter=Q(status=Attendance.PRESENT))),
        "session__coach",
    )
    actions = Action.objects.filter(project__in=projects).order_by().values("raised_in__coach")
    add(
        actions.annotate(
            actions_judged=Count("pk", filter=_judged(today)), actions_on_time=Count("pk", filter=_on_time())
        ),
        "raised_in__coach",
    )
    rows = with_load_and_experience(CoachProfile.objects.filter(commissioner=scope.commissioner).select_related("user"))
    mentored_by: dict[int, list[str]] = {}
    mentoring: dict[int, list[str]] = {}
    for pair in pairs:
        mentored_by.setdefault(pair["mentee_id"], []).append(pair["mentor"])
        mentoring.setdefault(pair["mentor_id"], []).append(pair["mentee"])
    coaches = []
    for coach in rows:
        for name in FIGURES:
            setattr(coach, name, figures.get(coach.user_id, {}).get(name, 0))
        coaches.append(_coach(coach, mentored_by.get(coach.pk, []), mentoring.get(coach.pk, [])))
    return sorted(coaches, key=lambda c: str(c["name"]).lower())


FIGURES = (
    "projects_coached",
    "sessions_held",
    "sessions_timed",
    "sessions_overran",
    "marks",
    "marks_present",
    "actions_judged",
    "actions_on_time",
)


def _coach(coach: Any, mentors: list[str], mentees: list[str]) -> dict[str, Any]:
    by_typology = {t: getattr(coach, f"completed_{t}") for t in Typology.values}
    name = coach.user.get_full_name()
    csv: Row = (
        name, coach.get_level_display(), "Yes" if coach.is_active else "No", coach.load, coach.max_projects,
        coach.projects_coached, coach.sessions_held, coach.sessions_timed, coach.sessions_overran,
        percent(coach.sessions_overran, coach.sessions_timed), coach.marks, coach.marks_present,
        percent(coach.marks_present, coach.marks), coach.actions_judged, coach.actions_on_time,
        percent(coach.actions_on_time, coach.actions_judged), coach.completed,
        *(by_typology[t] for t in Typology.values), "; ".join(mentors), "; ".join(mentees),
    )  # fmt: skip
    return {"name": name, "by_typology": by_typology, "experience": experience_summary(by_typology), "csv": csv}


def _one_place(value: float | None) -> float | None:
    return round(value, 1) if value is not None else None


# --- tables ---------------------------------------------------------------------------------------


def _sessions_table(sessions: dict[str, Any], per_project: dict[str, Any], attendance: dict[str, int]) -> Table:
    marks = attendance["marks"]
    rows: tuple[Row, ...] = (
        ("Sessions held", sessions["held"]),
        ("Projects with a held session", per_project["projects"]),
        ("Mean sessions per project", _one_place(per_project["mean"])),
        ("Median sessions per project", per_project["median"]),
        ("Sessions with their length logged", sessions["timed"]),
        ("Sessions that overran", share(sessions["overran"], sessions["timed"])),
        ("Mean minutes over, when a session overran", _one_place(sessions["minutes_over"])),
        ("Attendance marks", marks),
        ("Attended", share(attendance["present"], marks)),
        ("Sent apologies", share(attendance["apologies"], marks)),
        ("Did not attend", share(attendance["absent"], marks)),
    )
    return Table(
        title="Sessions and attendance",
        columns=(Column("Figure"), Column("Value", numeric=True)),
        rows=rows,
        note="Held sessions only. An overrun is judged where the coach logged the actual length.",
    )


def _actions_table(actions: dict[str, int]) -> Table:
    judged = actions["judged"]
    rows: tuple[Row, ...] = (
        ("Done on time", share(actions["on_time"], judged)),
        ("Done late", share(actions["late"], judged)),
        ("Open and overdue", share(actions["overdue"], judged)),
        ("Open, not yet due", actions["not_due"]),
        ("Dropped", actions["dropped"]),
        ("All actions", actions["total"]),
    )
    return Table(
        title="Actions agreed at sessions",
        columns=(Column("What became of them"), Column("Actions", numeric=True)),
        rows=rows,
        note="Shares are of the actions that can be judged: done, or open past their due date.",
    )


def _coach_table(coaches: list[dict[str, Any]]) -> Table:
    rows = tuple(
        (c["name"], c["csv"][1], f"{c['csv'][3]} of {c['csv'][4]}", c["csv"][6], f"{c['csv'][9]}%",
         f"{c['csv'][12]}%", f"{c['csv'][15]}%", c["experience"], c["csv"][-2] or "—")
        for c in coaches
    )  # fmt: skip
    return Table(
        title="Coaches",
        columns=(
            Column("Coach"),
            Column("Level"),
            Column("Open projects (limit)"),
            Column("Sessions held", numeric=True),
            Column("Overran", numeric=True),
            Column("Attended", numeric=True),
            Column("Actions on time", numeric=True),
            Column("Experience"),
            Column("Mentored by"),
        ),
        rows=rows,
        note="Experience is every project the coach led or co-coached that completed, by primary category.",
        empty="The commissioner has no coaches yet.",
    )


def _pairs_table(pairs: list[dict[str, Any]]) -> Table:
    return Table(
        title="Mentoring pairs",
        columns=(
            Column("Mentor"),
            Column("Mentee"),
            Column("From"),
            Column("To"),
            Column("Mentee's completed projects", numeric=True),
        ),
        rows=tuple((p["mentor"], p["mentee"], p["starts_on"], p["ends_on"], p["mentee_completed"]) for p in pairs),
        note="A coach with no completed project needs a co-coach or a mentor on their first project.",
        empty="No mentoring pairs are active.",
    )


# --- charts ---------------------------------------------------------------------------------------


def _bin_label(low: int, high: int | None) -> str:
    return f"{low} or more" if high is None else f"{low}–{high}"


def _sessions_chart(per_project: dict[str, Any]) -> ChartSpec:
    histogram, counts = per_project["histogram"], []
    for low, high in BINS:
        top = MOST_SESSIONS if high is None else high
        counts.append(sum(histogram[k] for k in range(low, top + 1)) + (per_project["more"] if high is None else 0))
    labels = tuple(_bin_label(low, high) for low, high in BINS)
    total = per_project["projects"]
    if total:
        busiest = max(range(len(BINS)), key=lambda i: counts[i])
        alt = (
            f"Held sessions per coached project, for {plural(total, 'project')}: mean "
            f"{_one_place(per_project['mean'])}, median {per_project['median']}. The most common range is "
            f"{labels[busiest]} sessions ({share(counts[busiest], total)} of projects); the method plans 13."
        )
    else:
        alt = "No coaching sessions have been held for these projects yet."
    return ChartSpec(
        slug="coaching-sessions",
        title="Held sessions per coached project",
        kind="bar",
        categories=labels,
        series=(ChartSeries("Projects", tuple(float(n) for n in counts)),),
        alt=alt,
        x_label="Sessions held",
        y_label="Projects",
    )


def _experience_chart(coaches: list[dict[str, Any]]) -> ChartSpec:
    experienced = [c for c in coaches if sum(c["by_typology"].values())]
    if experienced:
        most = max(experienced, key=lambda c: sum(c["by_typology"].values()))
        alt = (
            f"Completed projects per coach, by primary category: {len(experienced)} of "
            f"{plural(len(coaches), 'coach', 'coaches')} have completed a project; the most experienced is "
            f"{most['name']} with {most['experience'].lower()}. "
            f"{len(coaches) - len(experienced)} have completed none yet."
        )
    else:
        alt = "No coach has completed a project yet."
    return ChartSpec(
        slug="coaching-experience",
        title="Coaches' completed projects, by primary category",
        kind="stacked",
        categories=tuple(c["name"] for c in experienced),
        series=tuple(
            ChartSeries(label, tuple(float(c["by_typology"][t]) for c in experienced)) for t, label in Typology.choices
        ),
        alt=alt,
        y_label="Completed projects",
    )
