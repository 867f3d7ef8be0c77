from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from subscribers.services import register_personal_data

        from . import tracking  # noqa: F401  (connects the ESP tracking receiver)
        from .engagement.history import EngagementHistory

        # The audience's download, erasure and preferences page include engagement history.
        register_personal_data(EngagementHistory())
