"""Demo coaches: a mentor, an experienced coach and a coach in training for each demo commissioner,
with their training records and the mentoring pairs that let the newer coaches coach alone; and
a history of coaching sessions with actions for each demo project.

Built through the services, so the profiles pass the same rules as ones made by hand. Safe to run
again: a coach who already has a profile is left as they are.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from microsystems.models import User
from practices.models import Commissioner, ProgrammeRole, ProgrammeRoleKind
from projects.models import Project, Step

from .coaches import (
    ProfileDetails,
    TrainingDetails,
    add_training_record,
    create_coach_profile,
    start_mentoring,
)
from .models import ActionStatus, Attendance, ClinicalBackground, CoachLevel, CoachProfile, SessionFormat

# By the local part of the demo coach's e-mail: level, clinical background, years since trained, areas.
PROFILES = {
    "mentor": (CoachLevel.MENTOR, ClinicalBackground.NURSE, 6, ("mental_health",)),
    "coach": (CoachLevel.COACH, ClinicalBackground.NONE, 3, ("prescribing",)),
    "coach2": (CoachLevel.IN_TRAINING, ClinicalBackground.PHARMACIST, 0, ()),
}


def seed_coaches(commissioner: Commissioner, lead: User) -> list[CoachProfile]:
    """Profiles, training and mentoring for the commissioner's demo coaches; the profiles made."""
    today = timezone.localdate()
    roles = ProgrammeRole.objects.filter(commissioner=commissioner, role=ProgrammeRoleKind.COACH).select_related("user")
    made: dict[str, CoachProfile] = {}
    for role in roles.order_by("user__email"):
        kind = role.user.email.split(".", 1)[0]
        if kind not in PROFILES or CoachProfile.objects.filter(user=role.user).exists():
            continue
        level, background, years, areas = PROFILES[kind]
        trained = today - timedelta(days=365 * years + 40)
        details = ProfileDetails(
            commissioning_role="Head of primary care commissioning" if kind == "mentor" else "Commissioning manager",
            clinical_background=background,
            trained_on=trained,
            level=level,
            protected_hours=Decimal("4.0") if kind == "mentor" else Decimal("3.0"),
            max_projects={"mentor": 3, "coach": 6, "coach2": 4}[kind],
            commissioned_areas=areas,
        )
        profile = create_coach_profile(user=role.user, commissioner=commissioner, details=details, by=lead, today=today)
        _train(profile, trained, years, by=lead, today=today)
        made[kind] = profile
    if "mentor" in made:
        started = today - timedelta(days=300)
        for kind in ("coach", "coach2"):
            if kind in made:
                start_mentoring(mentor=made["mentor"], mentee=made[kind], starts_on=started, ends_on=None, by=lead)
    return list(made.values())


def _train(profile: CoachProfile, trained: date, years: int, *, by: User, today: date) -> None:
    course = TrainingDetails(course="Clinical microsystems coaching", completed_on=trained, hours=Decimal(14))
    add_training_record(coach=profile, details=course, by=by, today=today)
    for year in range(1, years + 1):  # a refresher every year since
        on = trained + timedelta(days=365 * year)
        if on <= today:
            refresher = TrainingDetails(
                course="Coaching refresher", completed_on=on, hours=Decimal("3.5"), is_refresher=True
            )
            add_training_record(coach=profile, details=refresher, by=by, today=today)


SESSION_EVERY = timedelta(weeks=2)
DEMO_ACTIONS = (
    "Draft the buddy list for the GPs",
    "Count this week's results by hand",
    "Ask the patient group for two volunteers",
    "Map the process with reception",
    "Share the run chart at the practice meeting",
    "Book the room for the next PDSA cycle",
)


def seed_sessions(project: Project, *, until: date, by: User, plan_next: bool = True) -> int:
    """A session every two weeks from the project's first week up to ``until``, logged by its coach,
    each with an action or two and the last one's actions reviewed; the number logged.

    With ``plan_next`` the last log plans the next session, so an open project shows what comes next.
    """
    from .sessions import ActionRow, Review, SessionLog, save_session_log, start_session

    team = list(project.team.all())
    if not team:
        return 0
    roles = {m.meeting_role: m.pk for m in team if m.meeting_role}
    on, n, logged = project.starts_on + timedelta(days=4), 0, 0
    while on <= until:
        session = start_session(project=project, by=by, now=timezone.make_aware(datetime.combine(on, time(13, 0))))
        open_actions = list(project.actions.filter(status=ActionStatus.OPEN))
        next_on = on + SESSION_EVERY
        last = next_on > until
        log = SessionLog(
            on=on,
            starts_at=time(13, 0),
            planned_minutes=60,
            actual_minutes=(55, 60, 75, 60)[n % 4],  # now and then it overruns
            format=SessionFormat.IN_PERSON if n % 3 else SessionFormat.VIDEO,
            step=project.step if project.step in (Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT) else "",
            meeting_roles=roles,
            attendance={
                m.pk: (Attendance.APOLOGIES if i == (n % len(team)) and n else Attendance.PRESENT)
                for i, m in enumerate(team)
            },  # fmt: skip
            agenda="Actions from last time; where we are in the workbook; the next steps.",
            notes="The team reviewed progress and agreed the next steps.",
            decisions="Carry on with the plan agreed last time.",
            next_on=next_on if plan_next or not last else None,
            actions=[
                ActionRow(
                    prefix=f"actions-{k}",
                    id=None,
                    description=DEMO_ACTIONS[(n + k) % len(DEMO_ACTIONS)],
                    owner_id=team[(n + k) % len(team)].pk,
                    due_on=next_on,
                )  # fmt: skip
                for k in range(1 + n % 2)
            ],
            reviews={
                a.pk: Review(status=ActionStatus.DONE if (a.pk + n) % 4 else ActionStatus.OPEN, was="open")
                for a in open_actions
            },  # fmt: skip
        )
        save_session_log(session=session, log=log, base_version=session.version, by=by, hold=True, today=until)
        on, n, logged = next_on, n + 1, logged + 1
    return logged
