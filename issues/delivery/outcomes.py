"""What can happen to a claimed row, and what to do about it.

A send error is classified once for all the site's mail (``superfast.mail``): permanent
errors fail the recipient with the reason, transient ones come back later with exponential
backoff and jitter, until ``SEND_MAX_ATTEMPTS``. ``ConnectionFailed`` is the channel failing
rather than one recipient: the rest of the batch goes back untried.
"""

import smtplib
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from superfast.mail import SendError, classify_send_error, retry_delay

from ..models import Delivery

Status = Delivery.Status


@dataclass
class Recipient:
    delivery_id: int
    subscriber_id: int
    email: str
    name: str = ""
    attempts: int = 1  # including the one being made
    no_tracking: bool = False  # the reader asked for no tracking: their links record nothing
    variant: int | None = None  # the subject test's variant the row was given, if any


@dataclass
class Outcome:
    """What happened to one claimed row: sent, failed for good, or pending until ``retry_at``."""

    delivery_id: int
    status: str
    error: str = ""
    message_id: str = ""
    retry_at: datetime | None = None


@dataclass
class Batch:
    """Claimed rows and, as they are sent, their outcomes: held until they are written."""

    token: str
    recipients: list[Recipient]
    outcomes: list[Outcome] = field(default_factory=list)

    def record(self, outcome: Outcome) -> None:
        self.outcomes.append(outcome)

    def record_error(self, recipient: Recipient, error: Exception, email: str = "") -> None:
        self.record(refused(recipient, classify_send_error(error, email)))

    def untried(self) -> list[int]:
        done = {outcome.delivery_id for outcome in self.outcomes}
        return [r.delivery_id for r in self.recipients if r.delivery_id not in done]


class ConnectionFailed(Exception):
    """The channel itself failed: nothing more can be sent over this connection."""

    def __init__(self, error: str, permanent: bool):
        super().__init__(error)
        self.permanent = permanent


def refused(recipient: Recipient, meaning: SendError) -> Outcome:
    """A recipient the mail server or ESP did not take: failed for good, or tried again."""
    if meaning.permanent:
        return Outcome(recipient.delivery_id, Status.FAILED, meaning.reason)
    return transient(recipient, meaning.reason)


def transient(recipient: Recipient, reason: str) -> Outcome:
    """Retry after the backoff for this attempt, or give up after the last one."""
    attempts = recipient.attempts
    if attempts >= settings.SEND_MAX_ATTEMPTS:
        return Outcome(
            recipient.delivery_id, Status.FAILED, f"Gave up after {attempts} attempts: {reason}"
        )
    retry_at = timezone.now() + timedelta(seconds=retry_delay(attempts))
    return Outcome(recipient.delivery_id, Status.PENDING, reason, retry_at=retry_at)


def is_connection_lost(error: Exception) -> bool:
    """The connection, not this recipient, failed (SMTP errors are OSErrors too)."""
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(error, OSError) and not isinstance(error, smtplib.SMTPException)
