from django.apps import AppConfig


class EvaluationConfig(AppConfig):
    name = "evaluation"
    verbose_name = "Evaluation and follow-ups"

    def ready(self) -> None:
        from . import permissions  # noqa: F401  (registers the rules)
