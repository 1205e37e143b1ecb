from django.apps import AppConfig


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the project rules)
