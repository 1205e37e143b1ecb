"""Commissioners, PCNs, practices, the people in them and each practice's engagement."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class CommissionerKind(models.TextChoices):
    CCG = "ccg", "CCG"
    ICB = "icb", "ICB"
    SUB_ICB = "sub_icb", "Sub-ICB location"


class Commissioner(models.Model):
    ods_code = models.CharField("ODS code", max_length=10, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=10, choices=CommissionerKind.choices, default=CommissionerKind.SUB_ICB)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Pcn(models.Model):
    """A primary care network: practices working together, within one commissioner."""

    code = models.CharField(max_length=10, unique=True)
    name = models.CharField(max_length=200)
    commissioner = models.ForeignKey(Commissioner, on_delete=models.PROTECT, related_name="pcns")

    class Meta:
        ordering = ["name"]
        verbose_name = "PCN"
        verbose_name_plural = "PCNs"

    def __str__(self) -> str:
        return self.name


class OdsStatus(models.TextChoices):
    ACTIVE = "A", "Active"
    CLOSED = "C", "Closed"
    DORMANT = "D", "Dormant"
    PROPOSED = "P", "Proposed"


class Engagement(models.TextChoices):
    NOT_APPROACHED = "not_approached", "Not yet approached"
    INVITED = "invited", "Invited"
    ENGAGED = "engaged", "Engaged"
    DECLINED = "declined", "Declined"
    WITHDREW = "withdrew", "Withdrew"


class Cohort(models.TextChoices):
    NONE = "", "None yet"
    EARLY_ADOPTER = "early_adopter", "Early adopter"
    LATE_MAJORITY = "late_majority", "Late majority"


class EngagementReason(models.TextChoices):
    """Why a practice declined or withdrew: the reasons the evaluation heard most."""

    NO_TIME = "no_time", "No time to take part"
    STAFFING = "staffing", "Staff shortages or turnover"
    OTHER_PRIORITIES = "other_priorities", "Other priorities (for example CQC, mergers)"
    NOT_CONVINCED = "not_convinced", "Not convinced of the benefit"
    PREMISES_OR_MERGER = "premises_or_merger", "Practice merger, move or closure"
    OTHER = "other", "Other"


class Practice(models.Model):
    ods_code = models.CharField("ODS code", max_length=10, unique=True)
    name = models.CharField(max_length=200, db_index=True)
    address = models.CharField(max_length=400, blank=True)
    postcode = models.CharField(max_length=10, blank=True)
    list_size = models.PositiveIntegerField(null=True, blank=True)
    commissioner = models.ForeignKey(Commissioner, on_delete=models.PROTECT, related_name="practices")
    pcn = models.ForeignKey(Pcn, null=True, blank=True, on_delete=models.SET_NULL, related_name="practices")
    ods_status = models.CharField("ODS status", max_length=1, choices=OdsStatus.choices, default=OdsStatus.ACTIVE)
    opened_on = models.DateField(null=True, blank=True)
    closed_on = models.DateField(null=True, blank=True)
    engagement = models.CharField(max_length=20, choices=Engagement.choices, default=Engagement.NOT_APPROACHED)
    engagement_since = models.DateField(null=True, blank=True)
    cohort = models.CharField("adoption cohort", max_length=20, choices=Cohort.choices, default=Cohort.NONE, blank=True)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["commissioner", "name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.ods_code})"

    def get_absolute_url(self) -> str:
        return reverse("practices:detail", args=[self.ods_code])

    @property
    def engagement_label(self) -> str:
        return Engagement(self.engagement).label

    @property
    def cohort_label(self) -> str:
        return Cohort(self.cohort).label


class EngagementChange(models.Model):
    """One change of a practice's engagement or cohort: kept for ever as its history."""

    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="engagement_changes")
    changed_at = models.DateTimeField(default=timezone.now)
    changed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    effective_on = models.DateField()
    from_engagement = models.CharField(max_length=20, choices=Engagement.choices)
    to_engagement = models.CharField(max_length=20, choices=Engagement.choices)
    from_cohort = models.CharField(max_length=20, choices=Cohort.choices, blank=True)
    to_cohort = models.CharField(max_length=20, choices=Cohort.choices, blank=True)
    reason = models.CharField(max_length=30, choices=EngagementReason.choices, blank=True)
    reason_detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-changed_at", "-id"]

    def __str__(self) -> str:
        return f"{self.practice.ods_code}: {self.from_engagement} → {self.to_engagement}"


class StaffRole(models.TextChoices):
    GP = "gp", "GP"
    PRACTICE_MANAGER = "practice_manager", "Practice manager"
    NURSE = "nurse", "Nurse"
    HEALTHCARE_ASSISTANT = "hca", "Healthcare assistant"
    RECEPTIONIST = "receptionist", "Receptionist or administrator"
    CARE_COORDINATOR = "care_coordinator", "Care co-ordinator"
    OTHER = "other", "Other"


class PracticeMembership(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    practice = models.ForeignKey(Practice, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=20, choices=StaffRole.choices)
    invited_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "practice"], name="one_membership_per_practice")]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()} at {self.practice.name}"


class ProgrammeRoleKind(models.TextChoices):
    LEAD = "lead", "Programme lead"
    COACH = "coach", "Coach"
    FINANCE = "finance", "Finance"


class ProgrammeRole(models.Model):
    """A role within one commissioner's programme: what tenancy hangs on."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="programme_roles")
    commissioner = models.ForeignKey(Commissioner, on_delete=models.CASCADE, related_name="programme_roles")
    role = models.CharField(max_length=10, choices=ProgrammeRoleKind.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "commissioner", "role"], name="one_programme_role_each")]

    def __str__(self) -> str:
        return f"{self.user} – {self.get_role_display()}, {self.commissioner}"


class OdsImportStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class OdsImport(models.Model):
    """One upload of the ODS practice file, with its progress and outcome."""

    commissioner = models.ForeignKey(Commissioner, on_delete=models.CASCADE, related_name="ods_imports")
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_at = models.DateTimeField(default=timezone.now)
    file = models.FileField(upload_to="ods-imports/")
    file_name = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=10, choices=OdsImportStatus.choices, default=OdsImportStatus.QUEUED)
    rows_total = models.PositiveIntegerField(default=0)
    rows_done = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    problems = models.JSONField(default=list, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]

    def __str__(self) -> str:
        return f"ODS import {self.pk} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("practices:import_detail", args=[self.pk])

    @property
    def percent_done(self) -> int:
        return 100 if not self.rows_total else min(100, round(100 * self.rows_done / self.rows_total))

    @property
    def is_finished(self) -> bool:
        return self.status in {OdsImportStatus.DONE, OdsImportStatus.FAILED}
