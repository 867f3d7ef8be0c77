"""The welcome sequence: per newsletter, emails sent to each new reader at set delays.

Each step's email is an Issue of the welcome kind (composed in the issue editor, rendered
once into its snapshot) with one standing Dispatch, so its deliveries go through the same
ledger as issues: one row per (step email, subscriber), claimed, sent and recovered by the
same sender and sweeper.
"""

from datetime import timedelta

from django.db import models
from django.utils import timezone

from .content import Issue, Newsletter
from .delivery import Dispatch


class WelcomeSequence(models.Model):
    """The welcome emails of one newsletter, in order; paused, nothing more goes out."""

    newsletter = models.OneToOneField(
        Newsletter, on_delete=models.CASCADE, related_name="welcome_sequence"
    )
    is_paused = models.BooleanField(
        default=False, help_text="Paused: no step goes out until the sequence is resumed."
    )
    starts_at = models.DateTimeField(
        default=timezone.now,
        help_text="Readers who confirm from this moment on receive the sequence; "
        "those who confirmed before do not.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "welcome sequence"

    def __str__(self):
        return f"Welcome sequence of {self.newsletter}"


class SequenceStep(models.Model):
    """One email of the sequence, sent ``delay`` after a reader confirms.

    A step reaches readers whose moment for it comes after the step was added: adding a
    step never mails everyone who confirmed in the past at once.
    """

    sequence = models.ForeignKey(WelcomeSequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=1)
    delay = models.DurationField(
        default=timedelta(0),
        help_text="After confirmation: 0 for at once, or e.g. “2 days”, “36 hours”, “90 s”.",
    )
    issue = models.OneToOneField(Issue, on_delete=models.PROTECT, related_name="sequence_step")
    dispatch = models.OneToOneField(
        Dispatch, null=True, blank=True, on_delete=models.PROTECT, related_name="sequence_step"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # Readers confirmed up to this moment are settled for this step (planned, or not to be):
    # each beat reads the confirmations after it (less an overlap), not the whole cohort.
    planned_through = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        ordering = ["position", "id"]
        verbose_name = "step"

    def __str__(self):
        return f"Step {self.position}: {self.issue.title}"
