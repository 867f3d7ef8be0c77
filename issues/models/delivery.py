"""The delivery ledger: a Dispatch sends one issue; one Delivery row per recipient.

The ledger, not the broker, is the source of truth: tasks carry only a dispatch id, claim
rows atomically, and write every outcome back, so a lost task or a dead worker loses nothing.
"""

from django.conf import settings
from django.db import models
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from .content import Issue, Snapshot


class Dispatch(models.Model):
    """One decision to send an issue (now or at a time), and its progress."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", "Scheduled"
        HELD = "held", "Held: schedule missed, waiting for confirmation"
        PLANNING = "planning", "Planning"
        SENDING = "sending", "Sending"
        PAUSED = "paused", "Paused"
        CANCELLED = "cancelled", "Cancelled"
        DONE = "done", "Done"

    issue = models.ForeignKey(Issue, on_delete=models.PROTECT, related_name="dispatches")
    snapshot = models.ForeignKey(
        Snapshot, null=True, blank=True, on_delete=models.PROTECT, related_name="dispatches"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNING)
    scheduled_for = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    planned_count = models.PositiveIntegerField(default=0)
    # Updated after every batch; the sweeper restarts a sending dispatch that went quiet.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    pause_reason = models.TextField(blank=True)
    # Part of the list (resolved when the dispatch is planned); neither means everyone. A
    # segment or tag some dispatch went to cannot be deleted: its history would lie.
    segment = models.ForeignKey(
        "subscribers.Segment",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispatches",
    )
    tag = models.ForeignKey(
        "subscribers.Tag",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dispatches",
    )

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "dispatches"
        indexes = [models.Index(fields=["status", "scheduled_for"])]
        constraints = [
            models.CheckConstraint(
                condition=Q(segment__isnull=True) | Q(tag__isnull=True),
                name="dispatch_one_audience",
            ),
        ]

    def __str__(self):
        return f"Dispatch of {self.issue} ({self.get_status_display()})"

    @property
    def audience_label(self) -> str:
        """Who this dispatch goes to, in the editor's words."""
        if self.segment_id:
            return f"segment “{self.segment}”"
        if self.tag_id:
            return f"tag “{self.tag}”"
        if self.pk and Dispatch.objects.filter(issue_id=self.issue_id, pk__lt=self.pk).exists():
            return REST_OF_THE_LIST  # an earlier send reached part of the list
        return "everyone"


REST_OF_THE_LIST = "the rest (everyone not sent this issue yet)"

# Dispatches that may still send something: at most one per issue.
LIVE_DISPATCH = frozenset(
    {
        Dispatch.Status.SCHEDULED,
        Dispatch.Status.HELD,
        Dispatch.Status.PLANNING,
        Dispatch.Status.SENDING,
        Dispatch.Status.PAUSED,
    }
)


def issues_whose_sends_ended_before(cutoff) -> QuerySet:
    """Issues none of whose dispatches may still send, the last one having ended before
    ``cutoff`` (annotated ``last_finished``). A welcome email's standing dispatch reopens
    whenever a reader comes due, so it qualifies only once nobody was sent it for that long.
    What retention and the end of reader pseudonyms both wait for."""
    live = Dispatch.objects.filter(issue=OuterRef("pk"), status__in=LIVE_DISPATCH)
    return Issue.objects.annotate(last_finished=Max("dispatches__finished_at")).filter(
        ~Exists(live), last_finished__lt=cutoff
    )


# A row of a message that was sent (``issues.reports.sent`` defines "sent" for every figure)
# and of one that was not: waiting, failed before it left, or cancelled.
NOT_SENT_ROWS = ~Q(status="sent") & Q(bounced_at__isnull=True)
SENT_ROWS = Q(status="sent") | Q(bounced_at__isnull=False)


class Delivery(models.Model):
    """One issue to one subscriber: ``pending → sending → sent | failed`` (or cancelled);
    ``held → pending`` for the rest of the list of a subject test."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        # Held back until a subject test picks its winner: never claimed while held.
        HELD = "held", "Held for the subject test's winner"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    # No index of their own on dispatch and issue: the composite indexes below start with
    # them, and every index costs a write per planned row (a million per send). The issue is
    # the dispatch's (copied for the unique constraint): the dispatch's own constraint, and
    # its issue's protection from deletion, already keep it valid, so the database does not
    # check it again for each planned row (a third of a plan's time).
    dispatch = models.ForeignKey(
        Dispatch, on_delete=models.CASCADE, related_name="deliveries", db_index=False
    )
    issue = models.ForeignKey(
        Issue,
        on_delete=models.CASCADE,
        related_name="deliveries",
        db_index=False,
        db_constraint=False,
    )
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Not before this time: exponential backoff after a transient error.
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # Who holds the row while it is ``sending``, and until when; an expired lease means the
    # worker died, and the sweeper hands the row back.
    claim_token = models.CharField(max_length=32, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    message_id = models.CharField(max_length=255, blank=True)
    # The latest ESP tracking event (delivered, bounced, complained, ...), from webhooks.
    esp_event = models.CharField(max_length=20, blank=True)
    # What the ESP said happened, each kept once (the latest event alone would hide that
    # a message that was later opened had been delivered).
    delivered_at = models.DateTimeField(null=True, blank=True)
    bounced_at = models.DateTimeField(null=True, blank=True)
    complained_at = models.DateTimeField(null=True, blank=True)
    # The A/B subject variant (0..3) this recipient got; null when the issue has no test.
    variant = models.PositiveSmallIntegerField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name_plural = "deliveries"
        constraints = [
            models.UniqueConstraint(fields=["issue", "subscriber"], name="delivery_unique"),
        ]
        indexes = [
            models.Index(fields=["dispatch", "status", "next_attempt_at"]),
            models.Index(
                fields=["status", "lease_expires_at"],
                name="delivery_leases",
                condition=Q(status="sending"),
            ),
            # Rows that finished, newest first (auto-pause reads the last N): a planned row
            # is not written into it.
            models.Index(
                fields=["dispatch", "-finished_at"],
                name="delivery_recent",
                condition=Q(finished_at__isnull=False),
            ),
            # What an ESP reported, each in a partial index of the few rows it marked (none
            # when planned): reports count these instead of reading every row of an issue.
            models.Index(
                fields=["issue", "dispatch"],
                name="delivery_bounced",
                condition=Q(bounced_at__isnull=False),
            ),
            models.Index(
                fields=["issue"],
                name="delivery_complained",
                condition=Q(complained_at__isnull=False),
            ),
            models.Index(
                fields=["issue"], name="delivery_delivered", condition=Q(delivered_at__isnull=False)
            ),
            models.Index(
                fields=["issue", "esp_event"], name="delivery_esp_event", condition=~Q(esp_event="")
            ),
            # ESP webhooks find a sent row by its message id; unsent rows have none.
            models.Index(
                fields=["message_id"], name="delivery_message_id", condition=~Q(message_id="")
            ),
            # The few rows of an issue that were not sent (waiting, failed, cancelled): the
            # reports subtract them from what was planned instead of counting every row
            # that was (``issues.reports.sent``).
            models.Index(
                fields=["issue", "dispatch"], name="delivery_not_left", condition=NOT_SENT_ROWS
            ),
        ]

    def __str__(self):
        return f"{self.issue_id} → {self.subscriber_id}: {self.status}"


class DeliveryTally(models.Model):
    """What an issue's ledger leaves behind once retention has rolled its rows up.

    Reports read these counts instead of the rows; who received the issue is gone, which is
    what keeps the ledger bounded (and leaves nothing personal for erasure to find).
    """

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="delivery_tally")
    # {"<dispatch id>": {"<status>": n}}: progress pages of old dispatches stay true.
    by_dispatch = models.JSONField(default=dict)
    events = models.JSONField(default=dict, help_text="ESP event → deliveries.")
    failures = models.JSONField(default=list, help_text="[[reason, deliveries], ...]")
    bounced_subscribers = models.PositiveIntegerField(default=0)
    complained_subscribers = models.PositiveIntegerField(default=0)
    # What the engagement report counts of the rows: sent, delivered, bounced, complained.
    outcomes = models.JSONField(default=dict)
    rows = models.PositiveBigIntegerField(default=0, help_text="Ledger rows rolled up.")
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once every row is deleted; a run stopped before that finishes the deletion.
    completed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Tally of {self.issue} ({self.rows} deliveries)"

    def counts(self, dispatch_id: int | None = None) -> dict[str, int]:
        """Deliveries by status, for one dispatch or the whole issue."""
        totals: dict[str, int] = {}
        for key, counts in self.by_dispatch.items():
            if dispatch_id is None or key == str(dispatch_id):
                for status, n in counts.items():
                    totals[status] = totals.get(status, 0) + n
        return totals
