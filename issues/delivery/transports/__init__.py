"""How a batch reaches the mail server: one send loop, one connection per batch, and one of
four transports behind the ``Transport`` protocol (``base``):

- ``smtp.RawSmtp``: Django's SMTP backend's connection, with the message's bytes
  substituted and written raw (MAIL/RCPT/DATA pipelined when the server offers it);
- ``django_mail.DjangoMail``: any other backend (anymail ESPs, the demo's .eml files), one
  message at a time built by Django's mail API, over the backend's one connection;
- ``esp_merge.EspMerge``: an anymail ESP with ``SEND_ESP_MERGE_FIELD``: the whole batch in
  one API call;
- ``postmark_batch.PostmarkBatch``: anymail's Postmark backend with ``SEND_POSTMARK_BATCH``:
  the readers' own messages posted to Postmark's batch endpoint, 500 a call.

The loop calls ``pace()`` before each recipient (the global rate and the lease's heartbeat),
records one outcome per recipient it tried in the batch, and raises ``ConnectionFailed``
when the channel itself fails: the rest of the batch then goes back untried.
"""

import logging
from collections.abc import Callable

from anymail.backends.postmark import EmailBackend as PostmarkBackend
from django.conf import settings
from django.core.mail import get_connection
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend

from superfast.mail import classify_send_error

from ..message import IssueMessage
from ..outcomes import Batch, ConnectionFailed, Recipient, is_connection_lost
from .base import BatchTransport, Transport, Values
from .django_mail import DjangoMail
from .esp_merge import EspMerge
from .postmark_batch import PostmarkBatch
from .smtp import RawSmtp

log = logging.getLogger(__name__)


def transport_for(message: IssueMessage, backend: BaseEmailBackend) -> Transport:
    """Raw SMTP when both the backend and the message allow it; the ESP's batch call when
    configured; else Django's mail API."""
    if settings.SEND_POSTMARK_BATCH and isinstance(backend, PostmarkBackend):
        return PostmarkBatch(message, backend)
    if settings.SEND_ESP_MERGE_FIELD and type(backend).__module__.startswith("anymail."):
        return EspMerge(message, backend)
    if message.fast and isinstance(backend, SmtpBackend):
        return RawSmtp(message, backend)
    return DjangoMail(message, backend)


def send_batch(message: IssueMessage, batch: Batch, pace: Callable[[], None]) -> None:
    """Send every recipient of the batch over one connection, recording each outcome."""
    transport = transport_for(message, get_connection())
    try:
        transport.open()
    except Exception as error:
        meaning = classify_send_error(error)
        raise ConnectionFailed(
            f"Could not connect to the mail server: {meaning.reason}", meaning.permanent
        ) from error
    batching = transport if isinstance(transport, BatchTransport) else None
    held: list[tuple[Recipient, Values]] = []
    try:
        for recipient in batch.recipients:
            pace()
            values = message.values(recipient, message.message_id(recipient, batch.token))
            if batching is not None:
                held.append((recipient, values))
                continue
            try:
                batch.record(transport.send_one(recipient, values))
            except Exception as error:
                batch.record_error(recipient, error, recipient.email)
                if is_connection_lost(error):
                    raise ConnectionFailed(batch.outcomes[-1].error, permanent=False) from error
        if batching is not None and held:
            send_held(batching, held, batch)
    finally:
        try:
            transport.close()
        except Exception:  # a broken connection may fail to say goodbye; nothing is lost
            log.debug("closing the mail connection failed", exc_info=True)


def send_held(
    transport: BatchTransport, held: list[tuple[Recipient, Values]], batch: Batch
) -> None:
    """The batch in one request: a failed request is each recipient's error."""
    try:
        outcomes = transport.send_batch(held)
    except Exception as error:
        for recipient, _ in held:
            batch.record_error(recipient, error)
        return
    for outcome in outcomes:
        batch.record(outcome)
