from django.apps import AppConfig
from django.db.models.signals import post_migrate


class ProjectsConfig(AppConfig):
    name = "projects"

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the project rules)
        from .payments import scopes  # noqa: F401  (registers the payment rules)
        from .payments.db_guard import install_paid_is_final

        post_migrate.connect(install_paid_is_final, sender=self, dispatch_uid="projects.paid_is_final")
