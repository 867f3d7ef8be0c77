"""Sending an issue: plan the ledger, claim a batch, personalize, send, mark. Plain functions.

The flow (DESIGN.md §1): ``start_dispatch`` records the decision; ``plan_dispatch`` writes one
``Delivery`` row per recipient (unique per issue and subscriber, so planning twice plans
nobody twice); sender tasks loop over ``send_next_batch``: claim rows atomically under a
lease, send them over one connection, and mark the outcomes in a few UPDATEs. The sweeper
(``sweep``) returns rows whose lease expired to ``pending``, so a dead worker duplicates at
most the batch it held, and restarts dispatches that went quiet.
"""

import html
import logging
import random
import re
import smtplib
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta
from email.message import EmailMessage
from email.policy import SMTP as SMTP_POLICY
from email.utils import formatdate
from urllib.parse import quote, urlsplit

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.mail.backends.smtp import EmailBackend as SmtpBackend
from django.core.mail.message import sanitize_address
from django.db import connection, transaction
from django.db.models import Case, CharField, Count, DateTimeField, F, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.utils import timezone

from subscribers import services as audience
from subscribers import tokens

from .. import placeholders
from ..models import Delivery, Dispatch, Issue, Snapshot
from ..ratelimit import limiter
from ..rendering import freeze_snapshot, unsaved_snapshot
from ..testsend import TEST_PREFIX, example_values

log = logging.getLogger(__name__)

PLAN_CHUNK = 10_000
SENDER_BUDGET_SECONDS = 60  # a sender task yields its worker slot after this long
LONGEST_LINE = 990  # RFC 5322 allows 998 octets a line; 8bit bodies must stay under it

# Markers only the sender uses (the renderer writes those of ``issues.placeholders``).
TO = "%%TO%%"
MESSAGE_ID = "%%MESSAGE_ID%%"
DATE = "%%DATE%%"
UNSUBSCRIBE_MAILTO = "%%UNSUBSCRIBE_MAILTO%%"
NAME_HTML = "%%SUBSCRIBER_NAME_HTML%%"
EMAIL_HTML = "%%SUBSCRIBER_EMAIL_HTML%%"
MARKER = re.compile(rb"%%[A-Z_]+%%")
LEADING_DOT = re.compile(rb"(?m)^\.")
MARKER_TEXT = re.compile(r"%%([A-Z_]+)%%")

Status = Delivery.Status


class SendingError(Exception):
    """A dispatch cannot start; the message says why, for an editor."""


# --- Starting, scheduling and controlling a dispatch -----------------------------------


def frozen_snapshot(issue: Issue) -> Snapshot:
    """The snapshot every recipient of this issue gets: rendered once, then never again.

    A snapshot already sent to someone stays as it is (later edits must not reach the rest
    of the list); otherwise the renderer freezes the issue now.
    """
    sent_before = Snapshot.objects.filter(issue=issue, dispatches__isnull=False).first()
    if sent_before:
        return sent_before
    return freeze_snapshot(issue)


def recipient_count(issue: Issue) -> int:
    """How many would receive the issue if it were sent now (the confirmation page's figure)."""
    already = Delivery.objects.filter(issue=issue).values("subscriber_id")
    return audience.recipients(issue.newsletter_id).exclude(id__in=already).count()


# Dispatches that may still send something: at most one per issue.
LIVE = {
    Dispatch.Status.SCHEDULED,
    Dispatch.Status.HELD,
    Dispatch.Status.PLANNING,
    Dispatch.Status.SENDING,
    Dispatch.Status.PAUSED,
}


def active_dispatch(issue: Issue) -> Dispatch | None:
    return issue.dispatches.filter(status__in=LIVE).first()


def start_dispatch(issue: Issue, *, user=None, when=None) -> Dispatch:
    """Send ``issue`` now, or at ``when``. A second call while one is live returns that one."""
    with transaction.atomic():
        Issue.objects.select_for_update().filter(pk=issue.pk).first()
        existing = active_dispatch(issue)
        if existing:
            return existing
        snapshot = frozen_snapshot(issue)
        now = timezone.now()
        scheduled = when is not None and when > now
        dispatch = Dispatch.objects.create(
            issue=issue,
            snapshot=snapshot,
            created_by=user,
            scheduled_for=when,
            status=Dispatch.Status.SCHEDULED if scheduled else Dispatch.Status.PLANNING,
            heartbeat_at=now,
        )
        issue.status = Issue.Status.SCHEDULED if scheduled else Issue.Status.SENDING
        issue.save(update_fields=["status", "updated_at"])
        if not scheduled:
            transaction.on_commit(lambda: enqueue_plan(dispatch.pk))
    return dispatch


def start_due_dispatches(now=None) -> list[Dispatch]:
    """Start schedules that came due; hold those missed by more than the grace period.

    Beat calls this every sweep, so a schedule survives restarts of every process; one that
    passed while the system was down longer than the grace waits for an editor instead of
    going out hours late.
    """
    now = now or timezone.now()
    grace = timedelta(seconds=settings.SEND_SCHEDULE_GRACE_SECONDS)
    started = []
    due = Dispatch.objects.filter(status=Dispatch.Status.SCHEDULED, scheduled_for__lte=now)
    for dispatch in due:
        if now - dispatch.scheduled_for > grace:
            Dispatch.objects.filter(pk=dispatch.pk, status=Dispatch.Status.SCHEDULED).update(
                status=Dispatch.Status.HELD,
                pause_reason=(
                    f"Was due at {dispatch.scheduled_for:%Y-%m-%d %H:%M} UTC, missed by more "
                    f"than the grace period; confirm to send it now."
                ),
            )
        elif transition(dispatch, {Dispatch.Status.SCHEDULED}, Dispatch.Status.PLANNING):
            enqueue_plan(dispatch.pk)
            started.append(dispatch)
    return started


def transition(dispatch: Dispatch, sources: set, target: str, **fields) -> bool:
    """Move a dispatch between states only from the expected ones; True if it moved."""
    moved = Dispatch.objects.filter(pk=dispatch.pk, status__in=sources).update(
        status=target, heartbeat_at=timezone.now(), **fields
    )
    if moved:
        dispatch.refresh_from_db()
    return bool(moved)


def pause(dispatch: Dispatch, reason: str = "Paused by an editor.") -> bool:
    """Stop claiming; rows already claimed finish their batch."""
    return transition(
        dispatch, {Dispatch.Status.SENDING}, Dispatch.Status.PAUSED, pause_reason=reason
    )


def resume(dispatch: Dispatch) -> bool:
    """Send what is still pending (a held schedule starts from planning)."""
    if transition(dispatch, {Dispatch.Status.HELD}, Dispatch.Status.PLANNING, pause_reason=""):
        enqueue_plan(dispatch.pk)
        return True
    if transition(dispatch, {Dispatch.Status.PAUSED}, Dispatch.Status.SENDING, pause_reason=""):
        enqueue_senders(dispatch.pk)
        return True
    return False


def cancel(dispatch: Dispatch) -> bool:
    """Stop for good: rows not yet sent are marked cancelled, never sent."""
    if not transition(dispatch, LIVE, Dispatch.Status.CANCELLED, finished_at=timezone.now()):
        return False
    dispatch.deliveries.filter(status=Status.PENDING).update(status=Status.CANCELLED)
    issue = dispatch.issue
    if issue.status in {Issue.Status.SCHEDULED, Issue.Status.SENDING} and not (
        issue.deliveries.filter(status=Status.SENT).exists()
    ):
        Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.DRAFT)
    return True


def retry_failed(dispatch: Dispatch) -> int:
    """Queue the failed rows of this dispatch again, and only those."""
    with transaction.atomic():
        count = dispatch.deliveries.filter(status=Status.FAILED).update(
            status=Status.PENDING, attempts=0, next_attempt_at=timezone.now(), finished_at=None
        )
        if count:
            sources = {Dispatch.Status.DONE, Dispatch.Status.SENDING, Dispatch.Status.PAUSED}
            transition(
                dispatch, sources, Dispatch.Status.SENDING, finished_at=None, pause_reason=""
            )
    if count:
        enqueue_senders(dispatch.pk)
    return count


def enqueue_plan(dispatch_id: int) -> None:
    from .. import tasks

    tasks.plan_dispatch.delay(dispatch_id)


def enqueue_senders(dispatch_id: int, count: int | None = None, countdown: float = 0) -> None:
    from .. import tasks

    for _ in range(count or settings.SEND_PARALLEL_TASKS):
        tasks.send_dispatch.apply_async((dispatch_id,), countdown=countdown)


# --- Planning ---------------------------------------------------------------------------


def plan_dispatch(dispatch: Dispatch) -> int:
    """Write a pending Delivery for every recipient not yet planned for this issue.

    Recipients are taken in keyset-paginated chunks, each copied by one INSERT ... SELECT
    inside the database (no subscriber passes through Python memory), with ON CONFLICT DO
    NOTHING on (issue, subscriber): a retried task, a second click or a later dispatch of
    the same issue never plans anyone twice.
    """
    if dispatch.status != Dispatch.Status.PLANNING:
        return dispatch.planned_count
    now = timezone.now()
    recipients = audience.recipients(dispatch.issue.newsletter_id).order_by("id")
    last = 0
    while True:
        window = recipients.filter(id__gt=last)
        bound = list(window.values_list("id", flat=True)[PLAN_CHUNK - 1 : PLAN_CHUNK])
        chunk = window.filter(id__lte=bound[0]) if bound else window
        insert_deliveries(dispatch, chunk, now)
        if not bound:
            break
        last = bound[0]
    planned = dispatch.deliveries.count()
    transition(
        dispatch,
        {Dispatch.Status.PLANNING},
        Dispatch.Status.SENDING,
        planned_count=planned,
        started_at=now,
    )
    if not planned:
        finish_if_complete(dispatch)
    return planned


def insert_deliveries(dispatch: Dispatch, subscribers, now) -> None:
    """One pending row per subscriber of the queryset, skipping those already planned."""
    select, params = subscribers.order_by().values_list("id").query.sql_with_params()
    table = connection.ops.quote_name(Delivery._meta.db_table)
    columns = "dispatch_id, issue_id, subscriber_id, status, attempts, next_attempt_at, "
    columns += "claim_token, last_error, message_id, esp_event"
    # "WHERE true" keeps SQLite from reading ON CONFLICT as part of the SELECT's join.
    sql = (
        f"INSERT INTO {table} ({columns}) SELECT %s, %s, r.id, %s, 0, %s, '', '', '', '' "
        f"FROM ({select}) AS r WHERE true ON CONFLICT (issue_id, subscriber_id) DO NOTHING"
    )
    due = connection.ops.adapt_datetimefield_value(now)
    with connection.cursor() as cursor:
        cursor.execute(sql, [dispatch.pk, dispatch.issue_id, Status.PENDING, due, *params])


# --- Claiming ---------------------------------------------------------------------------


def claim_batch(dispatch_id: int, size: int) -> tuple[str, list[Delivery]]:
    """Take up to ``size`` due pending rows for this worker, atomically, under a lease.

    PostgreSQL: rows are locked with SKIP LOCKED, so concurrent workers take disjoint
    batches without waiting. SQLite has no row locks: the UPDATE re-checks
    ``status='pending'`` and only the rows it changed (carrying our token) are ours.
    """
    token = uuid.uuid4().hex
    now = timezone.now()
    due = Delivery.objects.filter(
        dispatch_id=dispatch_id, status=Status.PENDING, next_attempt_at__lte=now
    ).order_by("next_attempt_at")  # the index's order: no sort of every pending row
    claim = {
        "status": Status.SENDING,
        "claim_token": token,
        "lease_expires_at": now + timedelta(seconds=settings.SEND_LEASE_SECONDS),
        "attempts": F("attempts") + 1,
    }
    if connection.features.has_select_for_update_skip_locked:
        with transaction.atomic():
            ids = list(due.select_for_update(skip_locked=True).values_list("id", flat=True)[:size])
            if ids:
                Delivery.objects.filter(id__in=ids).update(**claim)
    else:
        ids = list(due.values_list("id", flat=True)[:size])
        if ids:
            Delivery.objects.filter(id__in=ids, status=Status.PENDING).update(**claim)
    if not ids:
        return token, []
    rows = Delivery.objects.filter(claim_token=token).select_related("subscriber").order_by("id")
    return token, list(rows.only("id", "attempts", "subscriber__email", "subscriber__name"))


def sweep_expired_claims(now=None) -> int:
    """Give rows whose worker died (lease expired) back to ``pending``."""
    now = now or timezone.now()
    return Delivery.objects.filter(status=Status.SENDING, lease_expires_at__lt=now).update(
        status=Status.PENDING,
        claim_token="",
        lease_expires_at=None,
        next_attempt_at=now,
        last_error="Claim lease expired (the worker stopped mid-batch); queued again.",
    )


def restart_stalled_dispatches(now=None) -> list[int]:
    """Queue sender (or planner) tasks for dispatches with no progress for a lease.

    Tasks can vanish (a broker restarted without persistence, a killed worker on a broker
    that does not redeliver); the ledger still knows what is left, so the sweeper restarts
    the work. An extra task is harmless: claims are atomic.
    """
    now = now or timezone.now()
    quiet = now - timedelta(seconds=settings.SEND_LEASE_SECONDS)
    stalled = Dispatch.objects.filter(
        status__in=[Dispatch.Status.PLANNING, Dispatch.Status.SENDING], heartbeat_at__lt=quiet
    )
    restarted = []
    for dispatch in stalled:
        if not Dispatch.objects.filter(pk=dispatch.pk, heartbeat_at__lt=quiet).update(
            heartbeat_at=now
        ):
            continue
        if dispatch.status == Dispatch.Status.PLANNING:
            enqueue_plan(dispatch.pk)
        elif not finish_if_complete(dispatch):
            enqueue_senders(dispatch.pk)
        restarted.append(dispatch.pk)
    return restarted


def sweep(now=None) -> dict:
    """The periodic task's work: due schedules, expired claims, stalled dispatches."""
    now = now or timezone.now()
    return {
        "started": [d.pk for d in start_due_dispatches(now)],
        "returned": sweep_expired_claims(now),
        "restarted": restart_stalled_dispatches(now),
    }


# --- Building and personalizing the message --------------------------------------------


@dataclass
class Outcome:
    """What happened to one claimed row."""

    delivery_id: int
    status: str
    error: str = ""
    message_id: str = ""
    retry_at: object = None


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


def with_consent_links(snapshot: Snapshot, web_url: str) -> tuple[str, str]:
    """The snapshot's HTML and text, sure to carry the view-in-browser, unsubscribe and
    preferences links (the renderer normally writes them; the law requires them)."""
    email_html, text = snapshot.email_html, snapshot.text
    links = {
        "View in your browser": web_url,
        "Unsubscribe": placeholders.UNSUBSCRIBE_URL,
        "Preferences": placeholders.PREFERENCES_URL,
    }
    missing_html = [
        f'<a href="{url}">{label}</a>' for label, url in links.items() if url not in email_html
    ]
    missing_text = [f"{label}: {url}" for label, url in links.items() if url not in text]
    if missing_html:
        footer = f'<p style="font-size:12px;text-align:center">{" · ".join(missing_html)}</p>'
        if "</body>" in email_html:
            email_html = email_html.replace("</body>", footer + "</body>", 1)
        else:
            email_html += footer
    if missing_text:
        text = text.rstrip("\n") + "\n\n" + "\n".join(missing_text) + "\n"
    return email_html, text


@dataclass
class Recipient:
    delivery_id: int
    subscriber_id: int
    email: str
    name: str = ""
    attempts: int = 1


class IssueMessage:
    """An issue's message serialized once; per recipient only marker bytes are replaced.

    The parts are sent 8bit (UTF-8, lines wrapped under the limit), so substituting raw
    bytes cannot break a transfer encoding the way it would inside quoted-printable or
    base64. When a line cannot be wrapped, ``fast`` is off and each message is built by
    Django's mail API instead: slower, always correct.
    """

    def __init__(self, dispatch: Dispatch):
        issue, snapshot = dispatch.issue, dispatch.snapshot
        self.newsletter = newsletter = issue.newsletter
        self.dispatch_id = dispatch.pk
        self.subject = snapshot.subject
        self.host = urlsplit(settings.SITE_URL).hostname or "localhost"
        self.web_url = settings.SITE_URL + issue.get_absolute_url()
        email_html, text = with_consent_links(snapshot, self.web_url)
        self.html = email_html.replace(placeholders.SUBSCRIBER_NAME, NAME_HTML).replace(
            placeholders.SUBSCRIBER_EMAIL, EMAIL_HTML
        )
        self.text = text
        self.from_email = newsletter.sender
        self.envelope_from = newsletter.from_email
        self.constant_headers = {"List-Id": f'"{newsletter.name}" <{newsletter.slug}.{self.host}>'}
        self.constant_headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        if newsletter.reply_to:
            self.constant_headers["Reply-To"] = newsletter.reply_to
        self.segments = self.serialize()
        self.fast = self.segments is not None
        if self.fast:
            self.stuffed_segments = [
                LEADING_DOT.sub(b"..", piece) if i % 2 == 0 else piece
                for i, piece in enumerate(self.segments)
            ]
        self.links = SubscriberLinks(newsletter)

    def serialize(self) -> list | None:
        """The whole message as bytes, split into literal pieces and marker names."""
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
        per_recipient = (
            f"To: {TO}\r\nMessage-ID: <{MESSAGE_ID}>\r\nDate: {DATE}\r\n"
            f"List-Unsubscribe: <{placeholders.UNSUBSCRIBE_URL}>,\r\n <{UNSUBSCRIBE_MAILTO}>\r\n"
        )
        data = per_recipient.encode() + message.as_bytes()
        segments, start = [], 0
        for match in MARKER.finditer(data):
            segments += [data[start : match.start()], match.group().decode()]
            start = match.end()
        segments.append(data[start:])
        return segments

    def values(self, recipient: Recipient, message_id: str) -> dict[str, str]:
        """Every per-recipient value, each a few string operations: no template render."""
        name = " ".join(recipient.name.split())  # no line breaks into headers or bodies
        email = recipient.email
        unsubscribe, mailto = self.links.unsubscribe(recipient.subscriber_id)
        return {
            TO: email if email.isascii() else sanitize_address(email, "utf-8"),
            MESSAGE_ID: message_id,
            DATE: self.date(),
            placeholders.UNSUBSCRIBE_URL: unsubscribe,
            UNSUBSCRIBE_MAILTO: mailto,
            placeholders.PREFERENCES_URL: self.links.preferences(recipient.subscriber_id),
            placeholders.SUBSCRIBER_NAME: name,
            placeholders.SUBSCRIBER_EMAIL: email,
            NAME_HTML: html.escape(name),
            EMAIL_HTML: html.escape(email),
        }

    def date(self) -> str:
        """The Date header, formatted once a second rather than once a message."""
        now = int(time.time())
        if now != self._date[0]:
            self._date = (now, formatdate(now))
        return self._date[1]

    _date = (0, "")

    def message_id(self, recipient: Recipient, token: str) -> str:
        """Unique per attempt: the row and its claim; ``mark`` rebuilds it in SQL."""
        return f"{recipient.delivery_id}{self.message_id_suffix(token)}"

    def message_id_suffix(self, token: str) -> str:
        return f".{token}@{self.host}"

    def as_bytes(self, values: dict[str, str]) -> bytes:
        return b"".join(
            piece if i % 2 == 0 else values.get(piece, piece).encode()
            for i, piece in enumerate(self.segments)
        )

    def as_smtp_data(self, values: dict[str, str]) -> bytes:
        """``as_bytes`` already dot-stuffed for SMTP DATA (RFC 5321 4.5.2).

        The literal pieces are stuffed once per issue; a value has no line breaks, so it
        can only start a line where its marker did, and only there is it checked.
        """
        pieces = []
        for i, piece in enumerate(self.stuffed_segments):
            if i % 2 == 0:
                pieces.append(piece)
                continue
            value = values.get(piece, piece).encode()
            if value.startswith(b".") and (i == 1 and not pieces[0] or pieces[-1].endswith(b"\n")):
                value = b"." + value
            pieces.append(value)
        return b"".join(pieces)

    def as_django_message(self, recipient: Recipient, values: dict[str, str]):
        """The same message through Django's mail API, for backends other than SMTP."""

        def fill(body: str) -> str:
            return re.sub(r"%%[A-Z_]+%%", lambda m: values.get(m.group(), m.group()), body)

        headers = {
            **self.constant_headers,
            "Message-ID": f"<{values[MESSAGE_ID]}>",
            "List-Unsubscribe": (
                f"<{values[placeholders.UNSUBSCRIBE_URL]}>, <{values[UNSUBSCRIBE_MAILTO]}>"
            ),
        }
        message = EmailMultiAlternatives(
            self.subject,
            fill(self.text),
            self.from_email,
            [recipient.email],
            headers=headers,
        )
        message.attach_alternative(fill(self.html), "text/html")
        return message


class SubscriberLinks:
    """A recipient's unsubscribe (https and mailto) and preferences links.

    The audience app builds them (``subscribers.tokens``); resolving the URL pattern for
    every message costs more than signing the token, so the URL around the token is taken
    once per issue, and used only after checking it rebuilds the audience's own URL.
    """

    def __init__(self, newsletter):
        self.newsletter = newsletter
        self.own_mailto = getattr(tokens, "unsubscribe_mailto", None)
        self.unsubscribe_around = self.around_token(
            lambda: tokens.unsubscribe_token(0, newsletter.pk),
            lambda: tokens.unsubscribe_url(0, newsletter.pk),
        )
        self.preferences_around = self.around_token(
            lambda: tokens.preferences_token(0), lambda: tokens.preferences_url(0)
        )

    @staticmethod
    def around_token(make_token, make_url) -> tuple[str, str] | None:
        """(before, after) the token in the URL, or None when the URL is not that shape."""
        for _ in range(2):  # a token made across a second boundary differs: try again
            token, url = make_token(), make_url()
            if url.count(token) == 1:
                before, after = url.split(token)
                return before, after
        return None

    def unsubscribe(self, subscriber_id: int) -> tuple[str, str]:
        newsletter = self.newsletter
        token = tokens.unsubscribe_token(subscriber_id, newsletter.pk)
        if self.unsubscribe_around:
            url = token.join(self.unsubscribe_around)
        else:
            url = tokens.unsubscribe_url(subscriber_id, newsletter.pk)
        if self.own_mailto is not None:
            return url, self.own_mailto(subscriber_id, newsletter.pk)
        address = newsletter.reply_to or newsletter.from_email
        return url, f"mailto:{address}?subject={quote('unsubscribe ' + token)}"

    def preferences(self, subscriber_id: int) -> str:
        if self.preferences_around:
            return tokens.preferences_token(subscriber_id).join(self.preferences_around)
        return tokens.preferences_url(subscriber_id)


_message_cache: dict[tuple, IssueMessage] = {}


def issue_message(dispatch: Dispatch) -> IssueMessage:
    """Built once per dispatch and worker process, then reused for every batch."""
    key = (dispatch.pk, dispatch.created_at, dispatch.snapshot_id)
    if key not in _message_cache:
        _message_cache.clear()
        _message_cache[key] = IssueMessage(dispatch)
    return _message_cache[key]


# --- Sending ----------------------------------------------------------------------------


class ConnectionFailed(Exception):
    """The channel itself failed: nothing more can be sent over this connection."""

    def __init__(self, error: str, permanent: bool):
        super().__init__(error)
        self.permanent = permanent


def classify(exc: Exception, email: str) -> tuple[bool, str]:
    """(permanent?, reason) of a send error: 5xx and ESP rejections are permanent."""
    code, text = None, str(exc)
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, raw = exc.recipients.get(email) or next(iter(exc.recipients.values()))
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    elif isinstance(exc, smtplib.SMTPResponseException):
        code = exc.smtp_code
        raw = exc.smtp_error
        text = raw.decode(errors="replace") if isinstance(raw, bytes) else str(raw)
    else:
        status = getattr(exc, "status_code", None)  # anymail's API errors carry the HTTP one
        if status:
            return (400 <= status < 500 and status != 429), f"HTTP {status}: {text}"
        return False, f"{type(exc).__name__}: {text}"
    return code >= 500, f"{code} {text}"


def is_connection_lost(exc: Exception) -> bool:
    """The connection, not this recipient, failed (SMTP errors are OSErrors too)."""
    if isinstance(exc, smtplib.SMTPServerDisconnected):
        return True
    return isinstance(exc, OSError) and not isinstance(exc, smtplib.SMTPException)


@dataclass
class Batch:
    token: str
    recipients: list[Recipient]
    outcomes: list[Outcome] = field(default_factory=list)


def send_batch(message: IssueMessage, batch: Batch) -> None:
    """Send every recipient of the batch over one connection, recording each outcome."""
    backend = get_connection()
    rate = limiter()
    try:
        backend.open()
    except Exception as exc:
        permanent, reason = classify(exc, "")
        raise ConnectionFailed(
            f"Could not connect to the mail server: {reason}", permanent
        ) from exc
    try:
        if settings.SEND_ESP_MERGE_FIELD and type(backend).__module__.startswith("anymail."):
            return send_merged(message, backend, batch, rate)
        for recipient in batch.recipients:
            rate.wait()
            try:
                batch.outcomes.append(send_one(message, backend, recipient, batch.token))
            except Exception as exc:
                permanent, reason = classify(exc, recipient.email)
                if permanent:
                    batch.outcomes.append(Outcome(recipient.delivery_id, Status.FAILED, reason))
                else:
                    batch.outcomes.append(transient(recipient, reason))
                if is_connection_lost(exc):
                    raise ConnectionFailed(reason, permanent=False) from exc
    finally:
        try:
            backend.close()
        except Exception:  # a broken connection may fail to say goodbye; nothing is lost
            log.debug("closing the mail connection failed", exc_info=True)


def send_one(message: IssueMessage, backend, recipient: Recipient, token: str) -> Outcome:
    """Send one message; a SENT outcome without a message id means our own (see ``mark``)."""
    values = message.values(recipient, message.message_id(recipient, token))
    if message.fast and isinstance(backend, SmtpBackend):
        data = message.as_smtp_data(values)
        smtp_send(backend.connection, message.envelope_from, values[TO], data)
        return Outcome(recipient.delivery_id, Status.SENT)
    email = message.as_django_message(recipient, values)
    backend.send_messages([email])
    status = getattr(email, "anymail_status", None)  # ESPs report rejections and their ids
    if status is not None:
        result = status.recipients.get(recipient.email.lower()) or status.recipients.get(
            recipient.email
        )
        if result is not None and result.status in {"rejected", "invalid"}:
            return Outcome(recipient.delivery_id, Status.FAILED, f"ESP: {result.status}")
        if result is not None and result.message_id:
            return Outcome(recipient.delivery_id, Status.SENT, message_id=str(result.message_id))
    return Outcome(recipient.delivery_id, Status.SENT)


def send_merged(message: IssueMessage, backend, batch: Batch, rate) -> None:
    """The whole batch as one ESP API call with per-recipient merge data and headers.

    For ESPs whose anymail backend supports ``merge_data`` and ``merge_headers`` on inline
    content; ``SEND_ESP_MERGE_FIELD`` is the ESP's merge-field syntax, such as
    ``%recipient.{}%`` (Mailgun) or ``{{{{{}}}}}`` (SparkPost). The ESP substitutes the values,
    so one request carries the batch.
    """
    field = settings.SEND_ESP_MERGE_FIELD

    def with_fields(body: str) -> str:
        return MARKER_TEXT.sub(lambda m: field.format(m.group(1).lower()), body)

    merge_data, merge_headers = {}, {}
    for recipient in batch.recipients:
        rate.wait()
        values = message.values(recipient, message.message_id(recipient, batch.token))
        merge_data[recipient.email] = {
            name.strip("%").lower(): value for name, value in values.items()
        }
        merge_headers[recipient.email] = {
            "List-Unsubscribe": (
                f"<{values[placeholders.UNSUBSCRIBE_URL]}>, <{values[UNSUBSCRIBE_MAILTO]}>"
            ),
        }
    email = EmailMultiAlternatives(
        message.subject,
        with_fields(message.text),
        message.from_email,
        [recipient.email for recipient in batch.recipients],
        headers=message.constant_headers,
    )
    email.attach_alternative(with_fields(message.html), "text/html")
    email.merge_data = merge_data
    email.merge_headers = merge_headers
    email.merge_metadata = {r.email: {"delivery": str(r.delivery_id)} for r in batch.recipients}
    try:
        backend.send_messages([email])
    except Exception as exc:
        permanent, reason = classify(exc, "")
        for recipient in batch.recipients:
            if permanent:
                batch.outcomes.append(Outcome(recipient.delivery_id, Status.FAILED, reason))
            else:
                batch.outcomes.append(transient(recipient, reason))
        return
    results = email.anymail_status.recipients
    for recipient in batch.recipients:
        result = results.get(recipient.email.lower()) or results.get(recipient.email)
        if result is not None and result.status in {"rejected", "invalid"}:
            outcome = Outcome(recipient.delivery_id, Status.FAILED, f"ESP: {result.status}")
        else:
            message_id = str(result.message_id) if result and result.message_id else ""
            outcome = Outcome(recipient.delivery_id, Status.SENT, message_id=message_id)
        batch.outcomes.append(outcome)


def smtp_send(connection: smtplib.SMTP, sender: str, recipient: str, data: bytes) -> None:
    """One SMTP transaction for clean addresses and dot-stuffed CRLF ``data``, raising
    smtplib's errors.

    ``sendmail`` parses both addresses again for every message and waits for each command's
    reply; here MAIL, RCPT and DATA go out in one write when the server offers PIPELINING
    (RFC 2920), the body is declared 8BITMIME when it may be, and a refusal resets the
    transaction so the connection serves the next recipient.
    """
    connection.ehlo_or_helo_if_needed()
    body = " BODY=8BITMIME" if connection.has_extn("8bitmime") else ""
    commands = [f"MAIL FROM:<{sender}>{body}\r\n", f"RCPT TO:<{recipient}>\r\n", "DATA\r\n"]
    replies = []
    if connection.has_extn("pipelining"):
        connection.send("".join(commands))
        replies = [connection.getreply() for _ in commands]
    else:
        for command in commands:
            connection.send(command)
            replies.append(connection.getreply())
            if replies[-1][0] >= 400:
                break
    mail, rcpt, go_ahead = (replies + [(503, b"not sent")] * 3)[:3]
    if mail[0] != 250 or rcpt[0] not in (250, 251) or go_ahead[0] != 354:
        if go_ahead[0] == 354:  # a server that accepted DATA anyway: end it empty, then reset
            connection.send(b".\r\n")
            connection.getreply()
        connection.rset()
        if mail[0] != 250:
            raise smtplib.SMTPSenderRefused(*mail, sender)
        if rcpt[0] not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: rcpt})
        raise smtplib.SMTPDataError(*go_ahead)
    connection.send(data_with_crlf(data) + b".\r\n")
    code, reply = connection.getreply()
    if code != 250:
        connection.rset()
        raise smtplib.SMTPDataError(code, reply)


def data_with_crlf(data: bytes) -> bytes:
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def transient(recipient: Recipient, reason: str) -> Outcome:
    """Retry later with exponential backoff and jitter, or give up after the last attempt."""
    attempts = recipient.attempts
    if attempts >= settings.SEND_MAX_ATTEMPTS:
        return Outcome(
            recipient.delivery_id, Status.FAILED, f"Gave up after {attempts} attempts: {reason}"
        )
    delay = settings.SEND_RETRY_BASE_SECONDS * 2 ** (attempts - 1) * random.uniform(0.5, 1.5)
    return Outcome(
        recipient.delivery_id,
        Status.PENDING,
        reason,
        retry_at=timezone.now() + timedelta(seconds=min(delay, 6 * 3600)),
    )


# --- Marking ----------------------------------------------------------------------------


def per_row(outcomes: list[Outcome], attr: str, output_field):
    """One SQL expression giving each row its own value (a single Value when all agree)."""
    values = {getattr(o, attr) for o in outcomes}
    if len(values) == 1:
        return Value(values.pop(), output_field=output_field)
    whens = [When(id=o.delivery_id, then=Value(getattr(o, attr))) for o in outcomes]
    return Case(*whens, output_field=output_field)


def mark(
    token: str,
    outcomes: list[Outcome],
    unsent_ids: list[int],
    unsent_due=None,
    message_id_suffix: str = "",
) -> None:
    """Write a batch's outcomes in one UPDATE per status; rows never tried go back as they
    were. Only rows still carrying our claim token are touched: if the sweeper gave a row to
    another worker meanwhile, that worker's outcome is the one that counts."""
    now = timezone.now()
    mine = Delivery.objects.filter(claim_token=token)
    release = {"claim_token": "", "lease_expires_at": None}
    by_status: dict[str, list[Outcome]] = {}
    for outcome in outcomes:
        by_status.setdefault(outcome.status, []).append(outcome)
    with transaction.atomic():
        for status, group in by_status.items():
            fields = {"status": status, **release}
            fields["last_error"] = per_row(group, "error", CharField())
            if status == Status.SENT:
                # Our own Message-IDs are the row id plus a suffix: built in SQL, which keeps
                # this one short UPDATE instead of a CASE of one branch per row.
                own = [o.delivery_id for o in group if not o.message_id]
                if own:
                    mine.filter(id__in=own).update(
                        message_id=Concat(Cast("id", CharField()), Value(message_id_suffix))
                    )
                if esp := [o for o in group if o.message_id]:
                    mine.filter(id__in=[o.delivery_id for o in esp]).update(
                        message_id=per_row(esp, "message_id", CharField())
                    )
                fields["next_attempt_at"] = per_row(group, "retry_at", DateTimeField())
            else:
                fields["finished_at"] = now
            mine.filter(id__in=[o.delivery_id for o in group]).update(**fields)
        if unsent_ids:
            mine.filter(id__in=unsent_ids).update(
                status=Status.PENDING,
                attempts=F("attempts") - 1,
                next_attempt_at=unsent_due or now,
                **release,
            )


def send_next_batch(dispatch: Dispatch) -> int:
    """Claim, send and mark one batch; the number of rows it held (0: nothing due)."""
    token, rows = claim_batch(dispatch.pk, settings.SEND_BATCH_SIZE)
    if not rows:
        return 0
    message = issue_message(dispatch)
    batch = Batch(
        token,
        [
            Recipient(r.pk, r.subscriber_id, r.subscriber.email, r.subscriber.name, r.attempts)
            for r in rows
        ],
    )
    # Rows never tried go back without counting an attempt: now, or after a pause for
    # the mail server to come back when the connection failed.
    unsent_due = timezone.now()
    try:
        send_batch(message, batch)
    except ConnectionFailed as failure:
        if failure.permanent:
            pause(dispatch, f"Paused: the mail server refused the connection ({failure}).")
        unsent_due += timedelta(seconds=settings.SEND_RETRY_BASE_SECONDS)
    finally:
        done = {o.delivery_id for o in batch.outcomes}
        unsent = [r.delivery_id for r in batch.recipients if r.delivery_id not in done]
        mark(token, batch.outcomes, unsent, unsent_due, message.message_id_suffix(token))
    Dispatch.objects.filter(pk=dispatch.pk).update(heartbeat_at=timezone.now())
    pause_if_failing(dispatch)
    return len(rows)


def pause_if_failing(dispatch: Dispatch) -> bool:
    """Pause when too many of the last N finished messages failed: a broken ESP key or a
    blocked sender must not burn through the whole list."""
    window = settings.SEND_AUTOPAUSE_WINDOW
    recent = dispatch.deliveries.filter(finished_at__isnull=False).order_by("-finished_at")
    recent = list(recent.values_list("status", "last_error")[:window])
    if len(recent) < window:
        return False
    failures = [error for status, error in recent if status == Status.FAILED]
    if len(failures) / window < settings.SEND_AUTOPAUSE_FAILURE_RATE:
        return False
    common, _ = Counter(failures).most_common(1)[0]
    reason = (
        f"Paused automatically: {len(failures)} of the last {window} messages failed. "
        f"Most common error: {common}"
    )
    return pause(dispatch, reason)


def finish_if_complete(dispatch: Dispatch) -> bool:
    """Mark the dispatch done (and the issue sent) once no row is pending or in flight."""
    if dispatch.deliveries.filter(status__in=[Status.PENDING, Status.SENDING]).exists():
        return False
    now = timezone.now()
    if transition(dispatch, {Dispatch.Status.SENDING}, Dispatch.Status.DONE, finished_at=now):
        Issue.objects.filter(pk=dispatch.issue_id).update(
            status=Issue.Status.SENT, published_at=Coalesce("published_at", Value(now))
        )
    return True


def run_sender(dispatch_id: int, budget_seconds: float = SENDER_BUDGET_SECONDS) -> float | None:
    """A sender task's loop: batches until nothing is due or the budget is spent.

    Returns how many seconds until this task should run again, or None when it is done
    (dispatch finished, paused or cancelled).
    """
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        dispatch = Dispatch.objects.select_related("issue__newsletter", "snapshot").get(
            pk=dispatch_id
        )
        if dispatch.status != Dispatch.Status.SENDING:
            return None
        if not send_next_batch(dispatch):
            break
    else:
        return 0.0
    if finish_if_complete(dispatch):
        return None
    next_due = (
        dispatch.deliveries.filter(status=Status.PENDING)
        .order_by("next_attempt_at")
        .values_list("next_attempt_at", flat=True)
        .first()
    )
    if next_due is None:
        return None  # the rest is in flight in other tasks; they finish the dispatch
    return min(max((next_due - timezone.now()).total_seconds(), 0.5), 60.0)


# --- Progress and reports ---------------------------------------------------------------


def progress(dispatch: Dispatch) -> dict:
    """The live figures the admin's progress bar polls."""
    counts = dict(
        dispatch.deliveries.values_list("status").annotate(n=Count("id")).values_list("status", "n")
    )
    now = timezone.now()
    minute = dispatch.deliveries.filter(finished_at__gte=now - timedelta(seconds=60))
    rate = minute.filter(status=Status.SENT).count() / 60
    pending = counts.get(Status.PENDING, 0) + counts.get(Status.SENDING, 0)
    planned = dispatch.planned_count or sum(counts.values())
    return {
        "dispatch": dispatch.pk,
        "status": dispatch.status,
        "status_label": dispatch.get_status_display(),
        "reason": dispatch.pause_reason,
        "planned": planned,
        "sent": counts.get(Status.SENT, 0),
        "failed": counts.get(Status.FAILED, 0),
        "pending": pending,
        "cancelled": counts.get(Status.CANCELLED, 0),
        "rate_per_second": round(rate, 1),
        "eta_seconds": round(pending / rate) if rate and pending else None,
        "done": dispatch.status in {Dispatch.Status.DONE, Dispatch.Status.CANCELLED},
    }


def report(issue: Issue) -> dict:
    """The per-issue delivery report: counts, failures by reason, bounces and complaints."""
    deliveries = Delivery.objects.filter(issue=issue)
    counts = dict(deliveries.values_list("status").annotate(n=Count("id")))
    failures = (
        deliveries.filter(status=Status.FAILED)
        .values("last_error")
        .annotate(n=Count("id"))
        .order_by("-n")[:50]
    )
    events = dict(deliveries.exclude(esp_event="").values_list("esp_event").annotate(n=Count("id")))
    suppressed = dict(
        deliveries.filter(subscriber__status__in=["bounced", "complained"])
        .values_list("subscriber__status")
        .annotate(n=Count("id"))
    )
    return {
        "counts": {status.label: counts.get(status.value, 0) for status in Status},
        "failures": [(row["last_error"] or "(no reason)", row["n"]) for row in failures],
        "events": events,
        "bounced_subscribers": suppressed.get("bounced", 0),
        "complained_subscribers": suppressed.get("complained", 0),
    }


def send_test(issue: Issue, addresses: list[str]) -> int:
    """A test copy to each address: the real message as the issue renders now, subject
    marked, outside the ledger and without freezing anything; its links act for nobody."""
    message = IssueMessage(Dispatch(issue=issue, snapshot=unsaved_snapshot(issue), pk=0))
    backend = get_connection()
    sent = 0
    with backend:
        for address in addresses:
            recipient = Recipient(0, 0, address, "")
            values = message.values(recipient, message.message_id(recipient, uuid.uuid4().hex))
            # The links an editor may click in a test must not act for anyone: the preview's
            # example links stand in for them.
            example = example_values(address)
            for marker in (placeholders.UNSUBSCRIBE_URL, placeholders.PREFERENCES_URL):
                values[marker] = example[marker]
            email = message.as_django_message(recipient, values)
            email.subject = TEST_PREFIX + email.subject
            sent += backend.send_messages([email]) or 0
    return sent
