"""Which ESP tracking webhook the site mounts, and what guards it.

Anymail ships a tracking view for every ESP it supports; mounting them all lets anyone post
a forged "bounce" in whichever vendor's format is least guarded. Only the ESP that sends
our mail (``EMAIL_BACKEND = anymail.backends.<esp>.EmailBackend``) can have anything to
report, so only its URL answers, and only with the basic-auth secret (``ANYMAIL_WEBHOOK_SECRET``)
and, where the ESP signs its posts, the signing key anymail verifies them with.
"""

import logging
import re
from contextlib import contextmanager
from functools import cache

from anymail.exceptions import AnymailError
from django.conf import settings
from django.core.exceptions import BadRequest, SuspiciousOperation
from django.http import Http404, HttpResponseForbidden
from django.views.decorators.csrf import csrf_exempt

logger = logging.getLogger(__name__)

BACKEND = re.compile(r"^anymail\.backends\.(?P<esp>[a-z_]+)\.EmailBackend$")

# ESPs that sign their webhook posts, and the anymail setting (ANYMAIL_<ESP>_<NAME>) that
# holds the key anymail checks the signature with. Without it anymail may skip the check
# (SendGrid) or fall back to the sending API key (Mailgun).
SIGNING_KEY_SETTINGS = {
    "mailgun": "WEBHOOK_SIGNING_KEY",
    "sendgrid": "TRACKING_WEBHOOK_VERIFICATION_KEY",
    "mailersend": "SIGNING_SECRET",
    "mailtrap": "TRACKING_SECRET",
    "mandrill": "WEBHOOK_KEY",
    "postal": "WEBHOOK_KEY",
    "resend": "SIGNING_SECRET",
}


def configured_esp() -> str | None:
    """The ESP of ``EMAIL_BACKEND`` (``postmark``), or None for SMTP, files or anymail's test."""
    match = BACKEND.match(settings.EMAIL_BACKEND)
    if match is None or match["esp"] == "test":
        return None
    return match["esp"]


def anymail_setting(name: str) -> str:
    return str(getattr(settings, "ANYMAIL", {}).get(name) or "").strip()


def signing_key_variable(esp: str) -> str | None:
    """The environment variable of ``esp``'s signing key, when that ESP signs."""
    name = SIGNING_KEY_SETTINGS.get(esp)
    return f"ANYMAIL_{esp.upper()}_{name}" if name else None


def missing_webhook_variables() -> list[str]:
    """The variables the mounted tracking webhook still needs, for checks and refusals."""
    esp = configured_esp()
    if esp is None:
        return []
    missing = [] if anymail_setting("WEBHOOK_SECRET") else ["ANYMAIL_WEBHOOK_SECRET"]
    signing = signing_key_variable(esp)
    if signing and not anymail_setting(signing.removeprefix("ANYMAIL_")):
        missing.append(signing)
    return missing


# What anymail's parsers raise on a body that is not the ESP's format (not JSON, empty, a
# list where an object belongs, a bare string): the post is malformed, not our failure.
MALFORMED = (ValueError, TypeError, KeyError, AttributeError, IndexError, AnymailError)


@contextmanager
def malformed_is_bad_request():
    try:
        yield
    except SuspiciousOperation:
        raise  # anymail's own validation failures already answer 400
    except MALFORMED as error:
        raise BadRequest(f"Malformed webhook body: {error!r}") from error


@cache
def tracking_view(esp: str, kind: str = "tracking"):
    """Anymail's own ``kind`` (tracking or inbound) view of ``esp``, answering 400 to a body
    it cannot parse.

    Only checking and parsing are guarded, and they finish before any event is handed to
    a receiver: a malformed post changes nothing, and a failure in our own receivers stays
    a 500 that the ESP retries.
    """
    from anymail.urls import urlpatterns

    for pattern in urlpatterns:
        if pattern.name == f"{esp}_{kind}_webhook":
            anymail_view = pattern.callback.view_class

            class GuardedView(anymail_view):
                def run_validators(self, request):
                    with malformed_is_bad_request():
                        super().run_validators(request)

                def parse_events(self, request):
                    with malformed_is_bad_request():
                        return list(super().parse_events(request))

            return GuardedView.as_view(**pattern.callback.view_initkwargs)
    return None


@csrf_exempt  # the ESP posts without a session; anymail checks its credentials
def tracking_webhook(request, esp):
    """Anymail's tracking view for the configured ESP; every other ESP's URL is a 404.

    A webhook without its secret (or signing key) refuses every post, DEBUG or not: an
    unauthenticated event could unsubscribe or suppress anyone.
    """
    view = tracking_view(esp) if esp == configured_esp() else None
    if view is None:
        raise Http404("No tracking webhook for this ESP.")
    missing = missing_webhook_variables()
    if missing:  # the operator learns what to set from the log, the caller nothing
        logger.error("Refused a %s tracking event: set %s.", esp, " and ".join(missing))
        return HttpResponseForbidden("This webhook is not configured.")
    return view(request)


@csrf_exempt  # the ESP posts without a session; anymail checks its credentials
def inbound_webhook(request, esp):
    """Anymail's inbound view for the configured ESP, mounted only with
    ``UNSUBSCRIBE_INBOUND``: mail to ``UNSUBSCRIBE_EMAIL`` (the ``mailto:`` form of
    ``List-Unsubscribe``) arrives here and ``subscribers.inbound`` unsubscribes its sender.
    Guarded like the tracking webhook: a forged post must not unsubscribe anyone (it would
    need a reader's signed token anyway)."""
    enabled = settings.UNSUBSCRIBE_INBOUND and esp == configured_esp()
    view = tracking_view(esp, "inbound") if enabled else None
    if view is None:
        raise Http404("No inbound webhook for this ESP.")
    missing = missing_webhook_variables()
    if missing:
        logger.error("Refused a %s inbound message: set %s.", esp, " and ".join(missing))
        return HttpResponseForbidden("This webhook is not configured.")
    return view(request)
