"""A person's own data: download it, erase it leaving only an anonymous hash, or ask that
nothing about what they read be recorded.

Other apps keep data about subscribers the audience knows nothing of (the engagement of
``issues``: clicks, opens). They register a ``PersonalDataHolder`` from their AppConfig's
``ready``, and each flow here asks every holder: what it tells the person, what it exports,
what it forgets. So the preferences page, the export and erasure stay complete without this
app importing theirs.
"""

from typing import Protocol

from django.db import transaction

from ..models import ConsentEvent, ErasedAddress, Source, Subscriber
from .addresses import email_hash


class PersonalDataHolder(Protocol):
    """Another app's data about subscribers."""

    name: str  # its key in the data export

    def notices(self, subscriber: Subscriber) -> list[str]:
        """What the preferences page tells the person about what is recorded of them."""

    def export(self, subscriber: Subscriber):
        """Their data, JSON-ready, for the download."""

    def forget(self, subscriber: Subscriber) -> None:
        """Remove what is recorded of them (erasure, or they asked for no tracking)."""


_holders: dict[str, PersonalDataHolder] = {}


def register_personal_data(holder: PersonalDataHolder) -> None:
    _holders[holder.name] = holder


def privacy_notices(subscriber: Subscriber) -> list[str]:
    return [notice for holder in _holders.values() for notice in holder.notices(subscriber)]


def set_no_tracking(subscriber: Subscriber, no_tracking: bool) -> None:
    """The person's choice about tracking; choosing none also forgets what was recorded."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(no_tracking=no_tracking)
        subscriber.no_tracking = no_tracking
        if no_tracking:
            for holder in _holders.values():
                holder.forget(subscriber)


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
        "no_tracking": subscriber.no_tracking,
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
                # The mail an unsubscribe came through ("issue:<id>"), as the reader's link said.
                "campaign": e.campaign,
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
        **{name: holder.export(subscriber) for name, holder in _holders.items()},
    }


def erase(subscriber: Subscriber, *, source: str = Source.EMAIL) -> None:
    """Delete a person's data; keep only an anonymous hash so no import brings them back.

    Consent events lose their link, IP and user agent but stay as anonymous counts.
    """
    with transaction.atomic():
        for holder in _holders.values():
            holder.forget(subscriber)
        ErasedAddress.objects.get_or_create(email_hash=email_hash(subscriber.email))
        subscriber.consent_events.update(ip=None, user_agent="")
        ConsentEvent.objects.create(
            subscriber=None, action=ConsentEvent.Action.ERASE, source=source
        )
        subscriber.delete()


def is_erased(email: str) -> bool:
    return ErasedAddress.objects.filter(email_hash=email_hash(email)).exists()
