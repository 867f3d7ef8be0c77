from django.apps import AppConfig


class IssuesConfig(AppConfig):
    name = "issues"

    def ready(self):
        from subscribers.segments import provide_engagement
        from subscribers.services import provide_own_welcome, register_personal_data

        from .delivery import esp_events  # noqa: F401  (connects the ESP tracking receiver)
        from .engagement.history import EngagementHistory
        from .engagement.segments import PROVIDER
        from .sequences import newsletters_greeting_at_once

        # The audience's download, erasure and preferences page include engagement history.
        register_personal_data(EngagementHistory())
        # Segments (in subscribers) ask for engagement through this seam, never importing us.
        provide_engagement(PROVIDER)
        # A newsletter whose welcome sequence greets new readers at once gets no generic welcome.
        provide_own_welcome(newsletters_greeting_at_once)
