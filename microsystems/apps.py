from django.apps import AppConfig


class MicrosystemsConfig(AppConfig):
    name = "microsystems"
    verbose_name = "Microsystems"

    def ready(self) -> None:
        # Connect receivers: the login audit; the Celery request ids and task failures.
        from . import logs, security, task_failures  # noqa: F401
