from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from . import tracking  # noqa: F401  (connects the ESP tracking receiver)
