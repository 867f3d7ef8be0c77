from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from subscribers.segments import provide_engagement
        from subscribers.services import register_personal_data

        from . import tracking  # noqa: F401  (connects the ESP tracking receiver)
        from .engagement.history import EngagementHistory
        from .engagement.segments import PROVIDER

        # The audience's download, erasure and preferences page include engagement history.
        register_personal_data(EngagementHistory())
        # Segments (in subscribers) ask for engagement through this seam, never importing us.
        provide_engagement(PROVIDER)
