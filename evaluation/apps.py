from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation and follow-ups"

    def ready(self) -> None:
        from django.db.models.signals import post_migrate

        from . import permissions  # noqa: F401  (registers the rules)
        from .data_version import install_triggers

        post_migrate.connect(install_triggers, sender=self, dispatch_uid="evaluation.data_version")
