"""The sitemap: the home page, the archive and every public issue, and nothing else that a
crawler could not read."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sitemaps import Sitemap
from django.urls import reverse

from .queries import archive_order, public_issues


class IssueSitemap(Sitemap):
    """Sent issues at their canonical SITE_URL address, dated by their snapshot's last
    change (sent, or corrected since)."""

    changefreq = "never"
    limit = 5000

    @property
    def protocol(self):
        return urlsplit(settings.SITE_URL).scheme

    def get_domain(self, site=None):
        # The path too, for a site served under a prefix (https://example.org/news).
        url = urlsplit(settings.SITE_URL)
        return url.netloc + url.path.rstrip("/")

    def items(self):
        return (
            archive_order(public_issues())
            .select_related("newsletter", "snapshot")
            .only(
                "slug",
                "newsletter__slug",
                "published_at",
                "number",
                "snapshot__slug",
                "snapshot__created_at",
                "snapshot__web_updated_at",
            )  # fmt: skip
        )

    def lastmod(self, issue):
        return issue.snapshot.changed_at


class PageSitemap(IssueSitemap):
    """The pages that list the issues, at the same SITE_URL addresses as the issues."""

    changefreq = "daily"

    def items(self):
        return ["issues:home", "issues:archive"]

    def location(self, item):
        return reverse(item)

    def lastmod(self, item):
        return None


sitemaps = {"pages": PageSitemap, "issues": IssueSitemap}
