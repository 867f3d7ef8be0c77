"""Delivery: an issue from the admin's "Send" to each reader's mail server.

Read the files in the order of a send:
``lifecycle`` (the Dispatch's states: start, pause, resume, cancel, retry, finish) →
``planning`` (one pending Delivery per recipient) → ``sender`` (the loop each sender task
runs) → ``ledger`` (claim under a lease, heartbeat, mark outcomes) → ``message`` (the issue
serialized once, per-recipient markers substituted as bytes) → ``transports`` (SMTP, any
Django backend, an ESP's batch API) → ``outcomes`` (sent, failed, retry with backoff) →
``sweeper`` (due schedules, expired claims, stalled dispatches). ``proofs`` sends test
copies; ``queue`` is the one place Celery tasks are enqueued, by name. This module is the
public face used by the admin, tasks and commands. Progress, reports and the retention that
rolls old ledgers into counts are the read side, in ``issues.reports``.
"""

from .ledger import claim_batch, mark, sweep_expired_claims
from .lifecycle import (
    LedgerCompacted,
    active_dispatch,
    cancel,
    finish_if_complete,
    pause,
    resume,
    retry_failed,
    sent_to_part_only,
    start_dispatch,
    start_due_dispatches,
)
from .message import IssueMessage
from .outcomes import Recipient
from .planning import plan_dispatch, recipient_count, recipients
from .proofs import ProofLimitReached, ProofRefused, queue_proofs, send_test
from .queue import enqueue_senders
from .sender import run_sender, send_next_batch
from .sweeper import sweep

__all__ = [
    "IssueMessage",
    "LedgerCompacted",
    "ProofLimitReached",
    "ProofRefused",
    "Recipient",
    "active_dispatch",
    "cancel",
    "claim_batch",
    "enqueue_senders",
    "finish_if_complete",
    "mark",
    "pause",
    "plan_dispatch",
    "queue_proofs",
    "recipient_count",
    "recipients",
    "resume",
    "retry_failed",
    "run_sender",
    "send_next_batch",
    "send_test",
    "sent_to_part_only",
    "start_dispatch",
    "start_due_dispatches",
    "sweep",
    "sweep_expired_claims",
]
