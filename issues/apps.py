from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from subscribers.segments import provide_engagement

        from . import tracking  # noqa: F401  (connects the ESP tracking receiver)
        from .engagement.segments import PROVIDER

        # Segments (in subscribers) ask for engagement through this seam, never importing us.
        provide_engagement(PROVIDER)
