"""The audience's flows as plain functions: views, admin, webhooks and tasks call these.

Consent rules kept here and nowhere else:
- nobody receives anything before they confirm by POST from a link mailed to them
  (double opt-in); coming back after unsubscribing, bouncing or complaining needs the
  same confirmation again;
- every step of consent is appended to ``ConsentEvent``; every suppression and its
  reason to ``SuppressionEvent``;
- nothing a visitor sees depends on whether an address is already known.
"""

import hashlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.db.models import F
from django.template.loader import render_to_string
from django.utils import timezone

from superfast.mail import is_transient

from . import tokens
from .models import (
    ConsentEvent,
    ErasedAddress,
    ProcessedWebhookEvent,
    Source,
    Subscriber,
    Subscription,
    SuppressionEvent,
)

logger = logging.getLogger(__name__)

MAX_EMAIL_LENGTH = 254
MAX_NAME_LENGTH = Subscriber._meta.get_field("name").max_length


def newsletter_model():
    """The Newsletter model, reached through our own foreign key (we never import issues)."""
    return Subscription._meta.get_field("newsletter").related_model


def recipients(newsletter_id):
    """Subscribers who may receive an issue of this newsletter: confirmed and not suppressed.

    A queryset, so callers can stream it in chunks (``.iterator(chunk_size=...)``).
    """
    return Subscriber.objects.filter(
        status=Subscriber.Status.ACTIVE,
        subscriptions__newsletter_id=newsletter_id,
        subscriptions__status=Subscription.Status.ACTIVE,
    )


# Addresses -------------------------------------------------------------------------------


def normalize_email(raw):
    """The canonical form of an address, or ValidationError with a message for people.

    Trimmed; the domain lower-cased and, when international, turned into punycode so one
    mailbox has one spelling. The local part is left alone: some servers treat its case as
    significant, uniqueness is case-insensitive anyway.
    """
    value = (raw or "").strip()
    local, at, domain = value.rpartition("@")
    if not (local and at and domain):
        raise ValidationError("Enter a valid email address, like name@example.org.")
    try:
        domain = domain.lower().encode("idna").decode("ascii")
    except UnicodeError:
        raise ValidationError(f"{domain!r} is not a valid domain name.") from None
    email = f"{local}@{domain}"
    if len(email) > MAX_EMAIL_LENGTH:
        raise ValidationError(f"An email address has at most {MAX_EMAIL_LENGTH} characters.")
    validate_email(email)
    return email


def email_hash(email):
    """An anonymous, stable fingerprint of an address (it is normalized first when valid)."""
    try:
        email = normalize_email(email)
    except ValidationError:
        email = (email or "").strip()
    return hashlib.sha256(f"superfast-erased:{email.lower()}".encode()).hexdigest()


def find_subscriber(email):
    return Subscriber.objects.filter(email__iexact=email).first()


# Rate limits -----------------------------------------------------------------------------


class RateLimited(Exception):
    """Too many requests from one IP or for one address; the message says when to retry."""


def hit_rate_limit(scope, identity, limit, window_seconds):
    """Count one request in a fixed window in the shared cache; raise past ``limit``.

    The cache is Redis in production, so the count holds across all web processes.
    """
    if limit <= 0 or not identity:
        return
    window = int(time.time() // window_seconds)
    digest = hashlib.sha256(str(identity).lower().encode()).hexdigest()[:32]
    key = f"subscribers:rate:{scope}:{digest}:{window}"
    cache.add(key, 0, timeout=window_seconds)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add and incr
        cache.set(key, 1, timeout=window_seconds)
        count = 1
    if count > limit:
        raise RateLimited(
            "Too many subscription requests. Please wait a while and try again "
            "(check your inbox first: the confirmation may already be there)."
        )


def check_subscribe_limits(email, ip):
    """Per IP and per address, so nobody can flood a stranger's inbox with confirmations.

    Counted for every attempt, known address or not, so a 429 reveals nothing either.
    """
    hit_rate_limit("ip", ip, settings.SUBSCRIBE_LIMIT_PER_IP_PER_HOUR, 3600)
    hit_rate_limit("email", email, settings.SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY, 86400)


# Subscribing -----------------------------------------------------------------------------


def record(subscriber, action, source, *, newsletter_id=None, ip=None, user_agent=""):
    return ConsentEvent.objects.create(
        subscriber=subscriber,
        newsletter_id=newsletter_id,
        action=action,
        source=source,
        ip=ip or None,
        user_agent=(user_agent or "")[:500],
    )


def subscribe(email, newsletters, *, name="", source=Source.FORM, ip=None, user_agent=""):
    """Start (or restart) double opt-in for ``email`` to ``newsletters``.

    Sends a confirmation mail for the newsletters the address does not receive yet, and
    nothing when it already receives them all. The caller answers the same either way.
    Raises ValidationError for a bad address and RateLimited when throttled.
    """
    email = normalize_email(email)
    check_subscribe_limits(email, ip)
    name = (name or "").strip()[:MAX_NAME_LENGTH]
    newsletter_ids = sorted({getattr(n, "pk", n) for n in newsletters})
    if not newsletter_ids:
        raise ValidationError("Choose a newsletter.")
    with transaction.atomic():
        subscriber = find_subscriber(email) or _create_subscriber(email, name, source)
        subscriber = Subscriber.objects.select_for_update().get(pk=subscriber.pk)
        if name and not subscriber.name:
            subscriber.name = name
        wanted = []
        for newsletter_id in newsletter_ids:
            subscription, _ = Subscription.objects.get_or_create(
                subscriber=subscriber, newsletter_id=newsletter_id
            )
            if subscription.status == Subscription.Status.ACTIVE and (
                subscriber.status == Subscriber.Status.ACTIVE
            ):
                continue
            if subscription.status != Subscription.Status.PENDING:
                subscription.status = Subscription.Status.PENDING
                subscription.save(update_fields=["status"])
            wanted.append(newsletter_id)
            record(
                subscriber,
                ConsentEvent.Action.SUBSCRIBE,
                source,
                newsletter_id=newsletter_id,
                ip=ip,
                user_agent=user_agent,
            )
        if wanted and not subscriber.confirmation_nonce:
            subscriber.confirmation_nonce = secrets.token_hex(16)
        subscriber.save()
    # The worker sends after the commit, so the link in the mail always finds its rows.
    # Someone who already receives everything asked for gets a note instead: the request
    # takes the same path (and time) either way, and the owner learns that someone used
    # their address.
    if wanted:
        queue_mail(CONFIRM, subscriber, wanted)
    else:
        queue_mail(ALREADY_SUBSCRIBED, subscriber)
    return subscriber


def _create_subscriber(email, name, source):
    """Create, or find the row a simultaneous request for the same address just created."""
    try:
        with transaction.atomic():
            return Subscriber.objects.create(email=email, name=name, source=source)
    except IntegrityError:
        return find_subscriber(email)


# Mail to one person --------------------------------------------------------------------
#
# Sent by the worker (``subscribers.tasks.send_subscriber_mail``), never inside a request:
# a slow or failing mail server then neither delays the page nor tells a visitor anything,
# and transient failures are retried with backoff.

CONFIRM = "confirm"
ALREADY_SUBSCRIBED = "already_subscribed"
WELCOME = "welcome"


class TransientMailError(Exception):
    """The mail server or ESP failed in a way worth trying again later."""


def queue_mail(kind, subscriber, newsletter_ids=()):
    """Have the worker send mail ``kind`` to ``subscriber`` once this transaction commits."""
    from .tasks import send_subscriber_mail  # tasks wrap this module

    ids = sorted(newsletter_ids)
    transaction.on_commit(lambda: send_subscriber_mail.delay(kind, subscriber.pk, ids))


def send_subscriber_mail(kind, subscriber_id, newsletter_ids=()):
    """Build mail ``kind`` from the subscriber's state now, and send it.

    Returns whether a message went out: nothing is sent to someone erased meanwhile, nor a
    confirmation whose link can no longer work. Raises TransientMailError when a retry may
    succeed; a permanent refusal is logged and not retried.
    """
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        return False
    message = MAIL_BUILDERS[kind](subscriber, list(newsletter_ids))
    if message is None:
        return False
    try:
        message.send()
    except Exception as error:
        if is_transient(error):
            raise TransientMailError(f"{type(error).__name__}: {error}") from error
        logger.exception("Gave up sending the %s mail to subscriber %s", kind, subscriber_id)
        return False
    return True


def confirmation_mail(subscriber, newsletter_ids):
    if not subscriber.confirmation_nonce or subscriber.is_suppressed:
        return None  # confirmed or stopped since it was asked for: the link would not work
    newsletters = list(newsletter_model().objects.filter(pk__in=newsletter_ids))
    url = tokens.confirmation_url(subscriber.pk, newsletter_ids, subscriber.confirmation_nonce)
    names = ", ".join(n.name for n in newsletters)
    return build_mail(
        "confirm",
        f"Please confirm your subscription to {names}",
        subscriber,
        {"newsletters": newsletters, "confirm_url": url, "names": names, "days": 7},
    )


def already_subscribed_mail(subscriber, newsletter_ids):
    return build_mail(
        "already_subscribed",
        "You are already subscribed",
        subscriber,
        {"preferences_url": tokens.preferences_url(subscriber.pk)},
    )


def welcome_mail(subscriber, newsletter_ids):
    newsletters = list(newsletter_model().objects.filter(pk__in=newsletter_ids).order_by("pk"))
    if not newsletters or subscriber.status != Subscriber.Status.ACTIVE:
        return None
    links = [
        {"newsletter": n, "unsubscribe_url": tokens.unsubscribe_url(subscriber.pk, n.pk)}
        for n in newsletters
    ]
    return build_mail(
        "welcome",
        f"Welcome to {', '.join(n.name for n in newsletters)}",
        subscriber,
        {"links": links, "preferences_url": tokens.preferences_url(subscriber.pk)},
        headers=list_unsubscribe_headers(subscriber.pk, newsletters[0].pk),
    )


MAIL_BUILDERS = {
    CONFIRM: confirmation_mail,
    ALREADY_SUBSCRIBED: already_subscribed_mail,
    WELCOME: welcome_mail,
}


def build_mail(template, subject, subscriber, context, headers=None):
    """``subscribers/email/<template>.txt`` (and ``.html``) addressed to one subscriber."""
    context = {"subscriber": subscriber, "site_url": settings.SITE_URL, **context}
    message = EmailMultiAlternatives(
        subject=subject,
        body=render_to_string(f"subscribers/email/{template}.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        headers=headers or {},
    )
    message.attach_alternative(
        render_to_string(f"subscribers/email/{template}.html", context), "text/html"
    )
    return message


@dataclass
class Confirmation:
    subscriber: Subscriber
    newsletters: list = field(default_factory=list)
    already_confirmed: bool = False


def preview_confirmation(token):
    """What a confirmation link would confirm, without changing anything (GET landing)."""
    subscriber_id, newsletter_ids, nonce = tokens.read_confirmation_token(token)
    subscriber = Subscriber.objects.filter(pk=subscriber_id).first()
    if subscriber is None:
        raise tokens.InvalidToken("no such subscriber")
    newsletters = list(newsletter_model().objects.filter(pk__in=newsletter_ids))
    if not subscriber.confirmation_nonce or subscriber.confirmation_nonce != nonce:
        if _receives_all(subscriber, newsletter_ids):
            return Confirmation(subscriber, newsletters, already_confirmed=True)
        raise tokens.InvalidToken("this link was already used")
    return Confirmation(subscriber, newsletters)


def confirm(token, *, ip=None, user_agent=""):
    """Make a pending subscription active; idempotent while the link is valid.

    A used link confirms nothing new: replaying it after an unsubscribe raises
    InvalidToken, replaying it while still subscribed just says so.
    """
    preview = preview_confirmation(token)
    if preview.already_confirmed:
        return preview
    _, newsletter_ids, nonce = tokens.read_confirmation_token(token)
    now = timezone.now()
    with transaction.atomic():
        subscriber = Subscriber.objects.select_for_update().get(pk=preview.subscriber.pk)
        if subscriber.confirmation_nonce != nonce:  # confirmed by a parallel request
            return Confirmation(subscriber, preview.newsletters, already_confirmed=True)
        action = (
            ConsentEvent.Action.RESUBSCRIBE
            if subscriber.confirmed_at
            else ConsentEvent.Action.CONFIRM
        )
        subscriber.status = Subscriber.Status.ACTIVE
        subscriber.confirmed_at = subscriber.confirmed_at or now
        subscriber.unsubscribed_at = None
        subscriber.confirmation_nonce = ""
        subscriber.soft_bounces = 0
        subscriber.save()
        pending = subscriber.subscriptions.filter(status=Subscription.Status.PENDING)
        confirmed_ids = list(pending.values_list("newsletter_id", flat=True))
        pending.update(status=Subscription.Status.ACTIVE, confirmed_at=now, unsubscribed_at=None)
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
        newsletters = list(newsletter_model().objects.filter(pk__in=confirmed_ids))
        if newsletters:
            queue_mail(WELCOME, subscriber, confirmed_ids)
    return Confirmation(subscriber, newsletters)


def list_unsubscribe_headers(subscriber_id, newsletter_id):
    """RFC 2369 / RFC 8058 headers: one-click https, and the mailto form as a fallback."""
    https = tokens.unsubscribe_url(subscriber_id, newsletter_id)
    mailto = tokens.unsubscribe_mailto(subscriber_id, newsletter_id)
    return {
        "List-Unsubscribe": f"<{https}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def _receives_all(subscriber, newsletter_ids):
    active = set(
        subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).values_list(
            "newsletter_id", flat=True
        )
    )
    return subscriber.status == Subscriber.Status.ACTIVE and set(newsletter_ids) <= active


def resend_confirmation(subscriber):
    """Mail a pending subscriber their confirmation link again (admin action)."""
    pending = list(
        subscriber.subscriptions.filter(status=Subscription.Status.PENDING).values_list(
            "newsletter_id", flat=True
        )
    )
    if not pending or subscriber.is_suppressed:
        return False
    if not subscriber.confirmation_nonce:
        subscriber.confirmation_nonce = secrets.token_hex(16)
        subscriber.save(update_fields=["confirmation_nonce"])
    queue_mail(CONFIRM, subscriber, pending)
    return True


# Leaving and preferences -----------------------------------------------------------------


def unsubscribe(subscriber, newsletter_ids=None, *, source=Source.EMAIL, ip=None, user_agent=""):
    """Stop ``newsletter_ids`` (all when None) for this subscriber. Idempotent.

    The subscriber's own status becomes unsubscribed when nothing active is left, unless
    it already says bounced or complained (which is the stronger reason).
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
            )
        subscriptions.update(status=Subscription.Status.UNSUBSCRIBED, unsubscribed_at=now)
        still_receiving = subscriber.subscriptions.exclude(
            status=Subscription.Status.UNSUBSCRIBED
        ).exists()
        if not still_receiving and not subscriber.is_suppressed:
            if subscriber.status != Subscriber.Status.UNSUBSCRIBED:
                subscriber.unsubscribed_at = now
            subscriber.status = Subscriber.Status.UNSUBSCRIBED
            subscriber.confirmation_nonce = ""
            subscriber.save()
    return subscriber


def update_preferences(subscriber, *, name, newsletter_ids, ip=None, user_agent=""):
    """Apply the preferences form: name, and which newsletters to receive.

    Someone already receiving mail proved their address, so newsletters they add start
    at once. Anyone else (unsubscribed, bounced, pending) gets a confirmation mail first.
    Returns the newsletter ids that now wait for confirmation.
    """
    wanted = set(newsletter_ids)
    current = set(
        subscriber.subscriptions.exclude(status=Subscription.Status.UNSUBSCRIBED).values_list(
            "newsletter_id", flat=True
        )
    )
    name = (name or "").strip()[:MAX_NAME_LENGTH]
    if name != subscriber.name:
        subscriber.name = name
        subscriber.save(update_fields=["name"])
    added = wanted - current
    waiting = []
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
                    defaults={"status": Subscription.Status.ACTIVE, "confirmed_at": now},
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


def personal_data(subscriber):
    """Everything we hold about one person, as JSON-ready data (the "download my data")."""

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
        "tags": [tag.name for tag in subscriber.tags.all()],
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


def erase(subscriber, *, source=Source.EMAIL):
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


def is_erased(email):
    return ErasedAddress.objects.filter(email_hash=email_hash(email)).exists()


# Suppression -----------------------------------------------------------------------------

SUPPRESSED_STATUS = {
    SuppressionEvent.Kind.BOUNCE: Subscriber.Status.BOUNCED,
    SuppressionEvent.Kind.SOFT_BOUNCES: Subscriber.Status.BOUNCED,
    SuppressionEvent.Kind.COMPLAINT: Subscriber.Status.COMPLAINED,
    SuppressionEvent.Kind.ESP_UNSUBSCRIBE: Subscriber.Status.UNSUBSCRIBED,
    SuppressionEvent.Kind.MANUAL: Subscriber.Status.UNSUBSCRIBED,
}


def suppress(subscriber, kind, *, reason="", esp_event=""):
    """Stop all mail to this subscriber and record why."""
    with transaction.atomic():
        SuppressionEvent.objects.create(
            subscriber=subscriber, kind=kind, esp_event=esp_event, reason=reason
        )
        status = SUPPRESSED_STATUS[kind]
        fields = {"status": status, "confirmation_nonce": ""}
        if status == Subscriber.Status.UNSUBSCRIBED:
            fields["unsubscribed_at"] = timezone.now()
        Subscriber.objects.filter(pk=subscriber.pk).update(**fields)
    subscriber.refresh_from_db()
    return subscriber


def unsuppress(subscriber, *, reason):
    """Let a suppressed address receive mail again (an editor's decision, with a reason).

    It receives again the newsletters it had confirmed; with none, it stays unsubscribed.
    """
    if not reason.strip():
        raise ValidationError("Give a reason for unsuppressing.")
    if subscriber.status in {Subscriber.Status.ACTIVE, Subscriber.Status.PENDING}:
        return subscriber  # nothing to lift
    with transaction.atomic():
        SuppressionEvent.objects.create(
            subscriber=subscriber, kind=SuppressionEvent.Kind.UNSUPPRESS, reason=reason
        )
        receives = subscriber.subscriptions.filter(status=Subscription.Status.ACTIVE).exists()
        subscriber.status = Subscriber.Status.ACTIVE if receives else Subscriber.Status.UNSUBSCRIBED
        subscriber.soft_bounces = 0
        subscriber.save(update_fields=["status", "soft_bounces"])
    return subscriber


@transaction.atomic
def handle_delivery_event(*, event_type, recipient, event_key=None, reason="", soft=False):
    """React to one normalized ESP event (anymail's ``event_type`` names).

    Hard bounces, complaints and ESP unsubscribes suppress at once; soft bounces count and
    ``SOFT_BOUNCE_LIMIT`` of them in a row suppress; a delivery resets the count. Events
    already seen (same ESP and event id) and events about unknown addresses change nothing.
    Returns what was done, for logs and tests.
    """
    kind = {
        "bounced": SuppressionEvent.Kind.BOUNCE,
        "complained": SuppressionEvent.Kind.COMPLAINT,
        "unsubscribed": SuppressionEvent.Kind.ESP_UNSUBSCRIBE,
    }.get(event_type)
    if kind == SuppressionEvent.Kind.BOUNCE and soft:
        kind, event_type = None, "deferred"
    if kind is None and event_type not in {"deferred", "delivered"}:
        return "ignored"
    try:
        email = normalize_email(recipient)
    except ValidationError:
        return "ignored"
    if event_type == "delivered":
        Subscriber.objects.filter(email__iexact=email, soft_bounces__gt=0).update(soft_bounces=0)
        return "delivered"
    subscriber = find_subscriber(email)
    if subscriber is None:
        return "unknown recipient"
    if event_key:
        _, created = ProcessedWebhookEvent.objects.get_or_create(key=event_key[:255])
        if not created:
            return "duplicate"
    if kind is not None:
        if kind == SuppressionEvent.Kind.ESP_UNSUBSCRIBE:
            unsubscribe(subscriber, source=Source.ESP)
        suppress(subscriber, kind, reason=reason, esp_event=event_type)
        return f"suppressed: {kind}"
    if subscriber.is_suppressed:
        return "already suppressed"
    Subscriber.objects.filter(pk=subscriber.pk).update(soft_bounces=F("soft_bounces") + 1)
    subscriber.refresh_from_db(fields=["soft_bounces"])
    if subscriber.soft_bounces >= settings.SOFT_BOUNCE_LIMIT:
        suppress(
            subscriber,
            SuppressionEvent.Kind.SOFT_BOUNCES,
            reason=f"{subscriber.soft_bounces} soft bounces in a row. Last: {reason}",
            esp_event=event_type,
        )
        return "suppressed: soft_bounces"
    return "soft bounce counted"
