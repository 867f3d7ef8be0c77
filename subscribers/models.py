"""The audience: who subscribed to which newsletter, and the record of their consent."""

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


class Tag(models.Model):
    """A label editors put on subscribers to find and filter them."""

    name = models.CharField(max_length=100, unique=True)

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
        default=0, help_text="Soft bounces in a row; reset by a confirmation."
    )
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

    subscriber = models.ForeignKey(
        Subscriber, on_delete=models.CASCADE, related_name="subscriptions"
    )
    # By name, not import: the audience knows newsletters exist, nothing of their content.
    newsletter = models.ForeignKey(
        "issues.Newsletter", on_delete=models.CASCADE, related_name="subscriptions"
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

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["subscriber", "newsletter"], name="subscription_unique"
            ),
        ]

    def __str__(self):
        return f"{self.subscriber} → {self.newsletter_id}"


class ConsentEvent(models.Model):
    """One step of a person's consent, appended and never edited: the proof of opt-in.

    The subscriber link is nulled (not the row deleted) when a person erases their data;
    the IP and user agent are blanked then too.
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
    newsletter = models.ForeignKey(
        "issues.Newsletter", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    action = models.CharField(max_length=12, choices=Action.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

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

    key = models.CharField(max_length=255, unique=True, help_text="esp:event id")
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
