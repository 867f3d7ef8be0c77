"""What the public archive shows: which issues are public, in what order, with what.

Every public surface (pages, feeds, sitemap, search) reads issues through ``public_issues``,
so a welcome email, a draft or an issue kept out of the archive never appears on any of them.
A sent issue is shown with its snapshot's title, address and "show in archive" (its public
face, ``Issue.public_face``), never the editor's copy in its own fields.
"""

from django.conf import settings
from django.db.models import OuterRef, Q, QuerySet, Subquery

from ..models import Issue, Newsletter

# The snapshot columns a page never shows: left in the database.
UNSHOWN_SNAPSHOT_FIELDS = ("snapshot__email_html", "snapshot__text", "snapshot__search_text")
# What a list of issues (the archive) shows of each snapshot: its public face and dates.
LISTED_FACE = ("title", "slug", "preheader", "created_at", "web_updated_at")
LISTED_SNAPSHOT_FIELDS = tuple(f"snapshot__{name}" for name in LISTED_FACE)


def public_issues() -> QuerySet[Issue]:
    """Issues anyone may read: sent, their snapshot kept in the archive (never a welcome
    email, which is sent to each new reader and published nowhere)."""
    return Issue.objects.filter(
        kind=Issue.Kind.ISSUE,
        status=Issue.Status.SENT,
        snapshot__show_in_archive=True,
    )


def at_address(slug: str) -> Q:
    """Issues whose page is at ``slug``: the snapshot's once frozen, else the issue's own."""
    return Q(snapshot__slug=slug) | Q(slug=slug, snapshot__isnull=True)


def archive_order(queryset: QuerySet[Issue]) -> QuerySet[Issue]:
    return queryset.order_by("-published_at", "-number", "-id")


def with_neighbours(issues: QuerySet[Issue]) -> QuerySet[Issue]:
    """Annotate the previous and next public issues of the same newsletter.

    As annotations (``prev_slug``, ``prev_title``, ``next_slug``, ``next_title``,
    ``next_published_at``) they cost no query of their own and can be part of a cache key.
    """
    neighbours = public_issues().filter(newsletter=OuterRef("newsletter"))
    earlier = neighbours.filter(number__lt=OuterRef("number")).order_by("-number")
    later = neighbours.filter(number__gt=OuterRef("number")).order_by("number")
    return issues.annotate(
        prev_slug=Subquery(earlier.values("snapshot__slug")[:1]),
        prev_title=Subquery(earlier.values("snapshot__title")[:1]),
        next_slug=Subquery(later.values("snapshot__slug")[:1]),
        next_title=Subquery(later.values("snapshot__title")[:1]),
        next_published_at=Subquery(later.values("published_at")[:1]),
    )


def issue_for_page(newsletter_slug: str, slug: str) -> Issue | None:
    """One issue in any state, with everything its page shows, in one query."""
    return (
        with_neighbours(Issue.objects.select_related("newsletter", "snapshot"))
        .defer(*UNSHOWN_SNAPSHOT_FIELDS)
        .filter(at_address(slug), newsletter__slug=newsletter_slug)
        .first()
    )


def latest_public_issue() -> Issue | None:
    return (
        archive_order(public_issues())
        .select_related("newsletter", "snapshot")
        .defer(*UNSHOWN_SNAPSHOT_FIELDS)
        .first()
    )


def newsletters_with_latest() -> list[Newsletter]:
    """Every newsletter, each with its latest public issue's slug and title (or None)."""
    latest = archive_order(public_issues().filter(newsletter=OuterRef("pk")))
    return list(
        Newsletter.objects.annotate(
            latest_slug=Subquery(latest.values("snapshot__slug")[:1]),
            latest_title=Subquery(latest.values("snapshot__title")[:1]),
        )
    )


def site_newsletters() -> list[Newsletter]:
    """The first two newsletters made: enough to name the site and to find its brand."""
    return list(Newsletter.objects.order_by("pk").only("name", "brand_color")[:2])


def site_name(newsletters: list[Newsletter] | None = None) -> str:
    """The site's name: SITE_NAME when set, else its only newsletter's name."""
    configured = settings.SITE_NAME
    if configured:
        return configured
    if newsletters is None:
        newsletters = site_newsletters()
    return newsletters[0].name if len(newsletters) == 1 else "Newsletter archive"


def snapshot_of(issue: Issue):
    """The issue's snapshot, or None while it has none (drafts)."""
    try:
        return issue.snapshot
    except Issue.snapshot.RelatedObjectDoesNotExist:
        return None
