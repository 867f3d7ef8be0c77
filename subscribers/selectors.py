"""Reads of the audience, apart from the writes in ``subscribers.services``.

``issues`` reaches its recipients through here (by way of ``services.recipients``); nothing
in this module changes a row.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol, cast

from django.conf import settings
from django.db.models import Count, Model, Q, QuerySet

from superfast.estimates import RowCount, planner_estimate, value_estimates

from .models import Subscriber, Subscription


class Newsletter(Protocol):
    """What the audience reads of a newsletter: the model is ``issues``', which this app
    never imports."""

    pk: int
    name: str
    slug: str
    from_email: str
    reply_to: str
    sender: str  # "Name <address>"
    mailing_address: str  # the postal address its footers show


def newsletter_model() -> type[Model]:
    """The Newsletter model, reached through our own foreign key (we never import issues)."""
    return cast(type[Model], Subscription._meta.get_field("newsletter").related_model)


def newsletters_of(ids: Iterable[int], *, order_by: str = "name") -> list[Newsletter]:
    """The newsletters of these ids (the model's order is by name)."""
    found = newsletter_model()._default_manager.filter(pk__in=ids).order_by(order_by)
    return cast(list[Newsletter], list(found))  # rows of the model ``Newsletter`` describes


def recipients(newsletter_id: int, ids: range | None = None) -> QuerySet[Subscriber]:
    """Subscribers who may receive an issue of this newsletter: confirmed and not suppressed;
    with ``ids``, only those whose id is in that range (a chunk of a send plan).

    The range bounds the subscriptions too: PostgreSQL does not carry a range across a
    join, and without it a chunk of ten thousand readers hashed all million subscriptions.
    """
    chunk = {}
    if ids is not None:
        chunk = {
            "id__gte": ids.start,
            "id__lt": ids.stop,
            "subscriptions__subscriber_id__gte": ids.start,
            "subscriptions__subscriber_id__lt": ids.stop,
        }
    return Subscriber.objects.filter(  # one filter() call: one join, bounded on both sides
        status=Subscriber.Status.ACTIVE,
        subscriptions__newsletter_id=newsletter_id,
        subscriptions__status=Subscription.Status.ACTIVE,
        **chunk,
    )


def confirmed_between(newsletter_id: int, after, until) -> QuerySet[Subscriber]:
    """Recipients of the newsletter whose subscription to it was confirmed in
    [``after``, ``until``]: the readers a welcome email is due to (one join, as recipients).
    Readers who moved in from another platform were welcomed there: none is due to them."""
    return Subscriber.objects.filter(
        status=Subscriber.Status.ACTIVE,
        subscriptions__newsletter_id=newsletter_id,
        subscriptions__status=Subscription.Status.ACTIVE,
        subscriptions__welcome_due=True,
        subscriptions__confirmed_at__gte=after,
        subscriptions__confirmed_at__lte=until,
    )


def find_subscriber(email: str) -> Subscriber | None:
    return Subscriber.objects.filter(email__iexact=email).first()


def active_newsletter_ids(subscriber: Subscriber) -> set[int]:
    return set(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
            "newsletter_id", flat=True
        )
    )


def receives_all(subscriber: Subscriber, newsletter_ids) -> bool:
    """Whether the subscriber already receives every one of ``newsletter_ids``."""
    return subscriber.status == Subscriber.Status.ACTIVE and set(newsletter_ids) <= (
        active_newsletter_ids(subscriber)
    )


def pending_newsletter_ids(subscriber: Subscriber) -> list[int]:
    return list(
        subscriber.subscriptions.filter(status=Subscription.Status.PENDING).values_list(
            "newsletter_id", flat=True
        )
    )


def awaiting_confirmation(subscriber: Subscriber, newsletter_ids, nonce: str) -> QuerySet:
    """The subscriptions a confirmation link (its newsletters, its nonce) may still confirm."""
    if not nonce:
        return Subscription.objects.none()
    return subscriber.subscriptions.filter(
        newsletter_id__in=list(newsletter_ids),
        status=Subscription.Status.PENDING,
        confirmation_nonce=nonce,
    )


def received_newsletter_ids(subscriber: Subscriber) -> set[int]:
    """Newsletters the subscriber receives or waits to confirm (all but those left)."""
    return set(
        subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED).values_list(
            "newsletter_id", flat=True
        )
    )


@dataclass(frozen=True)
class TagMembers:
    """How many subscribers carry a tag, and how many of those may be mailed."""

    carrying: RowCount
    active: RowCount


def tag_members(tag_ids: list[int]) -> dict[int, TagMembers]:
    """``{tag id: TagMembers}`` for these tags only: the few queries cost the same for any
    number of tags, and read no membership of a tag not asked for.

    Counted when the tags' memberships are few (below ``settings.ADMIN_EXACT_COUNT_LIMIT``
    by the planner's reckoning); otherwise the planner's estimate of each, from the
    statistics of the tag column and of subscribers' status (a tag's active share taken
    to be the list's), labelled "about": counting a tag a million readers carry, and
    checking each one's status, would take seconds on every load.
    """
    if not tag_ids:
        return {}
    memberships = Subscriber.tags.through.objects.filter(tag_id__in=tag_ids)
    estimate = planner_estimate(memberships)
    if estimate is not None and estimate >= settings.ADMIN_EXACT_COUNT_LIMIT:
        by_tag = value_estimates(Subscriber.tags.through, "tag", tag_ids)
        by_status = value_estimates(Subscriber, "status", [Subscriber.Status.ACTIVE])
        if by_tag and by_status:  # None: tables never analyzed, nothing to estimate from
            rows, shares = by_tag
            active = by_status[1][Subscriber.Status.ACTIVE]
            return {
                pk: TagMembers(
                    RowCount(round(rows * shares[str(pk)]), estimated=True),
                    RowCount(round(rows * shares[str(pk)] * active), estimated=True),
                )
                for pk in tag_ids
            }
    counted = {
        tag_id: (carrying, active)
        for tag_id, carrying, active in memberships.values("tag_id")
        .annotate(
            carrying=Count("pk"),
            active=Count("pk", filter=Q(subscriber__status=Subscriber.Status.ACTIVE)),
        )
        .values_list("tag_id", "carrying", "active")
        .order_by()
    }
    return {pk: TagMembers(*(RowCount(n) for n in counted.get(pk, (0, 0)))) for pk in tag_ids}
