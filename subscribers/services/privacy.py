"""A person's own data: download it, erase it leaving only an anonymous hash, or ask that
nothing about what they read be recorded.

The download holds every row erasure deletes or detaches, in the person's words: names of
newsletters and titles of emails, never a database id.

Other apps keep data about subscribers the audience knows nothing of (the engagement of
``issues``: clicks, opens). They register a ``PersonalDataHolder`` from their AppConfig's
``ready``, and each flow here asks every holder: what it tells the person, what it exports,
what it forgets. So the preferences page, the export and erasure stay complete without this
app importing theirs.
"""

from datetime import datetime
from typing import Protocol

from django.db import transaction

from ..models import ConsentEvent, ErasedAddress, Source, Subscriber
from .addresses import email_hash


class PersonalDataHolder(Protocol):
    """Another app's data about subscribers."""

    name: str  # its key in the data export

    def notices(self, subscriber: Subscriber) -> list[str]:
        """What the preferences page tells the person about what is recorded of them."""

    def export(self, subscriber: Subscriber) -> object:
        """Their data, JSON-ready, for the download."""

    def forget(self, subscriber: Subscriber) -> None:
        """Take what is recorded of them away from them (erasure, or they asked for no
        tracking): counts it feeds keep their values."""

    def campaign_name(self, campaign: str) -> str | None:
        """What an unsubscribe's campaign reference names, in the person's words (None: not
        this holder's)."""


_holders: dict[str, PersonalDataHolder] = {}


def register_personal_data(holder: PersonalDataHolder) -> None:
    _holders[holder.name] = holder


def privacy_notices(subscriber: Subscriber) -> list[str]:
    return [notice for holder in _holders.values() for notice in holder.notices(subscriber)]


def set_no_tracking(subscriber: Subscriber, no_tracking: bool) -> None:
    """The person's choice about tracking; choosing none also detaches what was recorded."""
    with transaction.atomic():
        Subscriber.objects.filter(pk=subscriber.pk).update(no_tracking=no_tracking)
        subscriber.no_tracking = no_tracking
        if no_tracking:
            for holder in _holders.values():
                holder.forget(subscriber)


def personal_data(subscriber: Subscriber) -> dict[str, object]:
    """What we hold about one person, as JSON-ready data (the "download my data").

    Everything erasure deletes or detaches, tags included: the editors' labels are data
    about the person too.
    """

    def when(value: datetime | None) -> str | None:
        return value.isoformat() if value else None

    return {
        "email": subscriber.email,
        "name": subscriber.name,
        "status": subscriber.get_status_display(),
        "joined_through": subscriber.get_source_display(),
        "created_at": when(subscriber.created_at),
        "confirmed_at": when(subscriber.confirmed_at),
        "unsubscribed_at": when(subscriber.unsubscribed_at),
        "no_tracking": subscriber.no_tracking,
        "tags": sorted(subscriber.tags.values_list("name", flat=True)),
        "subscriptions": [
            {
                "newsletter": s.newsletter.name,
                "status": s.get_status_display(),
                "created_at": when(s.created_at),
                "confirmed_at": when(s.confirmed_at),
                "unsubscribed_at": when(s.unsubscribed_at),
                "name_waiting_for_confirmation": s.pending_name,
            }
            for s in subscriber.subscriptions.select_related("newsletter").order_by("pk")
        ],
        "consent_events": [
            {
                "action": e.get_action_display(),
                "through": e.get_source_display(),
                "newsletter": e.newsletter.name if e.newsletter else None,
                # The mail an unsubscribe link came from, as its holder names it.
                "from_email": campaign_name(e.campaign),
                "ip": e.ip,
                "user_agent": e.user_agent,
                "at": when(e.created_at),
            }
            for e in subscriber.consent_events.select_related("newsletter")
        ],
        "suppression_events": [
            {"what": e.get_kind_display(), "reason": e.reason, "at": when(e.created_at)}
            for e in subscriber.suppression_events.all()
        ],
        **{name: holder.export(subscriber) for name, holder in _holders.items()},
    }


def campaign_name(campaign: str) -> str | None:
    """A campaign reference in words (an email's title); None when there is none."""
    if not campaign:
        return None
    for holder in _holders.values():
        name = holder.campaign_name(campaign)
        if name:
            return name
    return "an email no longer kept"


def forget_before_deletion(
    sender: type[Subscriber], instance: Subscriber, **kwargs: object
) -> None:
    """``pre_delete``: a subscriber deleted any way (erasure, the admin's delete) leaves
    other apps' rows detached, never deleted with them nor still pointing at them."""
    for holder in _holders.values():
        holder.forget(instance)


def erase(subscriber: Subscriber, *, source: str = Source.EMAIL) -> None:
    """Delete a person's data; keep only an anonymous hash so no import brings them back.

    Consent events lose their link, IP and user agent but stay as anonymous counts; other
    apps' rows are detached the same way as the row is deleted (``forget_before_deletion``).
    """
    with transaction.atomic():
        ErasedAddress.objects.get_or_create(email_hash=email_hash(subscriber.email))
        subscriber.consent_events.update(ip=None, user_agent="")
        ConsentEvent.objects.create(
            subscriber=None, action=ConsentEvent.Action.ERASE, source=source
        )
        subscriber.delete()
