"""What readers did with a sent issue: its link table, clicks and opens.

Aggregate by default: a click or open names its reader by a pseudonym, a hash of their
subscriber id salted per issue (``IssueSalt.reader_salt``), so figures count distinct
readers without saying who. The salt is deleted once the issue's unique counts are final
(``ENGAGEMENT_READER_SALT_DAYS`` after its last send): from then on nobody can tell whose
a row was. The subscriber is linked only where the newsletter turned per-subscriber history
on; erasure and "no tracking" detach a person's rows (``engagement.history``), which keeps
every count as it was.
"""

from django.db import models
from django.db.models import Q

from .content import Issue

# The pseudonym of a click or open made after the issue's reader salt was deleted: such a
# row counts as a click (or open), never as one more unique reader (who made it is unknown,
# and may be someone already counted).
LATE_READER = "late"
# The rows unique-reader counts are taken over.
KNOWN_READER = ~Q(reader=LATE_READER)


class IssueSalt(models.Model):
    """The two secrets of one issue's tracking, each kept for as long as it is needed.

    - ``link_key`` signs the issue's tracked links (``engagement.tokens``): kept for good,
      so links in inboxes work for ever. It is not derived from anyone's identity and
      cannot turn a row back into a person.
    - ``reader_salt`` makes each reader's per-issue pseudonym. Deleted (emptied) once the
      unique counts are final; a delivery that finishes after that (a welcome email sent
      to a new reader) starts a new one, used only for deliveries finished from
      ``reader_salt_since`` on.
    """

    issue = models.OneToOneField(
        Issue, on_delete=models.CASCADE, primary_key=True, related_name="tracking_keys"
    )
    link_key = models.CharField(max_length=64, help_text="Hex HMAC key of the tracked links.")
    reader_salt = models.CharField(max_length=64, blank=True)
    reader_salt_since = models.DateTimeField(
        null=True, blank=True, help_text="Deliveries finished before it are late (null: all)."
    )
    reader_salt_dropped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"Tracking keys of {self.issue_id}"


class TrackedLink(models.Model):
    """One link of a sent issue: the redirect's only source of targets.

    Written when the issue is rendered for sending and never changed after it was sent, so
    the redirect may keep it in memory. ``url`` is the link the editor wrote; ``target``
    is where the redirect sends readers (``url`` with the newsletter's UTM parameters when
    it had them on at sending time).
    """

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="tracked_links")
    position = models.PositiveIntegerField(help_text="Order of first appearance in the email.")
    url = models.TextField()
    target = models.TextField()
    label = models.CharField(max_length=200, blank=True)
    is_canary = models.BooleanField(
        default=False, help_text="Hidden from people: whatever follows it is a machine."
    )

    class Meta:
        ordering = ["issue", "position"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "position"], name="tracked_link_position"),
        ]

    def __str__(self):
        return self.url


class MachineReason(models.TextChoices):
    HEAD = "head", "HEAD request"
    SCANNER = "scanner", "Security scanner user agent"
    CANARY = "canary", "Hidden canary link"
    BURST = "burst", "Every link within seconds of delivery"
    # Not a machine found, nor a person: an ESP's click without the user agent our rules
    # judge by. Kept out of people's figures, and counted apart from machines' in reports.
    UNJUDGED = "unjudged", "Reported by the ESP without a user agent"


class Click(models.Model):
    """One request for a tracked link (or one click an ESP reported)."""

    class Source(models.TextChoices):
        REDIRECT = "redirect", "Our redirect"
        ESP = "esp", "The ESP's click tracking"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="clicks")
    # Null only for an ESP-reported click on a URL the link table does not know.
    link = models.ForeignKey(
        TrackedLink, null=True, blank=True, on_delete=models.CASCADE, related_name="clicks"
    )
    reader = models.CharField(
        max_length=32,
        help_text="Per-issue pseudonym: a salted hash, a random one once detached, or 'late'.",
    )
    variant = models.PositiveSmallIntegerField(null=True, blank=True)
    # Never CASCADE: a person's rows are detached when they go, the counts stay.
    subscriber = models.ForeignKey(
        "subscribers.Subscriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Only with the newsletter's per-subscriber history on.",
    )
    at = models.DateTimeField()
    is_machine = models.BooleanField(default=False)
    machine_reason = models.CharField(max_length=10, choices=MachineReason.choices, blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.REDIRECT)
    # The buffer entry (or ESP event) this row came from: a flush repeated after a crash
    # finds it already written and adds nothing.
    event_id = models.CharField(max_length=100, unique=True)

    class Meta:
        indexes = [
            models.Index(fields=["issue", "is_machine", "link"], name="click_issue_figures"),
            models.Index(fields=["issue", "reader", "at"], name="click_reader"),
        ]

    def __str__(self):
        return f"Click on {self.link_id} at {self.at:%Y-%m-%d %H:%M}"


class Open(models.Model):
    """One load of the tracking pixel, or one open an ESP reported: an estimate at best."""

    class Source(models.TextChoices):
        PIXEL = "pixel", "Our pixel"
        ESP = "esp", "The ESP's open tracking"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="opens")
    reader = models.CharField(max_length=32)
    variant = models.PositiveSmallIntegerField(null=True, blank=True)
    subscriber = models.ForeignKey(
        "subscribers.Subscriber", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    at = models.DateTimeField()
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.PIXEL)
    is_machine = models.BooleanField(default=False)
    event_id = models.CharField(max_length=100, unique=True)

    class Meta:
        indexes = [models.Index(fields=["issue", "reader"], name="open_reader")]

    def __str__(self):
        return f"Open of {self.issue_id} at {self.at:%Y-%m-%d %H:%M}"


class QuizVote(models.Model):
    """One locked-in pick in one of an issue's quizzes: a reader's through their signed
    email link, or an anonymous visitor's on the web page, counted apart.

    Unique per (issue, quiz, channel, reader): the first vote counts, later ones change
    nothing. ``reader`` is, for the email, the reader's per-issue pseudonym (the hash clicks
    use, meaningless once the issue's reader salt is dropped and the quiz closes); for the
    web, a salted hash of the visitor's cookie (``c:…``) or, without one, of their address
    (``ip:…``). ``subscriber`` only where the newsletter keeps per-subscriber history.
    """

    class Channel(models.TextChoices):
        EMAIL = "email", "Readers, from the email"
        WEB = "web", "Visitors of the web page"

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="quiz_votes")
    quiz = models.PositiveSmallIntegerField(help_text="The quiz's number in the issue, from 1.")
    pick = models.PositiveSmallIntegerField(help_text="The headline picked as the lie, from 1.")
    channel = models.CharField(max_length=5, choices=Channel.choices)
    reader = models.CharField(max_length=40)
    subscriber = models.ForeignKey(
        "subscribers.Subscriber",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Only with the newsletter's per-subscriber history on.",
    )
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["issue", "quiz", "channel", "reader"], name="one_quiz_vote_each"
            )
        ]

    def __str__(self):
        return f"Quiz {self.quiz} of issue {self.issue_id}: headline {self.pick} ({self.channel})"
