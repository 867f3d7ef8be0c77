"""Helpers for the subscriber tests: readers, and links read out of captured mail."""

import re

from .waiting import wait_until

LINK = re.compile(r"https?://[^\s\"'<>]+")


def text_of(received):
    """The plain-text part of a message captured by the SMTP sink."""
    return received.message.get_body(preferencelist=("plain",)).get_content()


def links_in(received, containing):
    return [url for url in LINK.findall(text_of(received)) if containing in url]


def path_of(url):
    """The path of an absolute site URL, for the test client."""
    return re.sub(r"^https?://[^/]+", "", url)


def mails_to(sink, address):
    return [m for m in sink.messages if address.lower() in [r.lower() for r in m.rcpt_tos]]


def wait_for_mails(sink, address, count=1, timeout=30):
    """The messages to ``address`` once at least ``count`` of them arrived (the worker sends)."""
    return wait_until(
        lambda: (found := mails_to(sink, address)) and len(found) >= count and found,
        timeout,
        what=f"{count} mails to {address}",
    )


def active_reader(newsletter, email="reader@example.net"):
    """An active subscriber of ``newsletter``, as an import or a confirmation leaves one."""
    from subscribers.models import Subscriber

    subscriber = Subscriber.objects.create(email=email, status=Subscriber.Status.ACTIVE)
    subscriber.subscriptions.create(newsletter=newsletter, status="active")
    return subscriber


def join_directly(email, newsletters, name=""):
    """An active subscriber who subscribed and confirmed, without HTTP or mail."""
    from subscribers import services, tokens

    subscriber = services.subscribe(email, newsletters, name=name)
    ids = sorted(getattr(n, "pk", n) for n in newsletters)
    # The nonce the confirmation mail of this request would carry.
    nonce = subscriber.subscriptions.filter(newsletter_id__in=ids).first().confirmation_nonce
    token = tokens.confirmation_token(subscriber.pk, ids, nonce)
    return services.confirm(token).subscriber


def post_one_click_unsubscribe(url):
    """POST to a List-Unsubscribe URL exactly as Gmail does (RFC 8058).

    A form-encoded ``List-Unsubscribe=One-Click`` body, with no cookies and no CSRF token.
    """
    from django.test import Client

    gmail = Client(enforce_csrf_checks=True, HTTP_USER_AGENT="Mozilla/5.0 (compatible; Google)")
    return gmail.post(
        path_of(url),
        "List-Unsubscribe=One-Click",
        content_type="application/x-www-form-urlencoded",
    )


def token_in(url):
    """The signed token at the end of a link (tokens carry a timestamp: compare contents)."""
    return url.rstrip("/").rsplit("/", 1)[1]


def owners_of_links(received):
    """Whose unsubscribe and preferences links a message carries: {(kind, ids), ...}."""
    from subscribers import tokens

    owners = set()
    for url in links_in(received, "/unsubscribe/"):
        owners.add(("unsubscribe", tuple(tokens.read_unsubscribe_link(token_in(url))[:2])))
    for url in links_in(received, "/preferences/"):
        owners.add(("preferences", tokens.read_preferences_token(token_in(url))))
    return owners


def finished_import(client, job_url, timeout=120):
    """Poll an import's progress as its page does until the worker is done; the figures."""

    def done():
        figures = client.get(job_url + "progress/").json()
        return figures if figures["done"] else None

    return wait_until(done, timeout=timeout, what="the import", interval=0.2)


def stored_lists():
    """The uploaded lists waiting in the private storage now (their names)."""
    from django.core.files.storage import storages

    private = storages["private"]
    return set(private.listdir("imports")[1]) if private.exists("imports") else set()
