from django.apps import AppConfig


class SuperfastConfig(AppConfig):
    name = "superfast"
    verbose_name = "Superfast"

    def ready(self):
        from . import checks  # noqa: F401  (registers the production system checks)
