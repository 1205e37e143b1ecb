"""The outbox: one row per message to send, each with a unique deduplication key.

The database, not the broker, says what is due. The sweep (``notifications.sweep``) finds
what is due and creates missing rows idempotently (the key is unique); a send task claims a
row with a conditional update, sends it, then marks it sent (``notifications.outbox``). A
row is also what the in-app notification list shows.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    """What a notification is about; each user can turn each kind off (``Preference``)."""

    FOLLOW_UP_SOON = "follow_up_soon", "A follow-up due in 14 days"
    FOLLOW_UP_TODAY = "follow_up_today", "A follow-up due today"
    SESSION_TOMORROW = "session_tomorrow", "A coaching session tomorrow"
    ACTIONS_OVERDUE = "actions_overdue", "Your overdue actions (a daily digest)"
    REFRESHER_DUE = "refresher_due", "Your coaching refresher falling due"
    LEAD_WEEKLY = "lead_weekly", "The programme's weekly digest (leads)"
    PRACTICE_MONTHLY = "practice_monthly", "Your practice's monthly digest"


class Status(models.TextChoices):
    PENDING = "pending", "Waiting to be sent"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent: turned off by the recipient"


class Notification(models.Model):
    key = models.CharField(max_length=200, unique=True, help_text="For example follow-up:123:due-14-days.")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body_text = models.TextField()
    body_html = models.TextField(blank=True)
    link = models.CharField(max_length=300, blank=True, help_text="The page it is about, as a path.")
    ics = models.TextField("calendar invitation (.ics)", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["status", "created_at"]),
            models.Index(fields=["recipient", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.key} → {self.recipient_id} ({self.status})"


class Preference(models.Model):
    """A kind of notification a user turned off (or back on); with no row, it is on."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preferences"
    )
    kind = models.CharField(max_length=30, choices=Kind.choices)
    enabled = models.BooleanField(default=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "kind"], name="one_preference_per_kind")]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.kind} {'on' if self.enabled else 'off'}"
