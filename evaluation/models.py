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


class EmbeddingOccasion(models.TextChoices):
    """When the practice team scores itself: at the start of its project and at each follow-up."""

    BASELINE = "baseline", "Baseline (project start)"
    SIX_MONTHS = "6m", "6-month follow-up"
    TWELVE_MONTHS = "12m", "12-month follow-up"


# The ten characteristics of effective microsystems (Table 2 of the evaluation), in its order:
# the model field each is scored in, and how the page names it.
CHARACTERISTICS: tuple[tuple[str, str], ...] = (
    ("leadership", "Leadership"),
    ("organisational_support", "Organisational support"),
    ("staff_focus", "Staff focus"),
    ("education_and_training", "Education and training"),
    ("interdependence", "Interdependence of the care team"),
    ("patient_focus", "Patient focus"),
    ("community_and_market_focus", "Community and market focus"),
    ("performance_results", "Performance results"),
    ("process_improvement", "Process improvement"),
    ("information_technology", "Information and information technology"),
)
SCORE_MIN, SCORE_MAX = 1, 5


def _score(label: str) -> models.PositiveSmallIntegerField:
    return models.PositiveSmallIntegerField(label)


class EmbeddingAssessment(models.Model):
    """A practice team's self-assessment of the ten characteristics, each scored 1 (weak) to 5 (strong).

    One per project and occasion: the baseline when the project starts and one at each follow-up,
    so the change shows per practice and across the programme. Scores are columns, not a JSON blob,
    so the reports average them in the database.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="embedding_assessments")
    occasion = models.CharField(max_length=10, choices=EmbeddingOccasion.choices)
    assessed_on = models.DateField("date assessed")
    leadership = _score("Leadership")
    organisational_support = _score("Organisational support")
    staff_focus = _score("Staff focus")
    education_and_training = _score("Education and training")
    interdependence = _score("Interdependence of the care team")
    patient_focus = _score("Patient focus")
    community_and_market_focus = _score("Community and market focus")
    performance_results = _score("Performance results")
    process_improvement = _score("Process improvement")
    information_technology = _score("Information and information technology")
    notes = models.TextField(max_length=2000, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["project", "assessed_on", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "occasion"], name="one_embedding_assessment_per_occasion"),
            *(
                models.CheckConstraint(
                    condition=models.Q(**{f"{name}__gte": SCORE_MIN, f"{name}__lte": SCORE_MAX}),
                    name=f"embedding_{name}_1_to_5",
                )
                for name, _ in CHARACTERISTICS
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_occasion_display()}: {self.project}"

    def scores(self) -> dict[str, int]:
        return {name: getattr(self, name) for name, _ in CHARACTERISTICS}

    def mean(self) -> float:
        values = list(self.scores().values())
        return sum(values) / len(values)


class RenderStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Being drawn"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class ReportChart(models.Model):
    """A chart of a programme report, drawn once per content by the worker and kept by its key.

    ``key`` hashes everything drawn (the ``ChartSpec``) and the drawing code's version, so the same
    figures never draw twice and changed figures always get a new chart; the file is
    ``charts/<key>-report.png``, served by signed links like a measure's charts. ``commissioner``
    says whose data it shows: only that commissioner's lead and finance may poll it.
    """

    key = models.CharField(max_length=64, unique=True)
    commissioner = models.ForeignKey("practices.Commissioner", on_delete=models.CASCADE, related_name="report_charts")
    spec = models.JSONField()
    status = models.CharField(max_length=10, choices=RenderStatus.choices, default=RenderStatus.QUEUED)
    error = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Report chart {self.key[:12]} ({self.status})"

    @property
    def file_name(self) -> str:
        return f"charts/{self.key}-report.png"


class ProgrammeReport(models.Model):
    """The programme report of one commissioner and financial year, as a PDF drawn by the worker.

    ``data_key`` hashes every figure the report holds: asking again while the data is unchanged
    finds this row (unique per commissioner, year and key) and reuses its PDF instead of drawing
    it twice. ``progress`` (0–100) and ``stage`` are what the page's indicator shows.
    """

    commissioner = models.ForeignKey(
        "practices.Commissioner", on_delete=models.CASCADE, related_name="programme_reports"
    )
    financial_year = models.PositiveSmallIntegerField()
    data_key = models.CharField(max_length=64)
    status = models.CharField(max_length=10, choices=RenderStatus.choices, default=RenderStatus.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    stage = models.CharField(max_length=120, blank=True)
    file = models.FileField(upload_to="programme-reports/", blank=True)
    error = models.CharField(max_length=300, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["commissioner", "financial_year", "data_key"], name="one_programme_report_per_data"
            ),
            models.CheckConstraint(condition=models.Q(progress__lte=100), name="programme_report_progress_le_100"),
        ]

    def __str__(self) -> str:
        return f"Programme report {self.financial_year} for {self.commissioner_id} ({self.status})"


class DataVersion(models.Model):
    """One row whose ``version`` the database itself bumps on every write to the programme's data.

    Triggers (``evaluation.data_version``) keep it: on SQLite a row-level trigger per tracked table, in
    the writing transaction; on PostgreSQL a sequence (``nextval`` takes no lock, so writers never queue
    on this row) and this row is unused. The dashboard and reports cache their figures under it.
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"Programme data version {self.version}"
