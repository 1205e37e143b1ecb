"""Coaches and their development, coaching agreements, and the sessions coaches log with their actions.

A coach is a user with a ``CoachProfile`` (and the coach programme role at their
commissioner). Experience is never typed: it is worked out from the projects they have
coached. A session moves from planned (its date set by the previous session's log) to a
draft the coach is writing, to held; its actions live on the project, so an open action is
carried into every later session until it is done or dropped.
"""

from __future__ import annotations

import secrets
from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from practices.models import Commissioner
from projects.models import Project, Step, TeamMember

REFRESHER_AFTER = timedelta(days=365)


class CoachLevel(models.TextChoices):
    IN_TRAINING = "in_training", "In training"
    COACH = "coach", "Coach"
    MENTOR = "mentor", "Mentor"


class ClinicalBackground(models.TextChoices):
    NONE = "", "None"
    GP = "gp", "GP"
    NURSE = "nurse", "Nurse"
    PHARMACIST = "pharmacist", "Pharmacist"
    AHP = "ahp", "Allied health professional"
    OTHER = "other", "Other clinical"


def new_calendar_token() -> str:
    return secrets.token_urlsafe(32)


class CoachProfile(models.Model):
    """A commissioner's manager who coaches: their role, background, training, time and limits."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="coach_profile")
    commissioner = models.ForeignKey(Commissioner, on_delete=models.PROTECT, related_name="coaches")
    commissioning_role = models.CharField(max_length=150, help_text="Their job at the commissioner.")
    commissioned_areas = models.JSONField(
        "clinical areas they commission",
        default=list,
        blank=True,
        help_text="To spot conflicts of interest: a coach does not coach a project in an area they commission.",
    )
    clinical_background = models.CharField(max_length=12, choices=ClinicalBackground.choices, blank=True)
    trained_on = models.DateField("date trained", null=True, blank=True)
    level = models.CharField(max_length=12, choices=CoachLevel.choices, default=CoachLevel.IN_TRAINING)
    protected_hours = models.DecimalField(
        "protected hours a week", max_digits=4, decimal_places=1, default=2, help_text="Time set aside for coaching."
    )
    max_projects = models.PositiveSmallIntegerField("most projects at once", default=3)
    is_active = models.BooleanField("active", default=True)
    calendar_token = models.CharField(max_length=64, unique=True, default=new_calendar_token)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["user__full_name", "user__email"]

    def __str__(self) -> str:
        return self.user.get_full_name()

    def get_absolute_url(self) -> str:
        return reverse("coaching:coach", args=[self.pk])


class TrainingRecord(models.Model):
    """A course a coach completed; the last one sets when a refresher falls due."""

    coach = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="training")
    course = models.CharField(max_length=200)
    is_refresher = models.BooleanField("refresher", default=False)
    completed_on = models.DateField()
    hours = models.DecimalField(max_digits=5, decimal_places=1)

    class Meta:
        ordering = ["-completed_on", "-id"]

    def __str__(self) -> str:
        return f"{self.course} ({self.completed_on})"


def refresher_due(last_training: date | None) -> date | None:
    return last_training + REFRESHER_AFTER if last_training else None


class Mentoring(models.Model):
    """A mentor supporting a less experienced coach, from one date to (optionally) another."""

    mentor = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="mentees")
    mentee = models.ForeignKey(CoachProfile, on_delete=models.CASCADE, related_name="mentors")
    starts_on = models.DateField()
    ends_on = models.DateField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_on", "-id"]
        constraints = [
            models.CheckConstraint(condition=~Q(mentor=models.F("mentee")), name="no_self_mentoring"),
            models.CheckConstraint(
                condition=Q(ends_on__isnull=True) | Q(ends_on__gte=models.F("starts_on")), name="mentoring_in_order"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.mentor} mentors {self.mentee}"

    def is_active_on(self, day: date) -> bool:
        return self.starts_on <= day and (self.ends_on is None or self.ends_on >= day)


def agreement_upload_to(instance: CoachingAgreement, filename: str) -> str:
    return f"agreements/{instance.project_id}/{secrets.token_hex(8)}.pdf"


class CoachingAgreement(models.Model):
    """The signed agreement between a practice and its coach(es): needed before a project leaves Organise."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="agreement")
    signed_by_name = models.CharField("signed for the practice by", max_length=150)
    signed_by_role = models.CharField("their role", max_length=100, help_text="A partner or the practice manager.")
    signed_on = models.DateField("date signed")
    coaches = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="coaching_agreements")
    meeting_slot = models.CharField(
        "regular meeting slot", max_length=100, help_text="For example, Tuesdays at 1pm, every two weeks."
    )
    meeting_minutes = models.PositiveSmallIntegerField("meeting length in minutes", default=60)
    staff_released = models.TextField("staff released to attend", max_length=1000)
    champion = models.CharField("named champion", max_length=150)
    patients_involved = models.TextField("how patients are involved", max_length=1000)
    signed_copy = models.FileField(upload_to=agreement_upload_to, blank=True, max_length=200)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Coaching agreement: {self.project}"


class SessionFormat(models.TextChoices):
    IN_PERSON = "in_person", "In person"
    PHONE = "phone", "Phone"
    VIDEO = "video", "Video"


class SessionStatus(models.TextChoices):
    PLANNED = "planned", "Planned"
    DRAFT = "draft", "Being logged"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"


class Session(models.Model):
    """One coaching session of a project: planned, being logged (a draft that autosaves), held or cancelled."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="sessions")
    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="coaching_sessions")
    status = models.CharField(max_length=10, choices=SessionStatus.choices, default=SessionStatus.PLANNED)
    on = models.DateField("date")
    starts_at = models.TimeField("start time")
    planned_minutes = models.PositiveSmallIntegerField("planned length (minutes)", default=60)
    actual_minutes = models.PositiveSmallIntegerField("actual length (minutes)", null=True, blank=True)
    format = models.CharField(max_length=10, choices=SessionFormat.choices, default=SessionFormat.IN_PERSON)
    step = models.CharField("step worked on", max_length=20, choices=Step.choices, blank=True)
    meeting_roles = models.JSONField(
        default=dict, blank=True, help_text="Meeting role → team member id: leader, facilitator, timekeeper, recorder."
    )
    agenda = models.TextField(max_length=2000, blank=True)
    notes = models.TextField(max_length=5000, blank=True)
    decisions = models.TextField(max_length=2000, blank=True)
    next_on = models.DateField("next session", null=True, blank=True)
    next_starts_at = models.TimeField("next session's start time", null=True, blank=True)
    version = models.PositiveIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-on", "-starts_at", "-id"]
        indexes = [
            models.Index(fields=["project", "on"]),
            models.Index(fields=["project", "status", "on"]),  # a project's last held and next planned session
            models.Index(fields=["coach", "on"]),
            models.Index(fields=["status", "on"]),
        ]

    def __str__(self) -> str:
        return f"{self.project}: session on {self.on}"

    def get_absolute_url(self) -> str:
        return reverse("coaching:session", args=[self.pk])

    @property
    def overrun_minutes(self) -> int:
        if self.actual_minutes is None:
            return 0
        return max(0, self.actual_minutes - self.planned_minutes)


class Attendance(models.TextChoices):
    PRESENT = "present", "Attended"
    APOLOGIES = "apologies", "Sent apologies"
    ABSENT = "absent", "Did not attend"


class SessionAttendance(models.Model):
    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="attendance")
    member = models.ForeignKey(TeamMember, on_delete=models.CASCADE, related_name="attendance")
    status = models.CharField(max_length=10, choices=Attendance.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["session", "member"], name="attendance_once_per_member")]

    def __str__(self) -> str:
        return f"{self.member}: {self.get_status_display()}"


class ActionStatus(models.TextChoices):
    OPEN = "open", "Open"
    DONE = "done", "Done"
    DROPPED = "dropped", "Dropped"


class Action(models.Model):
    """Something the team agreed to do, owned by a team member; open until done or dropped."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="actions")
    raised_in = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="actions_raised")
    description = models.CharField("what", max_length=300)
    owner = models.ForeignKey(TeamMember, on_delete=models.PROTECT, related_name="actions")
    due_on = models.DateField("due")
    status = models.CharField(max_length=10, choices=ActionStatus.choices, default=ActionStatus.OPEN)
    closed_on = models.DateField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        indexes = [models.Index(fields=["project", "status", "due_on"]), models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return self.description

    def is_overdue(self, today: date | None = None) -> bool:
        return self.status == ActionStatus.OPEN and self.due_on < (today or timezone.localdate())


class Reflection(models.Model):
    """A coach's private reflection after a session: only the coach and their mentor read it."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="reflections")
    coach = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reflections")
    text = models.TextField(max_length=5000)
    written_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-written_at"]

    def __str__(self) -> str:
        return f"Reflection by {self.coach} on {self.session}"
