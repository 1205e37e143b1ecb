from django.apps import AppConfig


class PracticesConfig(AppConfig):
    name = "practices"

    def ready(self) -> None:
        # Connects the signals that invalidate roles remembered in sessions.
        from . import permissions  # noqa: F401
