"""Readers' per-issue pseudonyms, and the end of them once an issue's counts are final.

A click or open carries its reader as ``sha256(reader:<issue's reader salt>:<subscriber
id>)``: the same person always gets the same value within one issue (so unique readers can
be counted) and a different one in every other issue. Whoever holds the salt can work out
whose a row is, so the salt lives only as long as unique counts need it:
``ENGAGEMENT_READER_SALT_DAYS`` after the issue's last send ended, ``drop_final_salts``
(beat, hourly) empties it. After that the hashes are only numbers nobody can recompute;
a later click still redirects and counts as a click, with ``LATE_READER`` as its reader.

A welcome email keeps being sent to new readers: a delivery that finishes after its salt
was dropped starts a new salt (``reader_salt_since``), which later clicks of readers sent
the email before that never use, so nobody is counted twice.
"""

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from ..models import LATE_READER, Issue, IssueSalt
from ..models.delivery import issues_whose_sends_ended_before


def reader_hash(salt: str, subscriber_id: int) -> str:
    """Who the reader is, for this issue only: the same person hashes differently elsewhere."""
    return hashlib.sha256(f"reader:{salt}:{subscriber_id}".encode()).hexdigest()[:32]


def random_pseudonym() -> str:
    """A reader value that names nobody, shaped like a hash (32 hex digits)."""
    return secrets.token_hex(16)


def issue_keys(issue: Issue) -> IssueSalt:
    """The issue's link key and reader salt, made once (two independent random secrets)."""
    keys, _ = IssueSalt.objects.get_or_create(
        issue=issue,
        defaults={"link_key": secrets.token_hex(32), "reader_salt": secrets.token_hex(32)},
    )
    return keys


class Pseudonyms:
    """The reader value of each stored click or open of some issues, as the recorder and
    the ESP events write them: one read of the issues' salts, a write only to start a salt
    again after a drop."""

    def __init__(self, issue_ids):
        rows = IssueSalt.objects.filter(issue_id__in=issue_ids)
        self.keys = {keys.issue_id: keys for keys in rows}

    def tracks(self, issue_id: int) -> bool:
        """Whether the issue was sent with tracked links (its keys exist)."""
        return issue_id in self.keys

    def of(self, issue_id: int, subscriber_id: int, finished_at: datetime) -> str:
        """The reader value for a delivery of ``issue_id`` to ``subscriber_id`` that
        finished at ``finished_at``."""
        keys = self.keys[issue_id]
        dropped = keys.reader_salt_dropped_at
        if not keys.reader_salt and dropped and finished_at > dropped:
            keys = self.keys[issue_id] = restart_salt(keys)
        since = keys.reader_salt_since
        if keys.reader_salt and (since is None or finished_at >= since):
            return reader_hash(keys.reader_salt, subscriber_id)
        return LATE_READER

    def event_id(self, issue_id: int, raw: str) -> str:
        """How an ESP's event is stored: keyed with the reader salt, so a retried webhook
        finds it (the same id), while the raw one (the ESP's id, or our message id) would
        tie the row to a delivery, and so to a person, for as long as the ledger keeps it.
        Once the salt is gone the id is random: a late event names nobody. Ask after ``of``."""
        salt = self.keys[issue_id].reader_salt
        if not salt:
            return f"esp:late:{random_pseudonym()}"
        return "esp:" + hmac.new(salt.encode(), raw.encode(), hashlib.sha256).hexdigest()[:40]


def restart_salt(keys: IssueSalt) -> IssueSalt:
    """A new salt for deliveries finished after the old one was dropped; a concurrent flush
    that started it first wins, and both use its salt."""
    IssueSalt.objects.filter(pk=keys.pk, reader_salt="").update(
        reader_salt=secrets.token_hex(32),
        reader_salt_since=keys.reader_salt_dropped_at,
        reader_salt_dropped_at=None,
    )
    return IssueSalt.objects.get(pk=keys.pk)


def salt_days() -> float:
    return settings.ENGAGEMENT_READER_SALT_DAYS


def drop_final_salts(now: datetime | None = None) -> int:
    """Delete the reader salt of every issue whose last send ended ``salt_days()`` ago
    (0: keep them for good); the number of salts deleted."""
    days = salt_days()
    if days <= 0:
        return 0
    now = now or timezone.now()
    final = issues_whose_sends_ended_before(now - timedelta(days=days)).values("pk")
    return (
        IssueSalt.objects.exclude(reader_salt="")
        .filter(issue__in=final)
        .update(reader_salt="", reader_salt_dropped_at=now)
    )
