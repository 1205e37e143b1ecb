"""Projects, their improvement teams, their step through the method, and the workbook.

A workbook section (one of the 5Ps, the fishbone, the global aim, ...) is one row whose
``data`` holds the section's fields as JSON, with a ``version`` that every save must
name: a save against an older version is a conflict, never a silent overwrite. Every
saved version is kept (django-simple-history). Which sections exist, their fields,
guidance and examples are defined in ``projects.workbook``.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from practices.models import Practice

PLANNED_WEEKS = 13


class Step(models.TextChoices):
    ORGANISE = "organise", "Organise"
    ASSESS = "assess", "Assess"
    DIAGNOSE = "diagnose", "Diagnose"
    TREAT = "treat", "Treat"
    FOLLOW_UP = "follow_up", "Follow-up"
    COMPLETED = "completed", "Completed"
    WITHDRAWN = "withdrawn", "Withdrawn"


# The method's order: a project moves forward one step at a time.
STEP_ORDER: list[str] = [Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT, Step.FOLLOW_UP, Step.COMPLETED]
WORKBOOK_STEPS = [Step.ORGANISE, Step.ASSESS, Step.DIAGNOSE, Step.TREAT]


class Typology(models.TextChoices):
    """The evaluation's Figure 3: what kind of improvement a project is."""

    PROCESS_DRIVEN = "process_driven", "Process-driven"
    HEALTH_OUTPUTS = "health_outputs", "Health outputs"
    PATIENT_CENTRED = "patient_centred", "Patient-centred care"


class ProcessSubtheme(models.TextChoices):
    NONE = "", "Not process-driven"
    ADMINISTRATIVE = "administrative", "Administrative systems"
    PATIENT_FLOW = "patient_flow", "Patient flow"
    COMMUNICATION = "communication", "Communication"


class ClinicalArea(models.TextChoices):
    """What a project is about clinically, and what a commissioner's manager commissions."""

    NONE = "", "Not clinical"
    DIABETES = "diabetes", "Diabetes"
    RESPIRATORY = "respiratory", "Respiratory"
    CARDIOVASCULAR = "cardiovascular", "Cardiovascular"
    MENTAL_HEALTH = "mental_health", "Mental health"
    LEARNING_DISABILITY = "learning_disability", "Learning disability"
    PRESCRIBING = "prescribing", "Prescribing and medicines"
    CARE_HOMES = "care_homes", "Care homes and frailty"
    URGENT_CARE = "urgent_care", "Urgent and same-day care"
    SCREENING = "screening", "Screening and immunisation"


class Project(models.Model):
    practice = models.ForeignKey(Practice, on_delete=models.PROTECT, related_name="projects")
    title = models.CharField(max_length=120)
    scope = models.TextField("scope statement", max_length=1000)
    starts_on = models.DateField("start date")
    planned_end_on = models.DateField("planned end")
    crosses_boundaries = models.BooleanField(
        "crosses organisational boundaries",
        default=False,
        help_text="It involves another practice, district nursing, a care home or community services.",
    )
    other_organisations = models.CharField(max_length=300, blank=True)
    senior_sponsor = models.CharField(
        max_length=200, blank=True, help_text="Needed before a cross-boundary project leaves Organise."
    )
    typology = models.CharField("primary category", max_length=20, choices=Typology.choices)
    process_subtheme = models.CharField(max_length=20, choices=ProcessSubtheme.choices, blank=True)
    secondary_typology = models.CharField("overlapping category", max_length=20, choices=Typology.choices, blank=True)
    clinical_area = models.CharField(
        max_length=20,
        choices=ClinicalArea.choices,
        blank=True,
        help_text="For matching coaches: a coach does not coach a project in an area they commission.",
    )
    needs_ongoing_resources = models.BooleanField("will need ongoing resources after it ends", default=False)
    ongoing_resources = models.TextField("what resources, and how they will be met", max_length=1000, blank=True)
    step = models.CharField(max_length=20, choices=Step.choices, default=Step.ORGANISE)
    step_changed_at = models.DateTimeField(default=timezone.now)
    withdrawn_on = models.DateField(null=True, blank=True)
    withdrawal_reason = models.TextField(max_length=1000, blank=True)
    no_patient_rep_reason = models.TextField("why no patient representative", max_length=1000, blank=True)
    lead_coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="projects_led"
    )
    co_coach = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="projects_co_coached"
    )
    completed_on = models.DateField("completion date", null=True, blank=True)
    staff_benefits = models.TextField("benefits for staff", max_length=2000, blank=True)
    patient_benefits = models.TextField("benefits for patients", max_length=2000, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "-id"]
        indexes = [
            models.Index(fields=["practice", "starts_on"]),
            # Step first, for a step alone; with the practice, a step's projects in a lead's practices are
            # counted from the index alone (the project list filtered by step, the dashboard's steps).
            models.Index(fields=["step", "practice"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(planned_end_on__gt=models.F("starts_on")), name="project_ends_after_start"
            ),
        ]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        return reverse("projects:overview", args=[self.pk])

    @staticmethod
    def default_end(starts_on):  # type: ignore[no-untyped-def]
        return starts_on + timedelta(weeks=PLANNED_WEEKS)

    @property
    def is_active(self) -> bool:
        return self.step not in {Step.COMPLETED, Step.WITHDRAWN}

    @property
    def step_index(self) -> int:
        return STEP_ORDER.index(self.step) if self.step in STEP_ORDER else -1

    @property
    def next_step(self) -> str | None:
        index = self.step_index
        return STEP_ORDER[index + 1] if 0 <= index < len(STEP_ORDER) - 1 else None

    def coaches(self) -> list:  # type: ignore[type-arg]
        return [c for c in (self.lead_coach, self.co_coach) if c is not None]


class StepChange(models.Model):
    """One move of a project between steps: who, when, from, to, and any override of a guard."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="step_changes")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    from_step = models.CharField(max_length=20, choices=Step.choices)
    to_step = models.CharField(max_length=20, choices=Step.choices)
    override_reason = models.TextField(blank=True)
    unmet = models.JSONField("what was missing (overridden)", default=list, blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.project}: {self.from_step} → {self.to_step}"


class MemberKind(models.TextChoices):
    STAFF = "staff", "Practice staff"
    PATIENT = "patient", "Patient representative"
    PARTNER = "partner", "External partner"


class MeetingRole(models.TextChoices):
    NONE = "", "None"
    LEADER = "leader", "Leader"
    FACILITATOR = "facilitator", "Facilitator"
    TIMEKEEPER = "timekeeper", "Timekeeper"
    RECORDER = "recorder", "Recorder"


class TeamMember(models.Model):
    """A member of a project's improvement team: staff (a user), a patient representative or a partner."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="team")
    kind = models.CharField(max_length=10, choices=MemberKind.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="team_memberships"
    )
    name = models.CharField(max_length=150, blank=True, help_text="For patient representatives and partners.")
    contact = models.CharField("how to contact them", max_length=200, blank=True)
    consent_to_be_listed = models.BooleanField(default=False)
    organisation = models.CharField(max_length=200, blank=True)
    team_role = models.CharField("role in the team", max_length=100)
    is_clinical = models.BooleanField(default=False)
    is_champion = models.BooleanField("champion", default=False)
    meeting_role = models.CharField(max_length=20, choices=MeetingRole.choices, blank=True)
    added_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["-is_champion", "kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project"], condition=Q(is_champion=True), name="one_champion_per_project"),
            models.UniqueConstraint(
                fields=["project", "meeting_role"], condition=~Q(meeting_role=""), name="one_person_per_meeting_role"
            ),
            models.UniqueConstraint(
                fields=["project", "user"], condition=Q(user__isnull=False), name="staff_member_once_per_team"
            ),
        ]

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        if self.user_id and self.user is not None:
            return self.user.get_full_name()
        return self.name


class WorkbookSection(models.Model):
    """One section of a project's workbook, saved whole, with a version for conflict detection."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sections")
    key = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    complete = models.BooleanField(default=False)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(null=True, blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    history = HistoricalRecords()

    class Meta:
        ordering = ["project", "key"]
        constraints = [models.UniqueConstraint(fields=["project", "key"], name="one_section_per_key")]

    def __str__(self) -> str:
        return f"{self.project}: {self.key} v{self.version}"


class SpecificAim(models.Model):
    """A measurable aim: measure, baseline, target, by a date."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="specific_aims")
    measure = models.CharField(max_length=200)
    baseline = models.CharField(max_length=60)
    target = models.CharField(max_length=60)
    target_date = models.DateField("by")
    met = models.BooleanField("met", null=True, blank=True, help_text="Recorded when the project completes.")
    created_at = models.DateTimeField(default=timezone.now)
    history = HistoricalRecords()

    class Meta:
        ordering = ["target_date", "id"]

    def __str__(self) -> str:
        return f"{self.measure}: {self.baseline} → {self.target} by {self.target_date}"
