"""What editors write: newsletters, their issues, and the frozen snapshot of a sent issue."""

from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models, transaction
from django.db.models import Max, Q
from django.urls import reverse
from django.utils.text import Truncator, slugify

from superfast.validators import refuse_control_characters

hex_colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a hex colour such as #1a73e8.")

# Words the site uses at the top level of its URLs: a newsletter named so would have its issue
# pages answered by them (``c`` and ``o`` are tracked links and the open pixel, ``p`` and ``q``
# are kept for old platforms' addresses and the quiz).
RESERVED_SLUGS = frozenset(
    {"admin", "anymail", "archive", "c", "feed", "healthz", "media", "o", "p", "preferences", "q"}
    | {"search", "static", "subscribe", "unsubscribe"}
)


class Newsletter(models.Model):
    """A publication with its own sender, look and audience; a site can run several."""

    name = models.CharField(max_length=200, validators=[refuse_control_characters])
    slug = models.SlugField(max_length=100, unique=True)
    description = models.TextField(blank=True)
    from_name = models.CharField(max_length=200, validators=[refuse_control_characters])
    from_email = models.EmailField()
    reply_to = models.EmailField(blank=True)
    footer_text = models.TextField(
        blank=True, help_text="Shown at the end of every issue: who you are, why they get this."
    )
    postal_address = models.TextField(
        blank=True,
        help_text="The postal address shown in the footer of every email (the law in the US "
        "and elsewhere requires one). Left blank: the site's POSTAL_ADDRESS.",
    )
    brand_color = models.CharField(max_length=7, default="#1a73e8", validators=[hex_colour])
    logo = models.ImageField(upload_to="newsletters/", blank=True)
    language = models.CharField(max_length=10, default="en")
    created_at = models.DateTimeField(auto_now_add=True)
    # Engagement: what is measured about readers (issues.engagement). Aggregate clicks by
    # default; opens and per-person history only when an editor turns them on.
    track_clicks = models.BooleanField(
        default=True,
        help_text="Links in the email go through a short tracked URL on this site, so the "
        "report can count clicks (people and machines apart; each reader under a per-issue "
        "code that can no longer be traced to them once the counts are final).",
    )
    track_opens = models.BooleanField(
        default=False,
        help_text="Adds an invisible image to count opens. An estimate at best: Apple Mail "
        "loads every image for its users, read or not.",
    )
    utm_parameters = models.BooleanField(
        default=False,
        help_text="Adds utm_source, utm_medium and utm_campaign to links, for the sites you "
        "link to.",
    )
    subscriber_history = models.BooleanField(
        default=False,
        help_text="Keeps who clicked what, per subscriber (for segments). Readers see it on "
        "their preferences page and get it in their data export; erasing them, or their "
        "asking for no tracking, detaches it from them (the counts stay).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def mailing_address(self) -> str:
        """The postal address every footer shows: the newsletter's own, else the site's."""
        return self.postal_address.strip() or settings.POSTAL_ADDRESS.strip()

    @property
    def sender(self):
        """The From header: "Name <address>"."""
        from email.utils import formataddr

        return formataddr((self.from_name, self.from_email))


class Issue(models.Model):
    """One edition of a newsletter: an ordered stream of blocks until it is sent.

    A welcome email is an Issue too (``kind`` welcome), composed in the same editor and
    rendered once the same way, but sent by its newsletter's welcome sequence and never
    published: it has no public page and no number among the issues.
    """

    class Kind(models.TextChoices):
        ISSUE = "issue", "Issue"
        WELCOME = "welcome", "Welcome email"

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SCHEDULED = "scheduled", "Scheduled"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"

    newsletter = models.ForeignKey(Newsletter, on_delete=models.PROTECT, related_name="issues")
    kind = models.CharField(max_length=10, choices=Kind.choices, default=Kind.ISSUE, editable=False)
    number = models.PositiveIntegerField(blank=True, help_text="Left blank: the next number.")
    title = models.CharField(max_length=200, validators=[refuse_control_characters])
    subject = models.CharField(
        max_length=200,
        blank=True,
        help_text="Left blank: the title.",
        validators=[refuse_control_characters],
    )
    slug = models.SlugField(max_length=200, blank=True, help_text="Left blank: from the title.")
    preheader = models.CharField(
        max_length=200,
        blank=True,
        help_text="The preview line inboxes show after the subject.",
        validators=[refuse_control_characters],
    )
    cover_image = models.ImageField(upload_to="covers/", blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAFT)
    show_in_archive = models.BooleanField(
        default=True, help_text="Untick to take a sent issue off the public archive."
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True, help_text="When it was sent.")
    version = models.PositiveIntegerField(
        default=1,
        editable=False,
        help_text="Raised by every save: a form based on an older version may not save over it.",
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["newsletter", "kind", "number"], name="issue_number_unique_per_kind"
            ),
            models.UniqueConstraint(fields=["newsletter", "slug"], name="issue_slug_unique"),
        ]
        indexes = [
            # The public archive: sent issues, newest first ("show in archive" is the
            # snapshot's, read for the page's twenty rows).
            models.Index(fields=["status", "published_at"], name="issue_archive_listing"),
        ]
        permissions = [("send_issue", "Can send or schedule an issue")]

    def __str__(self):
        """An issue as "#12 Title"; a welcome email by its title (it has no number)."""
        if self.kind == self.Kind.WELCOME:
            return self.title
        return f"#{self.number} {self.title}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self.subject:
            self.subject = self.title
        with transaction.atomic():
            if self.number is None:
                same_kind = Issue.objects.filter(newsletter=self.newsletter, kind=self.kind)
                last = same_kind.aggregate(Max("number"))
                self.number = (last["number__max"] or 0) + 1
            if not self.slug:
                self.slug = self.unique_slug()
            if not (
                self._state.adding or args or "update_fields" in kwargs or "force_insert" in kwargs
            ):
                # The version moves only through issues.compose.revisions.claim_version, so an
                # instance loaded before someone's save cannot write an older version back.
                kwargs["update_fields"] = [
                    f.name for f in self._meta.concrete_fields if f.name not in ("id", "version")
                ]
            super().save(*args, **kwargs)

    def get_absolute_url(self) -> str:
        """The issue's public address: its snapshot's once frozen for sending."""
        return reverse(
            "issues:issue", kwargs={"newsletter": self.newsletter.slug, "slug": self.public_slug}
        )

    def unique_slug(self):
        base = slugify(self.title)[:180] or f"issue-{self.number}"
        slug, n = base, 2
        while self.slug_taken(slug):
            slug, n = f"{base}-{n}", n + 1
        return slug

    def slug_taken(self, slug: str) -> bool:
        """Whether another issue of the newsletter has ``slug``, as its own or as the public
        address its snapshot still holds."""
        others = Issue.objects.filter(newsletter=self.newsletter).exclude(pk=self.pk)
        return others.filter(Q(slug=slug) | Q(snapshot__slug=slug)).exists()

    @property
    def public_face(self) -> "Snapshot | None":
        """The snapshot, once the issue was frozen for sending: its title, slug and "show in
        archive" are what the public sees. The issue's own fields are then the editor's
        copy, published only by a correction (which takes the send permission)."""
        if self.pk is None:
            return None
        try:
            return self.snapshot
        except Snapshot.DoesNotExist:
            return None

    @property
    def public_title(self) -> str:
        face = self.public_face
        return face.title if face is not None and face.title else self.title

    @property
    def public_slug(self) -> str:
        face = self.public_face
        return face.slug if face is not None and face.slug else self.slug

    @property
    def is_public(self):
        face = self.public_face
        return (
            self.kind == self.Kind.ISSUE
            and self.status == self.Status.SENT
            and face is not None
            and face.show_in_archive
        )

    @property
    def is_published_kind(self) -> bool:
        """Issues have a public page once sent; welcome emails never do."""
        return self.kind == self.Kind.ISSUE


class Snapshot(models.Model):
    """An issue rendered once, frozen: what was sent and what the archive shows, forever.

    ``email_html`` and ``text`` hold the per-recipient markers of ``issues.compose.markers``,
    named with ``marker_key`` (random per render, so content cannot write one); the sender
    substitutes exactly those for each recipient instead of rendering again.
    """

    # The issue's fields the public sees, copied when it is frozen and when it is corrected.
    PUBLIC_FACE = ("title", "slug", "show_in_archive")

    issue = models.OneToOneField(Issue, on_delete=models.CASCADE, related_name="snapshot")
    subject = models.CharField(max_length=200)
    preheader = models.CharField(max_length=200, blank=True)
    web_html = models.TextField(help_text="The issue's body for the archive page.")
    email_html = models.TextField(help_text="The whole email document, CSS inlined.")
    text = models.TextField(help_text="The plain-text alternative.")
    headings = models.JSONField(
        default=list, help_text='Section headings in order: [{"id": anchor, "title": text}].'
    )
    search_text = models.TextField(blank=True, help_text="Plain text of the body, for search.")
    marker_key = models.CharField(
        max_length=32,
        blank=True,
        help_text="The random part of this render's per-recipient markers (never shown).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    web_updated_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="When the web version was last corrected after sending (the email never is).",
    )
    # The issue's public face, frozen with the body: the issue's own fields are the editor's
    # copy after sending, published only by a correction.
    title = models.CharField(max_length=200, blank=True, help_text="The title the public sees.")
    slug = models.SlugField(
        max_length=200, blank=True, help_text="The public address's last part (the issue's)."
    )
    show_in_archive = models.BooleanField(
        default=True, help_text="Whether the public archive, feeds and search show it."
    )

    def __str__(self):
        return f"Snapshot of {self.issue}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """A snapshot written without a public face takes the issue's."""
        self.title = self.title or self.issue.title
        self.slug = self.slug or self.issue.slug
        super().save(*args, **kwargs)

    @property
    def changed_at(self):
        """When the public page last changed: sent, or corrected since."""
        return max(self.created_at, self.web_updated_at or self.created_at)


class LibraryBlock(models.Model):
    """A block saved once and placed in many issues: editing it changes every unsent issue.

    Sent issues keep what they were sent with because the archive shows their snapshot.
    """

    name = models.CharField(max_length=200, unique=True)
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        verbose_name = "library block"

    def __str__(self):
        return self.name


class Block(models.Model):
    """One block in an issue's stream: its own content, or a placement of a library block.

    ``kind`` names a class in ``issues.compose.blocks``; ``data`` is that kind's validated content.
    Kinds are code, not schema: adding one needs no migration.
    """

    LIBRARY = "library"  # the kind of a placement; its content is the library block's

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="blocks")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=40)
    data = models.JSONField(default=dict, blank=True)
    library_block = models.ForeignKey(
        LibraryBlock,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="placements",
        help_text="Placed from the block library: edit it there.",
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        """A few words of the content, so a block is recognisable in a list of blocks."""
        if self.library_block_id:
            return f"{self.library_block.name} (from the library)"
        words = next((v for v in self.data.values() if isinstance(v, str) and v.strip()), "")
        if not words and self.data.get("items"):
            words = self.data["items"][0].get("title", "")
        return Truncator(" ".join(words.split())).chars(60) or self.kind

    @property
    def content(self):
        """(kind, data) to render: the library block's when this is a placement."""
        if self.library_block_id:
            return self.library_block.kind, self.library_block.data
        return self.kind, self.data


class Revision(models.Model):
    """An issue as one save left it: its fields and blocks, who saved it, and what changed.

    ``state`` is enough to restore the issue; ``text`` is its plain-text render at the time,
    kept so a history page compares revisions without rendering each one again.
    """

    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="revisions")
    number = models.PositiveIntegerField(help_text="The issue's version this save made.")
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    summary = models.CharField(max_length=300)
    state = models.JSONField(help_text='{"fields": {...}, "blocks": [...]} as saved.')
    text = models.TextField(blank=True)
    sent_at = models.DateTimeField(
        null=True, blank=True, help_text="When sending froze this revision into the snapshot."
    )

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["issue", "number"], name="revision_number_unique")
        ]

    def __str__(self):
        return f"{self.issue} revision {self.number}"


class Autosave(models.Model):
    """One editor's unsaved change form of one issue, exactly as the browser holds it.

    ``data`` is the raw posted form (field name to list of values), valid or not, so work in
    progress survives a reload, a crashed browser or a refused save. Drafts are private:
    each editor gets back only their own. A new issue not saved yet has no ``issue``: its
    draft is kept per editor and ``newsletter`` (none while no newsletter is chosen).
    """

    issue = models.ForeignKey(
        Issue, null=True, blank=True, on_delete=models.CASCADE, related_name="autosaves"
    )
    newsletter = models.ForeignKey(
        Newsletter,
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        help_text="For a new issue not saved yet: the newsletter chosen in its form.",
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    data = models.JSONField(default=dict)
    based_on_version = models.PositiveIntegerField(
        help_text="The issue's version when the editor opened the form."
    )
    state = models.JSONField(
        null=True, blank=True, help_text="The draft's validated state, when a save was refused."
    )
    saved_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["issue", "user"], name="autosave_per_issue_and_user"),
            models.UniqueConstraint(
                fields=["newsletter", "user"],
                condition=models.Q(issue__isnull=True),
                name="new_issue_autosave_per_newsletter_and_user",
            ),
        ]

    def __str__(self):
        return f"Draft of {self.issue or 'a new issue'} by {self.user}"
