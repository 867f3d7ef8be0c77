"""The audience: who subscribed to which newsletter, and the record of their consent."""

import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import models
from django.db.models.functions import Lower

from superfast.validators import refuse_control_characters


class Source(models.TextChoices):
    """Where a subscriber or a consent event came from."""

    FORM = "form", "Web form"
    IMPORT = "import", "Import"
    ADMIN = "admin", "Admin"
    API = "api", "API"
    EMAIL = "email", "Link in an email"
    ESP = "esp", "Email service provider"


def refuse_tag_separator(value: str) -> None:
    """CSV files list a subscriber's tags separated by semicolons: a name cannot hold one."""
    if ";" in value:
        raise ValidationError("A tag name cannot contain “;” (it separates tags in CSV files).")


class Tag(models.Model):
    """A label editors put on subscribers to find, filter and send to them.

    Tags are the editors' own notes: subscribers never see them on their preferences page
    or in any mail. Their data download lists them (they are data about the person, and
    erasure removes them).
    """

    name = models.CharField(
        max_length=100,
        unique=True,
        validators=[refuse_control_characters, refuse_tag_separator],
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


class Subscriber(models.Model):
    """A person, by email address; ``status`` says whether anything may be sent to them."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
        BOUNCED = "bounced", "Bounced"
        COMPLAINED = "complained", "Complained"

    email = models.EmailField(max_length=254)
    # Anyone may type it into the form; it may become part of the To header of a mail.
    name = models.CharField(max_length=200, blank=True, validators=[refuse_control_characters])
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.FORM)
    tags = models.ManyToManyField(Tag, blank=True, related_name="subscribers")
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    soft_bounces = models.PositiveIntegerField(
        default=0, help_text="Final soft bounces since the last delivery the ESP reported."
    )
    # The newest delivery an ESP reported: soft bounces older than it no longer count,
    # whichever order the webhooks arrived in.
    last_delivered_at = models.DateTimeField(null=True, blank=True)
    no_tracking = models.BooleanField(
        default=False,
        help_text="The reader asked for no tracking: links still work, nothing is recorded.",
    )

    class Meta:
        ordering = ["email"]
        # Export hands out every address at once: more than seeing them one page at a time.
        permissions = [("export_subscribers", "Can export subscribers as CSV")]
        constraints = [
            models.UniqueConstraint(Lower("email"), name="subscriber_email_unique_ci"),
        ]
        # The admin's list in its order (the admin adds ``-id`` to make it total), whole or
        # by status. Its prefix search has PostgreSQL-only indexes of its own (migration
        # 0008): they need an operator class SQLite does not know.
        indexes = [
            models.Index(fields=["email", "-id"], name="subscriber_email_order"),
            models.Index(fields=["status", "email", "-id"], name="subscriber_status_email"),
        ]

    def __str__(self):
        return self.email

    @property
    def is_suppressed(self):
        return self.status in {self.Status.BOUNCED, self.Status.COMPLAINED}


class Subscription(models.Model):
    """A subscriber taking one newsletter; unsubscribing from it leaves the others alone."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending confirmation"
        ACTIVE = "active", "Active"
        UNSUBSCRIBED = "unsubscribed", "Unsubscribed"

    # Indexed by the unique (subscriber, newsletter) and by (newsletter, confirmed_at): a
    # foreign key index of their own would be one more write per imported row.
    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions", db_index=False
    )
    # By name, not import: the audience knows newsletters exist, nothing of their content.
    newsletter = models.ForeignKey(
        "issues.Newsletter",
        on_delete=models.CASCADE,
        related_name="subscriptions",
        db_index=False,
    )
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.PENDING)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    unsubscribed_at = models.DateTimeField(null=True, blank=True)
    # The secret of the subscribe request that made this subscription pending: new with
    # every request, carried by that request's confirmation link, cleared once used. A link
    # so confirms only what its own request asked for, and an old one cannot bring back
    # a subscription that was left since.
    confirmation_nonce = models.CharField(max_length=32, blank=True, editable=False)
    # Welcome sequences greet readers who confirmed here. A reader who moved in from another
    # platform was greeted there (maybe years ago): importing them must not greet them again,
    # whatever their original date. Confirming here again makes a welcome due once more.
    welcome_due = models.BooleanField(default=True, editable=False)
    # The name that request gave: anyone may type any address into the form, so it names
    # nobody until the mailbox owner confirms the request (then it fills an empty name).
    pending_name = models.CharField(
        max_length=200, blank=True, editable=False, validators=[refuse_control_characters]
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "newsletter"], name="subscription_unique"
            ),
        ]
        # Welcome sequences read who confirmed in a time window (``confirmed_between``).
        indexes = [
            models.Index(fields=["newsletter", "confirmed_at"], name="subscription_confirmed"),
        ]

    def __str__(self):
        return f"{self.subscriber} → {self.newsletter_id}"


class ConsentEvent(models.Model):
    """One step of a person's consent, appended and never edited: the proof of opt-in.

    The subscriber link is nulled (not the row deleted) when a person erases their data;
    the IP and user agent are blanked then too. ``campaign`` is the reference an
    unsubscribe link carried (the mail it came from, in the sender's own terms); the
    audience keeps it as it came and never reads it.
    """

    class Action(models.TextChoices):
        SUBSCRIBE = "subscribe", "Subscribed (unconfirmed)"
        CONFIRM = "confirm", "Confirmed"
        RESUBSCRIBE = "resubscribe", "Resubscribed"
        UNSUBSCRIBE = "unsubscribe", "Unsubscribed"
        IMPORT = "import", "Imported"
        PREFERENCES = "preferences", "Changed preferences"
        ERASE = "erase", "Erased personal data"

    subscriber = models.ForeignKey(
        Subscriber, null=True, on_delete=models.SET_NULL, related_name="consent_events"
    )
    newsletter = models.ForeignKey(  # indexed by consent_growth, which starts with it
        "issues.Newsletter",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    campaign = models.CharField(
        max_length=40, blank=True, help_text="The mail whose unsubscribe link was used."
    )
    # What the source knew that this row's own fields cannot hold: for a reader imported
    # from another platform, which platform and the dates they subscribed (and left) there.
    detail = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            # Reports count unsubscribes per mail; most events have no campaign at all.
            models.Index(
                fields=["campaign", "action"],
                name="consent_campaign",
                condition=~models.Q(campaign=""),
            ),
            # The dashboard counts each newsletter's joins and leaves week by week.
            models.Index(fields=["newsletter", "action", "created_at"], name="consent_growth"),
        ]

    def __str__(self):
        return f"{self.get_action_display()} via {self.get_source_display()}"


class SuppressionEvent(models.Model):
    """Why an address stopped (or restarted) receiving mail: a bounce, complaint or hand."""

    class Kind(models.TextChoices):
        BOUNCE = "bounce", "Hard bounce"
        SOFT_BOUNCES = "soft_bounces", "Too many soft bounces"
        COMPLAINT = "complaint", "Spam complaint"
        ESP_UNSUBSCRIBE = "esp_unsubscribe", "Unsubscribed at the ESP"
        MANUAL = "manual", "Suppressed by an editor"
        UNSUPPRESS = "unsuppress", "Unsuppressed by an editor"

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="suppression_events"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices)
    esp_event = models.CharField(
        max_length=40, blank=True, help_text="The ESP's normalized event type, e.g. bounced."
    )
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return self.get_kind_display()


class ProcessedWebhookEvent(models.Model):
    """An ESP event already acted on: ESPs retry webhooks, and a retry must change nothing."""

    key = models.CharField(
        max_length=255, unique=True, help_text="esp:hash of (event id or content, recipient)"
    )
    # A final soft bounce is kept with its time: the suppression policy counts them over a
    # window, since the last delivery.
    subscriber = models.ForeignKey(
        Subscriber, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    soft_bounce_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.key


class ErasedAddress(models.Model):
    """The one-way hash of an address whose owner erased their data.

    Keeps an import from quietly adding them back; a new double opt-in by the person
    themself clears it.
    """

    email_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "erased addresses"

    def __str__(self):
        return self.email_hash[:12]


class Segment(models.Model):
    """A saved filter over the audience: who is in it is decided when it is counted or sent.

    Every condition left empty matches everyone; the conditions set must all hold. Members
    are always active subscribers with an active subscription (to ``newsletter`` when set).
    The engagement conditions need per-subscriber click history, which only the newsletter's
    own records have (see ``subscribers.segments``), so they require a newsletter.
    """

    name = models.CharField(max_length=100, unique=True, validators=[refuse_control_characters])
    description = models.TextField(blank=True)
    newsletter = models.ForeignKey(
        "issues.Newsletter",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="segments",
        help_text="Only subscribers of this newsletter (empty: subscribers of any).",
    )
    tags_any = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        verbose_name="has any of these tags",
    )
    tags_all = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        verbose_name="has all of these tags",
    )
    tags_none = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        verbose_name="has none of these tags",
    )
    signed_up_after = models.DateField(null=True, blank=True, verbose_name="signed up on or after")
    signed_up_before = models.DateField(null=True, blank=True, verbose_name="signed up before")
    clicked_in_last_issues = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        verbose_name="clicked in the last N issues",
        help_text="Clicked a link in at least one of the newsletter's last N sent issues.",
    )
    never_clicked = models.BooleanField(
        default=False, help_text="Never clicked a link in any issue of the newsletter."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name


def private_storage():
    """Where uploaded subscriber lists wait for their import: never served, shared by every
    web and worker process (``STORAGES["private"]``)."""
    return storages["private"]


def random_list_name(job, filename) -> str:
    """A name nobody can guess or count up to (256 random bits), whatever was uploaded."""
    return f"imports/{secrets.token_urlsafe(32)}.csv"


class ImportJob(models.Model):
    """One CSV file being imported by a worker: its progress, its counts, who started it.

    The file lives in the private storage (shared by every worker machine, served by
    nothing) until the job ends, so any worker can read it; the rows it rejected stay here
    as the per-line report.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Stopped"

    newsletter = models.ForeignKey(
        "issues.Newsletter", on_delete=models.CASCADE, related_name="import_jobs"
    )
    file = models.FileField(storage=private_storage, upload_to=random_list_name, blank=True)
    file_name = models.CharField(max_length=255, blank=True)
    size = models.PositiveBigIntegerField(default=0, help_text="Bytes in the file.")
    read_bytes = models.PositiveBigIntegerField(default=0)
    lines = models.PositiveIntegerField(default=0, help_text="Data lines read so far.")
    # The last line whose batch is committed: a worker that dies resumes after it.
    last_line = models.PositiveIntegerField(default=0)
    imported = models.PositiveIntegerField(default=0)
    added_to_newsletter = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    # Renewed with every batch; one not renewed for a while belongs to a dead worker.
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"Import of {self.file_name or 'a CSV file'} ({self.get_status_display()})"

    def summary(self) -> str:
        return (
            f"{self.imported} imported, {self.added_to_newsletter} existing subscribers "
            f"added to the newsletter, {self.rejected} rejected"
        )


class ImportRow(models.Model):
    """A checked line of an import, staged for the set-based SQL that judges a batch.

    Staged rows of earlier batches stay until the job ends: they are how a later line
    learns it repeats an earlier one. ``reason`` is empty for a line that goes in.
    """

    # No foreign key constraint in the database: its check ran for every staged line at
    # each batch's commit. The rows live for one job, which the ORM's cascade still cleans.
    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="+", db_index=False, db_constraint=False
    )
    line = models.PositiveIntegerField()
    email = models.CharField(max_length=254)
    email_key = models.CharField(max_length=254, help_text="Lower-cased, as uniqueness sees it.")
    email_hash = models.CharField(max_length=64)
    name = models.CharField(max_length=200, blank=True)
    tags = models.TextField(blank=True, help_text="Checked tag names, “;”-separated.")
    # A reader moving in from another platform (``subscribers.moving_in``) brings their
    # status, dates and consent detail. Database defaults: the CSV import's COPY leaves
    # these columns out.
    status = models.CharField(max_length=12, blank=True, db_default="")
    subscribed_at = models.DateTimeField(null=True)
    unsubscribed_at = models.DateTimeField(null=True)
    detail = models.CharField(max_length=200, blank=True, db_default="")
    subscriber_id = models.BigIntegerField(null=True)
    reason = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["job", "email_key", "line"], name="import_row_key"),
            models.Index(fields=["job", "line"], name="import_row_line"),
        ]

    def __str__(self):
        return f"line {self.line}: {self.email}"


class ImportRejection(models.Model):
    """A line an import left out, and why: the per-line report editors read and download."""

    job = models.ForeignKey(
        ImportJob, on_delete=models.CASCADE, related_name="rejections", db_index=False
    )
    line = models.PositiveIntegerField()
    email = models.CharField(max_length=254, blank=True)
    reason = models.CharField(max_length=200)

    class Meta:
        ordering = ["line"]
        indexes = [models.Index(fields=["job", "line"], name="import_rejection_line")]

    def __str__(self):
        return f"line {self.line}: {self.reason}"
