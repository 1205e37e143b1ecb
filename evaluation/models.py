"""Follow-ups: the formal reviews at 6 and 12 months after a project completes.

A completed project gets exactly one follow-up of each kind (the database holds it to
that), due 6 and 12 months after its completion date and assigned to its lead coach. A
follow-up can be rescheduled with a reason (kept as its history); left 30 days past its
due date unheld, it is overdue. Its review records whether the change was sustained and
why, and the 12-month review closes the project.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from projects.models import Project, TeamMember

OVERDUE_AFTER = timedelta(days=30)


class FollowUpKind(models.TextChoices):
    SIX_MONTHS = "6m", "6-month follow-up"
    TWELVE_MONTHS = "12m", "12-month follow-up"


MONTHS_AFTER = {FollowUpKind.SIX_MONTHS: 6, FollowUpKind.TWELVE_MONTHS: 12}


class FollowUpStatus(models.TextChoices):
    SCHEDULED = "scheduled", "Scheduled"
    HELD = "held", "Held"
    CANCELLED = "cancelled", "Cancelled"  # the project was withdrawn after completing


class FollowUp(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="follow_ups")
    kind = models.CharField(max_length=3, choices=FollowUpKind.choices)
    due_on = models.DateField("due")
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="follow_ups"
    )
    status = models.CharField(max_length=10, choices=FollowUpStatus.choices, default=FollowUpStatus.SCHEDULED)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["due_on", "id"]
        constraints = [models.UniqueConstraint(fields=["project", "kind"], name="one_follow_up_per_kind")]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}: {self.project}"

    def get_absolute_url(self) -> str:
        return reverse("evaluation:follow_up", args=[self.pk])

    def is_overdue(self, today: date | None = None) -> bool:
        today = today or timezone.localdate()
        return self.status == FollowUpStatus.SCHEDULED and today > self.due_on + OVERDUE_AFTER


class FollowUpReschedule(models.Model):
    """One move of a follow-up's date, with why: the follow-up's history."""

    follow_up = models.ForeignKey(FollowUp, on_delete=models.CASCADE, related_name="reschedules")
    from_date = models.DateField()
    to_date = models.DateField()
    reason = models.TextField(max_length=1000)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.follow_up}: {self.from_date} → {self.to_date}"


class Sustained(models.TextChoices):
    SUSTAINED = "sustained", "Sustained"
    PARTLY = "partly", "Partly sustained"
    NOT_SUSTAINED = "not_sustained", "Not sustained"


class NotSustainedReason(models.TextChoices):
    """Why a change was not (fully) sustained: the reasons the evaluation heard most."""

    STAFF_TURNOVER = "staff_turnover", "Staff turnover"
    LACK_OF_TIME = "lack_of_time", "Lack of time"
    FUNDING_ENDED = "funding_ended", "Funding ended"
    REVERTED = "reverted", "Reverted to old routines"
    OTHER = "other", "Other"


class FollowUpReview(models.Model):
    """What the follow-up found: held when and with whom, sustained or not and why, and what next."""

    follow_up = models.OneToOneField(FollowUp, on_delete=models.CASCADE, related_name="review")
    held_on = models.DateField("date held")
    attendees = models.ManyToManyField(TeamMember, blank=True, related_name="follow_up_reviews")
    other_attendees = models.CharField("others who came", max_length=300, blank=True)
    sustained = models.CharField("is the change sustained?", max_length=20, choices=Sustained.choices)
    reasons = models.JSONField("why not (fully)", default=list, blank=True)  # NotSustainedReason values
    other_reason = models.CharField(max_length=300, blank=True)
    plans_another_project = models.BooleanField("the practice plans another project", default=False)
    next_project_idea = models.TextField("its idea", max_length=1000, blank=True)
    notes = models.TextField(max_length=5000, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"Review of {self.follow_up}"
