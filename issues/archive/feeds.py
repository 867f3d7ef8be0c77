"""RSS 2.0 and Atom feeds of sent issues, whole, for all newsletters or one.

Feed readers show an item without visiting the site, so each item carries the full
snapshot (RSS ``content:encoded``, Atom ``content``) with every link made absolute; the
preheader is the short description/summary beside it.

Feed readers poll, so a feed answers conditional requests as pages do: ``Last-Modified``
(Django's, from the newest item), an ``ETag`` of its bytes, ``304 Not Modified`` when
either matches (``conditional_page``, Django's ConditionalGetMiddleware as a decorator: an
ETag the feed sets itself is used as it is), and the pages' ``Cache-Control``.
"""

from dataclasses import dataclass

from django.contrib.syndication.views import Feed
from django.shortcuts import get_object_or_404
from django.urls import reverse
from django.utils.cache import patch_cache_control
from django.utils.decorators import method_decorator
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed
from django.views.decorators.http import conditional_page

from ..models import Issue, Newsletter
from .cache import BROWSER_MAX_AGE, SHARED_CACHE_MAX_AGE
from .queries import archive_order, public_issues, site_name
from .seo import absolute_url, absolutize_links

FEED_SIZE = 20


class FullContentRssFeed(Rss201rev2Feed):
    """RSS 2.0 with the whole issue in ``content:encoded`` (the RSS content module)."""

    def rss_attributes(self):
        return {
            **super().rss_attributes(),
            "xmlns:content": "http://purl.org/rss/1.0/modules/content/",
        }

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content:encoded", item["content"])


class FullContentAtomFeed(Atom1Feed):
    """Atom with the whole issue as HTML ``content`` beside the ``summary``."""

    def add_item_elements(self, handler, item):
        super().add_item_elements(handler, item)
        handler.addQuickElement("content", item["content"], {"type": "html"})


@dataclass
class FeedScope:
    """What a feed covers: one newsletter, or all of them (``newsletter`` None)."""

    newsletter: Newsletter | None
    name: str


class IssuesFeed(Feed):
    """The latest sent issues; ``/feed/<newsletter>/`` narrows it to one newsletter."""

    feed_type = FullContentRssFeed
    route_name = "issues:feed"

    @method_decorator(conditional_page)
    def __call__(self, request, *args, **kwargs):
        response = super().__call__(request, *args, **kwargs)
        patch_cache_control(
            response, public=True, max_age=BROWSER_MAX_AGE, s_maxage=SHARED_CACHE_MAX_AGE
        )
        return response

    def get_object(self, request, newsletter=None):
        if newsletter is None:
            return FeedScope(None, site_name())
        found = get_object_or_404(Newsletter, slug=newsletter)
        return FeedScope(found, found.name)

    def title(self, obj):
        return obj.name

    def description(self, obj):
        if obj.newsletter and obj.newsletter.description:
            return obj.newsletter.description
        return f"Every issue of {obj.name}."

    subtitle = description

    def link(self, obj):
        if obj.newsletter:
            return absolute_url(reverse("issues:archive") + f"?newsletter={obj.newsletter.slug}")
        return absolute_url(reverse("issues:home"))

    def feed_url(self, obj):
        args = [obj.newsletter.slug] if obj.newsletter else []
        return absolute_url(reverse(self.route_name, args=args))

    def items(self, obj):
        issues = public_issues().select_related("newsletter", "snapshot")
        if obj.newsletter:
            issues = issues.filter(newsletter=obj.newsletter)
        return archive_order(issues)[:FEED_SIZE]

    def item_title(self, item: Issue):
        return item.public_title

    def item_description(self, item: Issue):
        return item.snapshot.preheader or item.public_title

    def item_link(self, item: Issue):
        return absolute_url(item.get_absolute_url())

    def item_pubdate(self, item: Issue):
        return item.published_at or item.snapshot.created_at

    def item_updateddate(self, item: Issue):
        """Sent, or corrected since: Atom's ``<updated>``, and the feed's own date."""
        return item.snapshot.changed_at

    def item_author_name(self, item: Issue):
        return item.newsletter.from_name

    def item_extra_kwargs(self, item: Issue):
        return {"content": absolutize_links(item.snapshot.web_html, self.item_link(item))}


class IssuesAtomFeed(IssuesFeed):
    feed_type = FullContentAtomFeed
    route_name = "issues:atom"
