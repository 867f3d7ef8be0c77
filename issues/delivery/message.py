"""The issue's message, serialized once per dispatch and worker; per recipient only the
marker bytes change.

The renderer wrote its markers (``issues.compose.markers``, named with the snapshot's random
key) where each recipient's own links go; the sender adds its own, named with a key of its
own, for the headers that differ per recipient. Only those exact strings are ever replaced:
anything else that looks like a marker (an editor's ``%%UNSUBSCRIBE_URL%%`` in a link, the
subject or alt text) is sent as the literal text it is.
"""

import re
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import format_datetime

from django.conf import settings
from django.core.mail.message import sanitize_address
from django.utils.html import escape

from subscribers.tokens import SubscriberLinks, list_unsubscribe
from superfast.dkim import SignedEmail, signature, signing_keys
from superfast.mail import bounce_address, domain_of, outgoing_email

from ..compose.markers import Markers, marker
from ..engagement.attribution import campaign_of
from ..engagement.tokens import ReaderTokens, VoterTokens
from ..models import Dispatch, Snapshot, SubjectTest
from .outcomes import Recipient

LONGEST_LINE = 990  # RFC 5322 allows 998 octets a line; 8bit bodies must stay under it
# A dot at the start of a line. A literal piece after a marker starts mid-line (values
# have no line breaks), so only the message's first piece may have one at its very start.
LEADING_DOT = re.compile(rb"(?<=\n)\.")


def wrap_long_lines(text: str) -> str:
    """Break lines longer than 8bit transport allows at a space (HTML and text read the
    same either way); a line with no space to break at is left for the caller to detect."""
    out = []
    for line in text.splitlines():
        while len(line.encode()) > LONGEST_LINE:
            cut = line.rfind(" ", 1, LONGEST_LINE // 4)
            if cut < 0:
                break
            out.append(line[:cut])
            line = line[cut + 1 :]
        out.append(line)
    return "\n".join(out)


def with_consent_links(
    snapshot: Snapshot, markers: Markers, web_url: str, postal_address: str = ""
) -> tuple[str, str]:
    """The snapshot's HTML and text, sure to carry the view-in-browser, unsubscribe and
    preferences links and the sender's postal address (the renderer normally writes them;
    the law requires them)."""
    email_html, text = snapshot.email_html, snapshot.text
    links = {
        "View in your browser": web_url,
        "Unsubscribe": markers.unsubscribe_url,
        "Preferences": markers.preferences_url,
    }
    if not web_url:  # a welcome email has no public page
        del links["View in your browser"]
    missing_html = [
        f'<a href="{url}">{label}</a>' for label, url in links.items() if url not in email_html
    ]
    missing_text = [f"{label}: {url}" for label, url in links.items() if url not in text]
    first_line = postal_address.strip().splitlines()[0] if postal_address.strip() else ""
    if first_line and escape(first_line) not in email_html:
        missing_html.append(escape(postal_address.strip()).replace("\n", "<br>"))
    if first_line and first_line not in text:
        missing_text.append(postal_address.strip())
    if missing_html:
        footer = f'<p style="font-size:12px;text-align:center">{" · ".join(missing_html)}</p>'
        if "</body>" in email_html:
            email_html = email_html.replace("</body>", footer + "</body>", 1)
        else:
            email_html += footer
    if missing_text:
        text = text.rstrip("\n") + "\n\n" + "\n".join(missing_text) + "\n"
    return email_html, text


@dataclass(frozen=True)
class Pieces:
    """A message's bytes cut at its per-recipient markers: ``head``, then each marker's name
    with the literal bytes that follow it."""

    head: bytes
    rest: list[tuple[str, bytes]]

    @classmethod
    def cut(cls, data: bytes, markers: re.Pattern[bytes]) -> "Pieces":
        literals, names, start = [], [], 0
        for match in markers.finditer(data):
            literals.append(data[start : match.start()])
            names.append(match.group().decode())
            start = match.end()
        literals.append(data[start:])
        return cls(literals[0], list(zip(names, literals[1:], strict=True)))

    def join(self, values: dict[str, bytes]) -> bytes:
        """The bytes with each marker's value in its place."""
        return b"".join(self.parts(values))

    def parts(self, values: dict[str, bytes]) -> list[bytes]:
        """What ``join`` joins: for a caller that joins many messages into one body, so
        each message's bytes are copied once, into the body, not first into their own."""
        parts = [self.head]
        for name, literal in self.rest:
            parts += (values[name], literal)
        return parts

    def dot_stuffed(self) -> "Pieces":
        """The literal bytes dot-stuffed for SMTP DATA (RFC 5321 4.5.2): a line's leading
        dot doubled. A literal after a marker starts mid-line (values have no line breaks),
        so only the head may have one at its very start."""
        head = (b"." if self.head.startswith(b".") else b"") + LEADING_DOT.sub(b"..", self.head)
        return Pieces(head, [(name, LEADING_DOT.sub(b"..", tail)) for name, tail in self.rest])


NOT_SERIALIZED = Pieces(b"", [])


def snapshot_of(dispatch: Dispatch) -> Snapshot:
    """The snapshot a dispatch sends: every dispatch has one from its start on."""
    if dispatch.snapshot is None:
        raise ValueError(f"{dispatch} has no snapshot to send.")
    return dispatch.snapshot


class IssueMessage:
    """An issue's message serialized once; per recipient only marker bytes are replaced.

    The parts are sent 8bit (UTF-8, lines wrapped under the limit), so substituting raw
    bytes cannot break a transfer encoding the way it would inside quoted-printable or
    base64. When a line cannot be wrapped, ``fast`` is off and each message is built by
    Django's mail API instead: slower, always correct.
    """

    def __init__(self, dispatch: Dispatch, subject: str | None = None):
        issue, snapshot = dispatch.issue, snapshot_of(dispatch)
        self.newsletter = newsletter = issue.newsletter
        self.dispatch_id = dispatch.pk
        self.subject = subject or snapshot.subject
        # Message-ID and List-Id name the sending domain: the one the From address shows
        # (RFC 2919 wants a domain the sender controls, not the site's host or an IP).
        self.domain = domain_of(newsletter.from_email)
        published = issue.is_published_kind  # a welcome email has no public page
        self.web_url = settings.SITE_URL + issue.get_absolute_url() if published else ""
        self.markers = Markers(snapshot.marker_key)
        own = secrets.token_hex(12)  # the sender's markers: for the per-recipient headers
        self.to, self.message_id_marker, self.date_marker, self.mailto = (
            marker(name, own) for name in ("TO", "MESSAGE_ID", "DATE", "UNSUBSCRIBE_MAILTO")
        )
        self.html, self.text = with_consent_links(
            snapshot, self.markers, self.web_url, newsletter.mailing_address
        )
        self.from_email = newsletter.sender
        self.envelope_from = bounce_address(newsletter.from_email)
        self.constant_headers = {
            "List-Id": f'"{newsletter.name}" <{newsletter.slug}.{self.domain}>',
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            # No out-of-office or auto-replies to the reply-to inbox (RFC 3834; Exchange).
            "Auto-Submitted": "auto-generated",
            "X-Auto-Response-Suppress": "OOF, AutoReply",
            # Gmail's feedback loop reports complaints per issue and newsletter.
            "Feedback-ID": f"{issue.pk}:{newsletter.slug}:superfast:{self.domain}",
        }
        if newsletter.reply_to:
            self.constant_headers["Reply-To"] = newsletter.reply_to
        self.signed = bool(signing_keys())
        self.substituted = re.compile(
            "|".join(
                re.escape(m)
                for m in (self.to, self.message_id_marker, self.date_marker, self.mailto)
                + self.markers.per_recipient
            )
        )
        serialized = self.serialize()
        self.fast = serialized is not None
        self.pieces = serialized or NOT_SERIALIZED
        self.stuffed = self.pieces.dot_stuffed()
        # Unsubscribes through this email are counted for this issue in its report.
        self.links = SubscriberLinks(newsletter, campaign=campaign_of(issue))
        self.readers = ReaderTokens.of(issue, self.markers, self.html + self.text)
        self.voters = VoterTokens.of(issue, self.markers, self.html + self.text)

    def serialize(self) -> Pieces | None:
        """The whole message as bytes, cut at its markers; None when a line is too long."""
        html_body, text_body = wrap_long_lines(self.html), wrap_long_lines(self.text)
        if max(len(line.encode()) for line in (html_body + "\n" + text_body).splitlines()) > 998:
            return None
        message = EmailMessage(policy=SMTP_POLICY)
        message["From"] = self.from_email
        message["Subject"] = self.subject
        for name, value in self.constant_headers.items():
            message[name] = value
        message.set_content(text_body, cte="8bit")
        message.add_alternative(html_body, subtype="html", cte="8bit")
        unsubscribe = list_unsubscribe(self.markers.unsubscribe_url, self.mailto)
        per_recipient = (
            f"To: {self.to}\r\nMessage-ID: <{self.message_id_marker}>\r\n"
            f"Date: {self.date_marker}\r\n"
            f"List-Unsubscribe: {unsubscribe.replace(', ', ',' + chr(13) + chr(10) + ' ', 1)}\r\n"
        )
        return self.cut(per_recipient.encode() + message.as_bytes())

    def cut(self, data: bytes) -> Pieces:
        """``data`` (written with this message's markers) cut at them."""
        return Pieces.cut(data, re.compile(self.substituted.pattern.encode()))

    def values(self, recipient: Recipient, message_id: str) -> dict[str, str]:
        """Every per-recipient value, each a few string operations: no template render."""
        email = recipient.email
        unsubscribe, mailto = self.links.unsubscribe(recipient.subscriber_id)
        return {
            self.to: email if email.isascii() else sanitize_address(email, "utf-8"),
            self.message_id_marker: message_id,
            self.date_marker: self.date(),
            self.markers.unsubscribe_url: unsubscribe,
            self.mailto: mailto,
            self.markers.preferences_url: self.links.preferences(recipient.subscriber_id),
            self.markers.reader: self.readers.token(recipient),
            self.markers.voter: self.voters.token(recipient),
        }

    def date(self) -> str:
        """The Date header in UTC as ``+0000`` (``-0000`` would say the zone is unknown),
        formatted once a second rather than once a message."""
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, format_datetime(datetime.fromtimestamp(now, UTC)))
        return self._date[1]

    _date = (0, "")

    def message_id(self, recipient: Recipient, token: str) -> str:
        """Unique per attempt: the row and its claim; ``mark`` rebuilds it in SQL."""
        return f"{recipient.delivery_id}{self.message_id_suffix(token)}"

    def message_id_suffix(self, token: str) -> str:
        return message_id_suffix(token, self.domain)

    def as_bytes(self, values: dict[str, str]) -> bytes:
        return self.pieces.join({name: value.encode() for name, value in values.items()})

    def as_smtp_data(self, values: dict[str, str]) -> bytes:
        """``as_bytes`` already dot-stuffed for SMTP DATA (RFC 5321 4.5.2), with its DKIM
        signature in front when signing is configured (a signature's lines never start
        with a dot).

        The literal pieces are stuffed once per issue; a value has no line breaks, so it
        can only start a line where its marker did, and only there is it checked.
        """
        signed = signature(self.as_bytes(values)) if self.signed else b""
        pieces = [signed, self.stuffed.head]
        for name, literal in self.stuffed.rest:
            value = values[name].encode()
            if value.startswith(b".") and (
                len(pieces) == 2 and not pieces[1] or pieces[-1].endswith(b"\n")
            ):
                value = b"." + value
            pieces += (value, literal)
        return b"".join(pieces)

    def fill(self, body: str, values: dict[str, str]) -> str:
        """``body`` with the renderer's markers replaced, and nothing else."""
        return self.substituted.sub(lambda m: values.get(m.group(), m.group()), body)

    def headers(self, values: dict[str, str]) -> dict[str, str]:
        return {
            **self.constant_headers,
            "Message-ID": f"<{values[self.message_id_marker]}>",
            "Date": values[self.date_marker],
            "List-Unsubscribe": list_unsubscribe(
                values[self.markers.unsubscribe_url], values[self.mailto]
            ),
        }

    def as_django_message(self, recipient: Recipient, values: dict[str, str]) -> SignedEmail:
        """The same message through Django's mail API, for backends other than SMTP."""
        message = outgoing_email(
            self.subject,
            self.fill(self.text, values),
            sender=self.from_email,
            to=[recipient.email],
            headers=self.headers(values),
        )
        message.attach_alternative(self.fill(self.html, values), "text/html")
        return message


def message_id_suffix(token: str, domain: str) -> str:
    """Our Message-IDs end with the claim's token and the sending domain (``mark`` adds the
    row)."""
    return f".{token}@{domain}"


# (dispatch, its creation, snapshot, the render's marker key, subject variant)
MessageKey = tuple[int, datetime, int | None, str, int | None]
_message_cache: dict[MessageKey, IssueMessage] = {}
MESSAGES_KEPT = 8  # a subject test's variants, and the steps of a welcome sequence


def issue_message(dispatch: Dispatch, variant: int | None = None) -> IssueMessage:
    """Built once per dispatch (and subject variant) and worker process, then reused for
    every batch."""
    # The marker key is new with every render: an edited welcome email, frozen again,
    # reaches the rows still pending.
    key = (
        dispatch.pk,
        dispatch.created_at,
        dispatch.snapshot_id,
        snapshot_of(dispatch).marker_key,
        variant,
    )
    if key not in _message_cache:
        if len(_message_cache) >= MESSAGES_KEPT:
            _message_cache.pop(next(iter(_message_cache)))
        _message_cache[key] = IssueMessage(dispatch, subject=variant_subject(dispatch, variant))
    return _message_cache[key]


def variant_subject(dispatch: Dispatch, variant: int | None) -> str | None:
    """The subject of a test's variant. Without one, the subject an earlier test of the same
    issue chose (``decided_subject``); else None (the snapshot's)."""
    if variant is None:
        return decided_subject(dispatch.issue_id, besides=dispatch.pk)
    test = SubjectTest.objects.filter(dispatch_id=dispatch.pk).first()
    return test.subject(variant) if test else None


def decided_subject(issue_id: int, besides: int | None = None) -> str | None:
    """The subject a decided test of this issue chose: the issue sent to a part with a test,
    then "to the rest", goes out under the winner."""
    decided = SubjectTest.objects.filter(
        dispatch__issue_id=issue_id, status=SubjectTest.Status.DECIDED
    )
    if besides is not None:
        decided = decided.exclude(dispatch_id=besides)
    earlier = decided.order_by("-decided_at").first()
    return earlier.subject(earlier.winner) if earlier else None
