from django.apps import AppConfig


class MicrosystemsConfig(AppConfig):
    name = "microsystems"
    verbose_name = "Microsystems"

    def ready(self) -> None:
        from . import security  # noqa: F401  (connects the login audit receivers)
