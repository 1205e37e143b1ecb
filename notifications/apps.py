from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    """Reminders and digests: the outbox, the sweep that fills it, and the tasks that send it."""

    name = "notifications"
    verbose_name = "Notifications"
    default_auto_field = "django.db.models.BigAutoField"
