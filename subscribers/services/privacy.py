"""A person's own data: download it, or erase it leaving only an anonymous hash."""

from django.db import transaction

from ..models import ConsentEvent, ErasedAddress, Source, Subscriber
from .addresses import email_hash


def personal_data(subscriber: Subscriber) -> dict:
    """What we hold about one person, as JSON-ready data (the "download my data").

    Tags are left out: they are the editors' working notes ("researchers", "met at the
    conference"), never shown to subscribers. An operator answering a formal access request
    adds them from ``export_subscribers``.
    """

    def when(value):
        return value.isoformat() if value else None

    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "status": subscriber.status,
        "source": subscriber.source,
        "created_at": when(subscriber.created_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "subscriptions": [
            {
                "newsletter": s.newsletter.name,
                "status": s.status,
                "created_at": when(s.created_at),
                "confirmed_at": when(s.confirmed_at),
                "unsubscribed_at": when(s.unsubscribed_at),
            }
            for s in subscriber.subscriptions.select_related("newsletter")
        ],
        "consent_events": [
            {
                "action": e.action,
                "source": e.source,
                "newsletter_id": e.newsletter_id,
                "ip": e.ip,
                "user_agent": e.user_agent,
                "at": when(e.created_at),
            }
            for e in subscriber.consent_events.all()
        ],
        "suppression_events": [
            {"kind": e.kind, "reason": e.reason, "at": when(e.created_at)}
            for e in subscriber.suppression_events.all()
        ],
    }


def erase(subscriber: Subscriber, *, source: str = Source.EMAIL) -> None:
    """Delete a person's data; keep only an anonymous hash so no import brings them back.

    Consent events lose their link, IP and user agent but stay as anonymous counts.
    """
    with transaction.atomic():
        ErasedAddress.objects.get_or_create(email_hash=email_hash(subscriber.email))
        subscriber.consent_events.update(ip=None, user_agent="")
        ConsentEvent.objects.create(
            subscriber=None, action=ConsentEvent.Action.ERASE, source=source
        )
        subscriber.delete()


def is_erased(email: str) -> bool:
    return ErasedAddress.objects.filter(email_hash=email_hash(email)).exists()
