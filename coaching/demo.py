"""Demo coaches: a mentor, an experienced coach and a coach in training for each demo commissioner,
with their training records and the mentoring pairs that let the newer coaches coach alone.

Built through the services, so the profiles pass the same rules as ones made by hand. Safe to run
again: a coach who already has a profile is left as they are.
"""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from django.utils import timezone

from microsystems.models import User
from practices.models import Commissioner, ProgrammeRole, ProgrammeRoleKind

from .coaches import (
    ProfileDetails,
    TrainingDetails,
    add_training_record,
    create_coach_profile,
    start_mentoring,
)
from .models import ClinicalBackground, CoachLevel, CoachProfile

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
