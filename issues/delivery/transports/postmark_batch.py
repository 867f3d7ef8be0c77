"""Postmark's batch endpoint: the claimed batch's own per-reader messages, up to 500 a request.

Anymail's Postmark backend takes ``merge_data`` only with a Postmark template, so ``EspMerge``
cannot serve Postmark, and one ``POST /email`` per reader costs an HTTP round trip each.
Postmark's ``POST /email/batch`` takes a JSON list of at most 500 messages in at most 50 MB
and answers 200 with one result per message, in order: ``ErrorCode`` 0 and the ``MessageID``
its webhooks will name, or the code and ``Message`` of the refusal
(https://postmarkapp.com/developer/user-guide/send-email-with-api/batch-emails). Each reader's
message is already ours to build (markers substituted, as for any backend), so the batch needs
no merge data: each entry carries the fields anymail's backend sends for one message.

The transport rides on anymail's Postmark backend for its settings and its HTTP session:
``ANYMAIL_POSTMARK_SERVER_TOKEN``, ``ANYMAIL_POSTMARK_API_URL``,
``ANYMAIL_POSTMARK_MESSAGE_STREAM`` and ``ANYMAIL_REQUESTS_TIMEOUT`` mean here what they mean
there. Postmark builds the MIME message and signs it with DKIM itself, so the API path sends
fields (the headers among them), never bytes of ours to sign.
"""

import json
import re
from collections.abc import Iterator
from typing import Any

from anymail.backends.postmark import EmailBackend as PostmarkBackend
from anymail.exceptions import AnymailRequestsAPIError

from superfast.mail import SendError, classify_send_error

from ..message import IssueMessage
from ..outcomes import Outcome, Recipient, Status, refused
from .base import OverDjangoBackend, Values

BATCH_MESSAGES = 500  # Postmark's most messages in one batch call
BATCH_BYTES = 50 * 1000 * 1000  # its 50 MB body limit, read as the smaller megabyte
# Postmark's API error codes worth another try: 100 maintenance, 429 rate limit exceeded
# (https://postmarkapp.com/developer/api/overview#error-codes). Every other code refuses
# the message itself (406 inactive recipient, 300 invalid request, ...): no retry cures it.
TRANSIENT_CODES = {100, 429}

Message = dict[str, Any]
# What JSON escapes: quotes, backslashes, control characters and (json's default) non-ASCII.
NEEDS_ESCAPING = re.compile(r'["\\\x00-\x1f\x7f-\U0010ffff]')


class PostmarkBatch(OverDjangoBackend[PostmarkBackend]):
    def __init__(self, message: IssueMessage, backend: PostmarkBackend) -> None:
        super().__init__(message, backend)
        # Without the object's closing brace: each reader's entry ends with its own metadata.
        entry = json.dumps(entry_with_markers(message, backend)).removesuffix("}")
        self.pieces = message.cut(entry.encode())

    def send_one(self, recipient: Recipient, values: Values) -> Outcome:
        return self.send_batch([(recipient, values)])[0]

    def send_batch(self, messages: list[tuple[Recipient, Values]]) -> list[Outcome]:
        """One outcome per recipient, each request's in turn. When a request fails (an HTTP
        error, a timeout), its recipients and those not yet posted share its error: nothing
        of theirs was accepted, so a retry sends nobody twice."""
        outcomes: list[Outcome] = []
        entries = [self.entry_parts(recipient, values) for recipient, values in messages]
        start = 0
        for end in request_ends([sum(map(len, parts)) for parts in entries]):
            recipients = [recipient for recipient, _ in messages[start:end]]
            try:
                results = self.post(json_list(entries[start:end]), len(recipients))
            except Exception as error:
                meaning = classify_send_error(error)
                rest = [recipient for recipient, _ in messages[start:]]
                return outcomes + [refused(recipient, meaning) for recipient in rest]
            outcomes += map(outcome, recipients, results)
            start = end
        return outcomes

    def entry(self, recipient: Recipient, values: Values) -> bytes:
        """One reader's message as the JSON Postmark's API takes."""
        return b"".join(self.entry_parts(recipient, values))

    def entry_parts(self, recipient: Recipient, values: Values) -> list[bytes]:
        """``entry`` in parts, not yet joined: the message's JSON, encoded once with the
        markers in it, with this reader's values (JSON-escaped) in their places, as the SMTP
        path does with the MIME bytes; then the row it is for."""
        escaped = {name: json_escaped(value) for name, value in values.items()}
        delivery = b',"Metadata":{"delivery":"%d"}}' % recipient.delivery_id
        return [*self.pieces.parts(escaped), delivery]

    def post(self, body: bytes, count: int) -> list[Message]:
        """Postmark's results for one request of ``count`` messages; raise anymail's API
        error (with the HTTP status ``classify_send_error`` reads) when the request fails."""
        backend = self.backend
        if backend.session is None:  # open() makes it; said for the types
            raise RuntimeError("the Postmark backend has no open session")
        response = backend.session.post(
            f"{backend.api_url}email/batch",
            data=body,
            headers={
                "Accept": "application/json",
                "Content-Type": "application/json",
                "X-Postmark-Server-Token": backend.server_token,
            },
            timeout=backend.timeout,
        )
        if response.status_code != 200:
            raise AnymailRequestsAPIError(response=response, backend=backend)
        results = backend.deserialize_json_response(response, None, None)
        if not isinstance(results, list) or len(results) != count:
            raise AnymailRequestsAPIError(
                f"Postmark answered a batch of {count} with something else: {response.text[:200]}",
                response=response,
                backend=backend,
            )
        return results


def entry_with_markers(message: IssueMessage, backend: PostmarkBackend) -> Message:
    """A reader's message in the fields anymail's Postmark backend sends for one message,
    with the message's markers where each reader's values go: the bodies, ``To`` and the
    headers (``List-Unsubscribe`` with their link, ``Message-ID``, ``Date``, and the issue's
    own: ``List-Unsubscribe-Post``, ``List-Id``, ``Feedback-ID``, ...). ``Reply-To`` is a
    field of its own in Postmark's API."""
    markers = message.markers
    headers = message.headers(
        {
            message.message_id_marker: message.message_id_marker,
            message.date_marker: message.date_marker,
            markers.unsubscribe_url: markers.unsubscribe_url,
            message.mailto: message.mailto,
        }
    )
    reply_to = headers.pop("Reply-To", None)
    entry: Message = {"From": message.from_email, "To": message.to, "Subject": message.subject}
    if reply_to:
        entry["ReplyTo"] = reply_to
    if backend.message_stream:
        entry["MessageStream"] = backend.message_stream
    return {
        **entry,
        "TextBody": message.text,
        "HtmlBody": message.html,
        "Headers": [{"Name": name, "Value": value} for name, value in headers.items()],
    }


def json_escaped(value: str) -> bytes:
    """``value`` as the inside of a JSON string (most values, links and ids, need nothing)."""
    if NEEDS_ESCAPING.search(value):
        return json.dumps(value)[1:-1].encode()
    return value.encode()


def json_list(entries: list[list[bytes]]) -> bytes:
    """A request's body, the entries' parts joined once: a batch is megabytes, and each
    extra copy of it cost the sender more than building its messages."""
    parts = [b"["]
    for n, entry in enumerate(entries):
        if n:
            parts.append(b",")
        parts += entry
    parts.append(b"]")
    return b"".join(parts)


def request_ends(sizes: list[int]) -> Iterator[int]:
    """Where each request ends, given each message's size: at most ``BATCH_MESSAGES``
    messages, and a JSON list of at most ``BATCH_BYTES`` (one message over it goes alone,
    for Postmark to refuse)."""
    count, size = 0, 2  # the list's brackets
    for end, message in enumerate(sizes):
        if count and (count == BATCH_MESSAGES or size + message + 1 > BATCH_BYTES):
            yield end
            count, size = 0, 2
        count, size = count + 1, size + message + 1  # with its comma
    if count:
        yield len(sizes)


def outcome(recipient: Recipient, result: Message) -> Outcome:
    """Postmark's result for one message: accepted with the id its webhooks will name, or
    refused with its code and reason."""
    code = result.get("ErrorCode", 0)
    if code == 0:
        message_id = str(result.get("MessageID") or "")
        return Outcome(recipient.delivery_id, Status.SENT, message_id=message_id)
    reason = f"Postmark {code}: {result.get('Message', '')}"
    return refused(recipient, SendError(code not in TRANSIENT_CODES, reason))
