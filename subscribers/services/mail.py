"""Mail to one person: confirmation, welcome, "already subscribed".

Sent by the worker (``subscribers.tasks.send_subscriber_mail``), never inside a request:
a slow or failing mail server then neither delays the page nor tells a visitor anything,
and transient failures are retried with backoff. Mail sent before consent (confirmation,
"already subscribed") carries no text a requester chose: anyone may type any address and
name into the form, and the name would reach the victim as if we had written it.
"""

import logging
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.template.loader import render_to_string

from superfast.mail import is_transient, outgoing_email

from .. import tokens
from ..models import Subscriber, Subscription
from ..queue import enqueue_mail
from ..selectors import Newsletter, newsletters_of

logger = logging.getLogger(__name__)

CONFIRM = "confirm"
ALREADY_SUBSCRIBED = "already_subscribed"
WELCOME = "welcome"


class TransientMailError(Exception):
    """The mail server or ESP failed in a way worth trying again later."""


def queue_mail(kind: str, subscriber: Subscriber, newsletter_ids: Iterable[int] = ()) -> None:
    """Have the worker send mail ``kind`` to ``subscriber`` once this transaction commits."""
    ids = sorted(newsletter_ids)
    transaction.on_commit(lambda: enqueue_mail(kind, subscriber.pk, ids))


def send_subscriber_mail(kind: str, subscriber_id: int, newsletter_ids: Iterable[int] = ()) -> bool:
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


def confirmation_mail(
    subscriber: Subscriber, newsletter_ids: list[int]
) -> EmailMultiAlternatives | None:
    """The link of the request that made these subscriptions pending, or None when unusable.

    Built when sent: a subscription confirmed, left or suppressed since needs no link.
    """
    if subscriber.is_suppressed:
        return None
    waiting = list(
        subscriber.subscriptions.filter(
            newsletter_id__in=newsletter_ids, status=Subscription.Status.PENDING
        )
        .exclude(confirmation_nonce="")
        .order_by("-pk")
        .values_list("newsletter_id", "confirmation_nonce")
    )
    if not waiting:
        return None
    # A later request for the same newsletters renewed their nonce; link the newest one.
    nonce = waiting[0][1]
    ids = sorted(newsletter_id for newsletter_id, n in waiting if n == nonce)
    newsletters = newsletters_of(ids, order_by="pk")
    names = ", ".join(n.name for n in newsletters)
    return build_mail(
        template="confirm",
        subject=f"Please confirm your subscription to {names}",
        subscriber=subscriber,
        newsletter=newsletters[0] if newsletters else None,
        context={
            "newsletters": newsletters,
            "confirm_url": tokens.confirmation_url(subscriber.pk, ids, nonce),
            "names": names,
            "days": tokens.CONFIRMATION_MAX_AGE.days,
        },
    )


def already_subscribed_mail(
    subscriber: Subscriber, newsletter_ids: list[int]
) -> EmailMultiAlternatives:
    newsletters = newsletters_of(newsletter_ids, order_by="pk")
    return build_mail(
        template="already_subscribed",
        subject="You are already subscribed",
        subscriber=subscriber,
        newsletter=newsletters[0] if newsletters else None,
        context={"preferences_url": tokens.preferences_url(subscriber.pk)},
    )


# Newsletters that greet a new reader at once with welcome emails of their own: the site's
# generic welcome would only repeat them. ``issues`` knows which (its welcome sequences) and
# says so through ``provide_own_welcome`` when it starts; this app never imports it.
OwnWelcome = Callable[[Iterable[int]], set[int]]
_own_welcome: OwnWelcome = lambda newsletter_ids: set()  # noqa: E731


def provide_own_welcome(finder: OwnWelcome | None) -> None:
    global _own_welcome
    _own_welcome = finder or (lambda newsletter_ids: set())


def welcome_mail(
    subscriber: Subscriber, newsletter_ids: list[int]
) -> EmailMultiAlternatives | None:
    """The site's welcome, naming the newsletters just confirmed that do not greet their
    readers themselves; none left, no mail."""
    greeted = set(newsletter_ids) - _own_welcome(newsletter_ids)
    newsletters = newsletters_of(greeted, order_by="pk")
    if not newsletters or subscriber.status != Subscriber.Status.ACTIVE:
        return None
    links = [
        {"newsletter": n, "unsubscribe_url": tokens.unsubscribe_url(subscriber.pk, n.pk)}
        for n in newsletters
    ]
    return build_mail(
        template="welcome",
        subject=f"Welcome to {', '.join(n.name for n in newsletters)}",
        subscriber=subscriber,
        newsletter=newsletters[0],
        context={"links": links, "preferences_url": tokens.preferences_url(subscriber.pk)},
        headers=list_unsubscribe_headers(
            subscriber_id=subscriber.pk, newsletter_id=newsletters[0].pk
        ),
    )


MailBuilder = Callable[[Subscriber, list[int]], EmailMultiAlternatives | None]
MAIL_BUILDERS: dict[str, MailBuilder] = {
    CONFIRM: confirmation_mail,
    ALREADY_SUBSCRIBED: already_subscribed_mail,
    WELCOME: welcome_mail,
}


def build_mail(
    *,
    template: str,
    subject: str,
    subscriber: Subscriber,
    newsletter: Newsletter | None,
    context: dict[str, object],
    headers: dict[str, str] | None = None,
) -> EmailMultiAlternatives:
    """``subscribers/email/<template>.txt`` (and ``.html``) addressed to one subscriber, from
    the newsletter they joined (its sender, reply-to and postal address; the site's when
    there is none), DKIM-signed when sent."""
    postal_address = newsletter.mailing_address if newsletter else settings.POSTAL_ADDRESS
    context = {
        "subscriber": subscriber,
        "site_url": settings.SITE_URL,
        "newsletter": newsletter,
        "postal_address": postal_address.strip(),
        # The HTML part's <title> and language, as mail clients and screen readers read them.
        "subject": subject,
        "lang": settings.LANGUAGE_CODE,
        **context,
    }
    message = outgoing_email(
        subject,
        render_to_string(f"subscribers/email/{template}.txt", context),
        sender=newsletter.sender if newsletter else settings.DEFAULT_FROM_EMAIL,
        to=[subscriber.email],
        # Sent by a program: no out-of-office replies to it (RFC 3834).
        headers={"Auto-Submitted": "auto-generated", **(headers or {})},
        reply_to=[newsletter.reply_to] if newsletter and newsletter.reply_to else None,
    )
    message.attach_alternative(
        render_to_string(f"subscribers/email/{template}.html", context), "text/html"
    )
    return message


def list_unsubscribe_headers(*, subscriber_id: int, newsletter_id: int) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: one-click https, and the mailto form as a fallback."""
    https = tokens.unsubscribe_url(subscriber_id, newsletter_id)
    mailto = tokens.unsubscribe_mailto(subscriber_id, newsletter_id)
    return {
        "List-Unsubscribe": tokens.list_unsubscribe(https, mailto),
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
