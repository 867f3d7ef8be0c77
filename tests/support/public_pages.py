"""Every public page of a small site, for the checkers that read them all: axe-core in
Chromium (light and dark) and the Nu HTML Checker.

The site has two newsletters (one with a brand colour of its own), an issue rendered by the
real renderer from blocks of every kind that needs no upload (and no preheader), an
archive-shaped one with a preheader, and a reader with a name, a pending request and the
links of their mails.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.utils import timezone

from issues.delivery.snapshot import freeze_snapshot
from issues.engagement.tokens import key_of, voter_token
from issues.models import Issue, IssueSalt
from subscribers import services, tokens
from subscribers.models import Subscriber

from .composing import QUIZ_FORM_VALUES, add_block
from .factories import make_issue, make_newsletter
from .subscribers import active_reader, path_of

BRAND = "#c2185b"  # a magenta too dark for the dark page: the site must lighten it there

EXTRA_BLOCKS = [
    ("callout", {"style": "quote", "text": "Boring is a *feature*.", "attribution": "An SRE"}),
    ("quiz", QUIZ_FORM_VALUES),
    ("button", {"label": "Read the report", "url": "https://example.org/report"}),
    (
        "sponsor",
        {
            "name": "Acme",
            "text": "Queues that **remember**.",
            "url": "https://acme.example/",
            "label": "Sponsor",
        },
    ),
    ("divider", {}),
    ("markdown", {"body": "### A small heading\n\nA line  \nbroken in two, [linked](/archive/)."}),
]


@dataclass
class PublicSite:
    """The site's pages by name (``pages``, each answering GET) and what to post to the
    subscribe form; posting it, the confirm page's and the unsubscribe page's buttons makes
    the "check your inbox", "confirmed" and "unsubscribed" pages."""

    issue: Issue
    pages: dict[str, str] = field(default_factory=dict)
    subscribe_form: dict[str, str] = field(default_factory=dict)


def make_public_site() -> PublicSite:
    harbour = make_newsletter(
        "harbour-notes",
        "Harbour Notes",
        description="A weekly letter about ports, ships and the people in them.",
        brand_color=BRAND,
    )
    make_newsletter("river-weekly", "River Weekly", description="News from upriver.")
    make_issue(harbour, "First light on the water", days_ago=21, topic="ferry")
    issue = make_issue(
        harbour,
        "Calm after the storm",
        sections=2,
        status=Issue.Status.SENT,
        published_at=timezone.now() - timedelta(days=7),
    )
    for kind, raw in EXTRA_BLOCKS:
        add_block(issue, kind, raw)
    freeze_snapshot(issue)
    voter = voter_token(key_of(IssueSalt.objects.get(issue=issue)), issue.pk, 1)

    reader = active_reader(harbour, email="ada@example.net")
    reader.name = "Ada Lovelace"
    reader.save(update_fields=["name"])
    services.subscribe("grace@example.net", [harbour], name="Grace")
    pending = Subscriber.objects.get(email="grace@example.net")
    nonce = pending.subscriptions.get().confirmation_nonce
    return PublicSite(
        issue=issue,
        pages={
            "home": "/",
            "archive": "/archive/",
            "issue": issue.get_absolute_url(),
            "quiz pick": f"/q/{voter}.1.2/",  # a reader's vote link, before "Lock in my pick"
            "search": "/search/?q=storm",
            "not found": "/harbour-notes/no-such-issue/",
            "subscribe": "/subscribe/",
            "confirm": path_of(tokens.confirmation_url(pending.pk, [harbour.pk], nonce)),
            "preferences": path_of(tokens.preferences_url(reader.pk)),
            "unsubscribe": path_of(tokens.unsubscribe_url(reader.pk, harbour.pk)),
            "invalid link": "/unsubscribe/not-a-real-token/",
        },
        subscribe_form={"email": "new@example.net", "newsletter": "harbour-notes"},
    )
