"""A/B subject tests: part of a dispatch's list gets one of several subjects; after a wait,
the rest gets the subject that did best. Every state is a row, so restarts change nothing."""

from django.db import models

from .delivery import Dispatch

MAX_SUBJECTS = 4


class SubjectTest(models.Model):
    """The test of one dispatch: its subjects, its test group, its wait and its verdict.

    Variant ``n`` is ``subjects[n]`` (0 is the issue's own subject); the test group's
    deliveries carry their variant, the rest wait ``held`` until ``decide_at`` has passed
    and beat picks the winner.
    """

    class Criterion(models.TextChoices):
        CLICKS = "clicks", "Unique clicks (people, not scanners)"
        OPENS = "opens", "Estimated opens (needs open tracking)"

    class Status(models.TextChoices):
        PLANNING = "planning", "Waiting for the list to be planned"
        TESTING = "testing", "Testing: the test group gets its subjects"
        DECIDED = "decided", "Decided: the rest gets the winner"
        CANCELLED = "cancelled", "Cancelled: closed with its figures so far"

    dispatch = models.OneToOneField(Dispatch, on_delete=models.CASCADE, related_name="subject_test")
    subjects = models.JSONField(help_text="2 to 4 subject lines; the first is the issue's.")
    test_percent = models.PositiveSmallIntegerField(
        help_text="The share of the list in the test, split evenly between the subjects."
    )
    wait_seconds = models.PositiveIntegerField(help_text="How long the test runs.")
    criterion = models.CharField(max_length=10, choices=Criterion.choices)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PLANNING)
    test_size = models.PositiveIntegerField(default=0)
    decide_at = models.DateTimeField(null=True, blank=True, db_index=True)
    winner = models.PositiveSmallIntegerField(null=True, blank=True)
    decided_at = models.DateTimeField(
        null=True, blank=True, help_text="When the winner was picked, or the test cancelled."
    )
    figures = models.JSONField(
        default=dict,
        blank=True,
        help_text="Each variant's figures when the winner was picked or the test cancelled.",
    )

    def __str__(self):
        return f"Subject test of {self.dispatch.issue}"

    def subject(self, variant: int | None) -> str | None:
        if variant is None or not 0 <= variant < len(self.subjects):
            return None
        return self.subjects[variant]
