from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Subscribers"

    def ready(self):
        from anymail.signals import tracking

        from .tracking import handle_tracking

        # Other apps (the delivery ledger) connect their own receivers to the same signal.
        tracking.connect(handle_tracking, dispatch_uid="subscribers.handle_tracking")
