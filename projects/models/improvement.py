"""Improvement data: change ideas, the PDSA cycles that test them, measures and their values, and charts.

A measure's values are one per period (a week or a month): ``period`` is the start of the
period the date falls in, so two values for the same week are refused by the database as
well as by the form. Charts are rendered by Celery into storage; a ``Chart`` row says which
rendering is current, keyed by a hash of the data, the settings and the chart code version,
so an unchanged chart is never rendered twice and a stale one is never shown as current.
"""

from __future__ import annotations

from datetime import date, timedelta

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from simple_history.models import HistoricalRecords

from .core import Project, SpecificAim

TEXT_LIMIT = 2000


class ChangeIdea(models.Model):
    """A change the team wants to test, optionally answering a fishbone cause and serving a specific aim."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="change_ideas")
    title = models.CharField(max_length=200)
    description = models.TextField(max_length=TEXT_LIMIT, blank=True)
    fishbone_cause = models.CharField(
        "fishbone cause", max_length=200, blank=True, help_text="The cause on the fishbone this idea addresses."
    )
    specific_aim = models.ForeignKey(
        SpecificAim, null=True, blank=True, on_delete=models.SET_NULL, related_name="change_ideas"
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return self.title


class ActDecision(models.TextChoices):
    ADOPT = "adopt", "Adopt"
    ADAPT = "adapt", "Adapt"
    ABANDON = "abandon", "Abandon"


class PdsaCycle(models.Model):
    """One Plan-Do-Study-Act cycle testing a change idea; ``follows`` links the cycles of a ramp."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="cycles")
    number = models.PositiveIntegerField(help_text="Numbered within the project: PDSA 1, 2, 3…")
    change_idea = models.ForeignKey(ChangeIdea, on_delete=models.PROTECT, related_name="cycles")
    follows = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="followed_by",
        help_text="The cycle this one builds on (a ramp).",
    )  # fmt: skip
    # Plan
    objective = models.TextField(max_length=1000)
    questions = models.TextField("questions we want answered", max_length=TEXT_LIMIT, blank=True)
    predictions = models.TextField("what we predict will happen", max_length=TEXT_LIMIT, blank=True)
    tasks = models.JSONField("tasks (who, what, when, where)", default=list, blank=True)
    data_to_collect = models.TextField("data to collect", max_length=TEXT_LIMIT, blank=True)
    planned_start = models.DateField("planned start")
    planned_end = models.DateField("planned end")
    # Do
    actual_start = models.DateField("actual start", null=True, blank=True)
    actual_end = models.DateField("actual end", null=True, blank=True)
    as_planned = models.BooleanField("carried out as planned", null=True, blank=True)
    observations = models.TextField(max_length=TEXT_LIMIT, blank=True)
    problems = models.TextField(max_length=TEXT_LIMIT, blank=True)
    # Study
    results = models.TextField("results against the predictions", max_length=TEXT_LIMIT, blank=True)
    measures = models.ManyToManyField("Measure", blank=True, related_name="cycles")  # type: ignore[var-annotated]
    # Act
    decision = models.CharField(max_length=10, choices=ActDecision.choices, blank=True)
    next_steps = models.TextField("what next", max_length=TEXT_LIMIT, blank=True)

    version = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(null=True, blank=True)
    history = HistoricalRecords(m2m_fields=[measures])

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["project", "number"], name="one_cycle_number_per_project"),
            models.CheckConstraint(condition=Q(planned_end__gte=models.F("planned_start")), name="cycle_plan_in_order"),
            models.CheckConstraint(
                condition=Q(actual_end__isnull=True)
                | Q(actual_start__isnull=True)
                | Q(actual_end__gte=models.F("actual_start")),
                name="cycle_actual_in_order",
            ),
        ]

    def __str__(self) -> str:
        return f"PDSA {self.number}: {self.change_idea}"

    def get_absolute_url(self) -> str:
        return reverse("projects:cycle", args=[self.project_id, self.pk])

    @property
    def studied(self) -> bool:
        return bool(self.results.strip())

    @property
    def acted(self) -> bool:
        return bool(self.decision)

    @property
    def stage(self) -> str:
        """How far round the cycle the team has got, for badges and the completion guard."""
        if self.studied and self.acted:
            return "Acted on"
        if self.studied:
            return "Studied"
        if self.actual_start or self.observations.strip() or self.as_planned is not None:
            return "Doing"
        return "Planned"


class MeasureKind(models.TextChoices):
    OUTCOME = "outcome", "Outcome"
    PROCESS = "process", "Process"
    BALANCING = "balancing", "Balancing"


class Unit(models.TextChoices):
    COUNT = "count", "Count"
    PERCENTAGE = "percentage", "Percentage"
    DAYS = "days", "Days"
    HOURS = "hours", "Hours"
    MINUTES = "minutes", "Minutes"
    SCORE = "score", "Score"
    RATE = "rate", "Rate per 1,000"


class Direction(models.TextChoices):
    UP = "up", "Up is better"
    DOWN = "down", "Down is better"
    NEITHER = "", "Neither"


class Frequency(models.TextChoices):
    WEEKLY = "weekly", "Weekly"
    MONTHLY = "monthly", "Monthly"


def period_start(on: date, frequency: str) -> date:
    """The first day of the period ``on`` falls in: the Monday of its week, or the 1st of its month."""
    if frequency == Frequency.MONTHLY:
        return on.replace(day=1)
    return on - timedelta(days=on.weekday())


class ImprovementSignal(models.TextChoices):
    """What the measure's XmR chart says of its latest point, kept on the row so reports count it in the database.

    Recomputed by ``projects.measures`` whenever the values, the direction or the baseline change.
    """

    IMPROVING = "improving", "Special-cause improvement"
    WORSENING = "worsening", "Special-cause concern"
    NONE = "none", "Common-cause variation"
    UNKNOWN = "", "Not enough data or no direction"


class Measure(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="measures")
    name = models.CharField(max_length=150)
    kind = models.CharField("type", max_length=10, choices=MeasureKind.choices)
    definition = models.TextField(
        "operational definition", max_length=TEXT_LIMIT, help_text="Exactly what is counted, how and when."
    )
    unit = models.CharField(max_length=12, choices=Unit.choices)
    direction = models.CharField("direction of improvement", max_length=5, choices=Direction.choices, blank=True)
    target = models.DecimalField(max_digits=12, decimal_places=3, null=True, blank=True)
    frequency = models.CharField(max_length=10, choices=Frequency.choices, default=Frequency.WEEKLY)
    baseline_points = models.PositiveSmallIntegerField(
        "baseline: the first N points", null=True, blank=True, help_text="Leave empty to use every point."
    )
    baseline_from = models.DateField("baseline from", null=True, blank=True)
    baseline_to = models.DateField("baseline to", null=True, blank=True)
    specific_aim = models.ForeignKey(
        SpecificAim, null=True, blank=True, on_delete=models.SET_NULL, related_name="measures"
    )
    improvement_signal = models.CharField(
        max_length=10, choices=ImprovementSignal.choices, blank=True, default=ImprovementSignal.UNKNOWN, editable=False
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["kind", "name", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="measure_name_unique_in_project"),
            models.CheckConstraint(
                condition=Q(baseline_points__isnull=True) | Q(baseline_from__isnull=True),
                name="measure_one_kind_of_baseline",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("projects:measure", args=[self.project_id, self.pk])


class MeasureValue(models.Model):
    """One value of a measure for one period; an astronomical point is kept but explained."""

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="values")
    on = models.DateField("date")
    period = models.DateField(help_text="The start of the week or month the date falls in.")
    value = models.DecimalField(max_digits=12, decimal_places=3)
    note = models.CharField(max_length=300, blank=True)
    astronomical = models.BooleanField("astronomical data point", default=False)
    astronomical_reason = models.CharField(max_length=300, blank=True)
    follow_up_kind = models.CharField(
        "entered at a follow-up review",
        max_length=3,
        blank=True,
        help_text="The review's kind (evaluation.FollowUpKind: 6m or 12m); the run chart marks these points.",
    )
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    entered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["period"]
        constraints = [
            models.UniqueConstraint(fields=["measure", "period"], name="one_value_per_period"),
            models.CheckConstraint(
                condition=Q(astronomical=False) | ~Q(astronomical_reason=""), name="astronomical_point_has_reason"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.measure}: {self.value} on {self.on}"


class ChartKind(models.TextChoices):
    RUN = "run", "Run chart"
    XMR = "xmr", "XmR chart"


class Chart(models.Model):
    """The current rendering of one chart of a measure; ``key`` names the data it was drawn from."""

    class Status(models.TextChoices):
        PENDING = "pending", "Rendering"
        READY = "ready", "Ready"
        FAILED = "failed", "Failed"

    measure = models.ForeignKey(Measure, on_delete=models.CASCADE, related_name="charts")
    kind = models.CharField(max_length=5, choices=ChartKind.choices)
    key = models.CharField(max_length=64, help_text="Hash of the data, settings and chart code version.")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    png = models.CharField(max_length=200, blank=True, help_text="Path in storage.")
    svg = models.CharField(max_length=200, blank=True, help_text="Path in storage.")
    alt = models.TextField("alt text", blank=True)
    requested_at = models.DateTimeField(default=timezone.now)
    rendered_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["measure", "kind"], name="one_chart_per_measure_and_kind")]

    def __str__(self) -> str:
        return f"{self.measure}: {self.kind} ({self.status})"
