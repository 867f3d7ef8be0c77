from django.apps import AppConfig


class SubscribersConfig(AppConfig):
    name = "subscribers"
    verbose_name = "Subscribers"

    def ready(self):
        from anymail.signals import inbound, tracking
        from django.db.models.signals import pre_delete

        from .inbound import handle_inbound
        from .models import Subscriber
        from .services.privacy import forget_before_deletion
        from .tracking import handle_tracking

        # Other apps (the delivery ledger) connect their own receivers to the same signal.
        tracking.connect(handle_tracking, dispatch_uid="subscribers.handle_tracking")
        inbound.connect(handle_inbound, dispatch_uid="subscribers.handle_inbound")
        # However a subscriber is deleted (erasure, the admin), other apps detach their rows.
        pre_delete.connect(
            forget_before_deletion, sender=Subscriber, dispatch_uid="subscribers.forget"
        )
