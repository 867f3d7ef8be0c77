"""Test copies ("proofs") of an issue: the real message as the issue renders now, subject
marked, outside the ledger, with example links that act for nobody.

From the admin a proof goes only to staff users' addresses or ``SEND_TEST_ALLOWED_ADDRESSES``,
at most ``SEND_TEST_LIMIT_PER_USER_PER_HOUR`` messages per user an hour, and is sent by the
worker: the "Send test" button must not be a relay for mail to anyone. ``send_issue
--test-to``, run by an operator on the server, calls ``send_test`` directly.
"""

import time
import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.core.mail import get_connection

from ..compose.examples import TEST_PREFIX, example_links
from ..compose.rendering import unsaved_snapshot
from ..models import Dispatch, Issue
from .message import IssueMessage
from .outcomes import Recipient
from .queue import enqueue_test_copies

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class ProofRefused(Exception):
    """A test send the admin will not make; the message says why, for the editor."""


class ProofLimitReached(ProofRefused):
    """The user's hourly allowance of test messages is spent."""


def send_test(issue: Issue, addresses: list[str]) -> int:
    """Send a proof to each address now; the number sent."""
    message = IssueMessage(Dispatch(issue=issue, snapshot=unsaved_snapshot(issue), pk=0))
    examples = example_links(message.markers)
    backend = get_connection()
    sent = 0
    with backend:
        for address in addresses:
            recipient = Recipient(0, 0, address, "")
            values = message.values(recipient, message.message_id(recipient, uuid.uuid4().hex))
            # The links an editor may click in a test must not act for anyone: the preview's
            # example links stand in for them.
            values.update(examples)
            email = message.as_django_message(recipient, values)
            email.subject = TEST_PREFIX + email.subject
            sent += backend.send_messages([email]) or 0
    return sent


def allowed_proof_addresses(addresses: list[str]) -> set[str]:
    """Those of ``addresses`` a proof may go to: staff users' own, or the configured list
    (an entry ``@example.org`` allows a whole domain)."""
    wanted = {address.lower() for address in addresses}
    staff = get_user_model().objects.filter(is_staff=True, is_active=True)
    allowed = {email.lower() for email in staff.values_list("email", flat=True) if email}
    configured = {entry.lower() for entry in settings.SEND_TEST_ALLOWED_ADDRESSES}
    return {
        address
        for address in wanted
        if address in allowed
        or address in configured
        or "@" + address.rsplit("@", 1)[-1] in configured
    }


def count_proofs(user_id: int, count: int) -> None:
    """Count ``count`` proofs against the user's hourly allowance, or refuse them all."""
    limit = settings.SEND_TEST_LIMIT_PER_USER_PER_HOUR
    window = int(time.time() // 3600)
    key = f"issues:proofs:{user_id}:{window}"
    cache.add(key, 0, timeout=3600)
    try:
        total = cache.incr(key, count)
    except ValueError:  # expired between add and incr
        cache.set(key, count, timeout=3600)
        total = count
    if total > limit:
        cache.decr(key, count)
        raise ProofLimitReached(
            f"Test sends are limited to {limit} messages an hour per person; "
            f"try again later or send fewer."
        )


def queue_proofs(issue: Issue, addresses: list[str], *, user: "User") -> None:
    """Check the addresses and the user's allowance, then have the worker send the proofs."""
    refused = sorted({a.lower() for a in addresses} - allowed_proof_addresses(addresses))
    if refused:
        raise ProofRefused(
            "Test copies go only to staff members' addresses or the configured list "
            f"(SEND_TEST_ALLOWED_ADDRESSES); not allowed: {', '.join(refused)}."
        )
    count_proofs(user.pk, len(addresses))
    enqueue_test_copies(issue.pk, addresses)
