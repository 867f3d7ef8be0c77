"""Consent: subscribing, confirming, leaving, and choosing newsletters.

Rules kept here and nowhere else:
- nobody receives anything before they confirm by POST from a link mailed to them
  (double opt-in); coming back after unsubscribing, bouncing or complaining needs the
  same confirmation again;
- a confirmation link confirms only the newsletters its own request asked for: each
  request marks its subscriptions with a new nonce, and the link carries it;
- a name typed into the form changes nothing until its request is confirmed: it waits on
  the request's subscriptions (``pending_name``), since anyone may type any address;
- every step of consent is appended to ``ConsentEvent``;
- nothing a visitor sees depends on whether an address is already known.
"""

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import parseaddr
from urllib.parse import unquote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Model
from django.utils import timezone

from .. import tokens
from ..models import ConsentEvent, ErasedAddress, Source, Subscriber, Subscription
from ..selectors import (
    Newsletter,
    awaiting_confirmation,
    find_subscriber,
    newsletters_of,
    pending_newsletter_ids,
    received_newsletter_ids,
    receives_all,
)
from .addresses import MAX_NAME_LENGTH, email_hash, normalize_email
from .limits import check_subscribe_limits
from .mail import ALREADY_SUBSCRIBED, CONFIRM, WELCOME, queue_mail


def record(
    subscriber: Subscriber | None,
    action: str,
    source: str,
    *,
    newsletter_id: int | None = None,
    ip: str | None = None,
    user_agent: str = "",
    campaign: str = "",
) -> ConsentEvent:
    return ConsentEvent.objects.create(
        subscriber=subscriber,
        newsletter_id=newsletter_id,
        action=action,
        source=source,
        ip=ip or None,
        user_agent=(user_agent or "")[:500],
        campaign=campaign,
    )


def subscribe(
    email: str,
    newsletters: Iterable[Model | int],
    *,
    name: str = "",
    source: str = Source.FORM,
    ip: str | None = None,
    user_agent: str = "",
) -> Subscriber:
    """Start (or restart) double opt-in for ``email`` to ``newsletters``.

    Sends a confirmation mail for the newsletters the address does not receive yet, and
    nothing when it already receives them all. The caller answers the same either way.
    Raises ValidationError for a bad address and RateLimited when throttled.
    """
    email = normalize_email(email)
    check_subscribe_limits(email=email, ip=ip)
    name = (name or "").strip()[:MAX_NAME_LENGTH]
    newsletter_ids = sorted({n if isinstance(n, int) else n.pk for n in newsletters})
    if not newsletter_ids:
        raise ValidationError("Choose a newsletter.")
    nonce = secrets.token_hex(16)  # this request's own: its link confirms only its newsletters
    with transaction.atomic():
        subscriber = find_subscriber(email) or _create_subscriber(email, source)
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        wanted: list[int] = []
        for newsletter_id in newsletter_ids:
            subscription, _ = Subscription.objects.get_or_create(
                subscriber=subscriber, newsletter_id=newsletter_id
            )
            if subscription.status == Subscription.Status.ACTIVE and (
                subscriber.status == Subscriber.Status.ACTIVE
            ):
                continue
            subscription.status = Subscription.Status.PENDING
            subscription.confirmation_nonce = nonce
            subscription.pending_name = name
            subscription.save(update_fields=["status", "confirmation_nonce", "pending_name"])
            wanted.append(newsletter_id)
            record(
                subscriber,
                ConsentEvent.Action.SUBSCRIBE,
                source,
                newsletter_id=newsletter_id,
                ip=ip,
                user_agent=user_agent,
            )
    # The worker sends after the commit, so the link in the mail always finds its rows.
    # Someone who already receives everything asked for gets a note instead: the request
    # takes the same path (and time) either way, and the owner learns that someone used
    # their address.
    if wanted:
        queue_mail(CONFIRM, subscriber, wanted)
    else:
        queue_mail(ALREADY_SUBSCRIBED, subscriber, newsletter_ids)
    return subscriber


def _create_subscriber(email: str, source: str) -> Subscriber:
    """Create, or find the row a simultaneous request for the same address just created.
    Nameless: the request's name waits for its confirmation."""
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, source=source)
    except IntegrityError:
        existing = find_subscriber(email)
        if existing is None:  # not a duplicate address after all
            raise
        return existing


@dataclass
class Confirmation:
    subscriber: Subscriber
    newsletters: list[Newsletter] = field(default_factory=list)
    already_confirmed: bool = False
    new_name: str = ""  # the name confirming would give the person (they have none yet)


def preview_confirmation(token: str) -> Confirmation:
    """What a confirmation link would confirm, without changing anything (GET landing)."""
    subscriber_id, newsletter_ids, nonce = tokens.read_confirmation_token(token)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        raise tokens.InvalidToken("no such subscriber")
    newsletters = newsletters_of(newsletter_ids)
    if (
        subscriber.is_suppressed
        or not awaiting_confirmation(subscriber, newsletter_ids, nonce).exists()
    ):
        if receives_all(subscriber, newsletter_ids):
            return Confirmation(subscriber, newsletters, already_confirmed=True)
        raise tokens.InvalidToken("this link was already used")
    new_name = requested_name(subscriber, newsletter_ids, nonce)
    return Confirmation(subscriber, newsletters, new_name=new_name)


def requested_name(subscriber: Subscriber, newsletter_ids: Iterable[int], nonce: str) -> str:
    """The name a confirmation would apply: its request's, and only to a nameless person."""
    if subscriber.name:
        return ""
    requested = awaiting_confirmation(subscriber, newsletter_ids, nonce).exclude(pending_name="")
    return next(iter(requested.values_list("pending_name", flat=True)), "")


def confirm(token: str, *, ip: str | None = None, user_agent: str = "") -> Confirmation:
    """Make the link's pending subscriptions active; idempotent while the link is valid.

    Only the newsletters the token names, and only those its own request left pending
    (same nonce): another request's subscriptions wait for their own link. A used link
    confirms nothing new: replaying it after an unsubscribe raises InvalidToken,
    replaying it while still subscribed just says so.
    """
    preview = preview_confirmation(token)
    if preview.already_confirmed:
        return preview
    _, newsletter_ids, nonce = tokens.read_confirmation_token(token)
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=preview.subscriber.pk)
        confirming = awaiting_confirmation(subscriber, newsletter_ids, nonce)
        confirmed_ids = list(confirming.values_list("newsletter_id", flat=True))
        if not confirmed_ids or subscriber.is_suppressed:  # a parallel request was first
            return Confirmation(subscriber, preview.newsletters, already_confirmed=True)
        action = (
            ConsentEvent.Action.RESUBSCRIBE
            if subscriber.confirmed_at
            else ConsentEvent.Action.CONFIRM
        )
        # The name this request gave, now that the mailbox owner confirmed it; it never
        # replaces a name the person already has (they change that on their preferences).
        subscriber.name = subscriber.name or requested_name(subscriber, newsletter_ids, nonce)
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.unsubscribed_at = None
        subscriber.soft_bounces = 0
        subscriber.save()
        confirming.update(
            status=Subscription.Status.ACTIVE,
            confirmed_at=now,
            unsubscribed_at=None,
            welcome_due=True,
            confirmation_nonce="",
            pending_name="",
        )
        for newsletter_id in confirmed_ids:
            record(
                subscriber,
                action,
                Source.EMAIL,
                newsletter_id=newsletter_id,
                ip=ip,
                user_agent=user_agent,
            )
        ErasedAddress.objects.filter(email_hash=email_hash(subscriber.email)).delete()
        newsletters = newsletters_of(confirmed_ids)
        queue_mail(WELCOME, subscriber, confirmed_ids)
    return Confirmation(subscriber, newsletters)


def resend_confirmation(subscriber: Subscriber) -> bool:
    """Mail a pending subscriber a new confirmation link (admin action)."""
    pending = pending_newsletter_ids(subscriber)
    if not pending or subscriber.is_suppressed:
        return False
    subscriber.subscriptions.filter(newsletter_id__in=pending).update(
        confirmation_nonce=secrets.token_hex(16)
    )
    queue_mail(CONFIRM, subscriber, pending)
    return True


def unsubscribe(
    subscriber: Subscriber,
    newsletter_ids: Iterable[int] | None = None,
    *,
    source: str = Source.EMAIL,
    ip: str | None = None,
    user_agent: str = "",
    campaign: str = "",
) -> Subscriber:
    """Stop ``newsletter_ids`` (all when None) for this subscriber. Idempotent.

    The subscriber's own status becomes unsubscribed when nothing active is left, unless
    it already says bounced or complained (which is the stronger reason). ``campaign``,
    from the link used, is recorded with each unsubscribe; a repeat records nothing, so
    one person leaving counts once.
    """
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        subscriptions = subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED)
        if newsletter_ids is not None:
            subscriptions = subscriptions.filter(newsletter_id__in=newsletter_ids)
        for newsletter_id in subscriptions.values_list("newsletter_id", flat=True):
            record(
                subscriber,
                ConsentEvent.Action.UNSUBSCRIBE,
                source,
                newsletter_id=newsletter_id,
                ip=ip,
                user_agent=user_agent,
                campaign=campaign,
            )
        subscriptions.update(
            status=Subscription.Status.UNSUBSCRIBED,
            unsubscribed_at=now,
            confirmation_nonce="",
            pending_name="",
        )
        still_receiving = subscriber.subscriptions.exclude(
            status=Subscription.Status.UNSUBSCRIBED
        ).exists()
        if not still_receiving and not subscriber.is_suppressed:
            if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
                subscriber.unsubscribed_at = now
            subscriber.status = Subscriber.Status.UNSUBSCRIBED
            subscriber.save()
    return subscriber


def update_preferences(
    subscriber: Subscriber,
    *,
    name: str,
    newsletter_ids: Iterable[int],
    ip: str | None = None,
    user_agent: str = "",
) -> list[int]:
    """Apply the preferences form: name, and which newsletters to receive.

    Someone already receiving mail proved their address, so newsletters they add start
    at once. Anyone else (unsubscribed, bounced, pending) gets a confirmation mail first.
    Returns the newsletter ids that now wait for confirmation.
    """
    wanted = set(newsletter_ids)
    current = received_newsletter_ids(subscriber)
    name = (name or "").strip()[:MAX_NAME_LENGTH]
    if name != subscriber.name:
        subscriber.name = name
        subscriber.save(update_fields=["name"])
    added = wanted - current
    waiting: list[int] = []
    if added and subscriber.status != Subscriber.Status.ACTIVE:
        subscribe(subscriber.email, added, source=Source.EMAIL, ip=ip, user_agent=user_agent)
        waiting = sorted(added)
    elif added:
        now = timezone.now()
        with transaction.atomic():
            for newsletter_id in added:
                Subscription.objects.update_or_create(
                    subscriber=subscriber,
                    newsletter_id=newsletter_id,
                    defaults={
                        "status": Subscription.Status.ACTIVE,
                        "confirmed_at": now,
                        "welcome_due": True,
                    },
                )
                record(
                    subscriber,
                    ConsentEvent.Action.PREFERENCES,
                    Source.EMAIL,
                    newsletter_id=newsletter_id,
                    ip=ip,
                    user_agent=user_agent,
                )
    # Dropped last, so a swap of newsletters never passes through "receives nothing".
    dropped = current - wanted
    if dropped:
        unsubscribe(subscriber, dropped, ip=ip, user_agent=user_agent)
    return waiting


UNSUBSCRIBE_SUBJECT = re.compile(r"\bunsubscribe\s+(\S+)", re.IGNORECASE)


def unsubscribe_by_mail(recipients: Iterable[str], subject: str) -> Subscriber | None:
    """The ``mailto:`` form of ``List-Unsubscribe``: a message to ``UNSUBSCRIBE_EMAIL`` whose
    subject carries a reader's unsubscribe token ("unsubscribe <token>", as the link wrote
    it) unsubscribes that reader from that newsletter, like the one-click link. Anything
    else (another address, no or a forged token) changes nothing; returns who left."""
    ours = parseaddr(settings.UNSUBSCRIBE_EMAIL)[1].lower()
    if ours not in {parseaddr(address)[1].lower() for address in recipients}:
        return None
    match = UNSUBSCRIBE_SUBJECT.search(unquote(subject or ""))
    if match is None:
        return None
    try:
        link = tokens.read_unsubscribe_link(match.group(1))
    except tokens.InvalidToken:
        return None
    subscriber = Subscriber.objects.filter(pk=link.subscriber_id).first()
    if subscriber is None:
        return None
    return unsubscribe(
        subscriber, [link.newsletter_id], source=Source.EMAIL, campaign=link.campaign
    )
