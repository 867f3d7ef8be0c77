"""Newsletter slugs never take a word the site answers at the top level of its URLs."""

import re

from django.urls import URLResolver, get_resolver

from issues.engagement.middleware import TRACKED_PATHS
from issues.models.content import RESERVED_SLUGS
from tests.support.forms import as_post_data, submitted_fields

SLUG = re.compile(r"^[-a-zA-Z0-9_]+$")


def top_level_words(patterns, prefix=""):
    """The first literal path segment of every URL the site serves, from the URLconf itself."""
    for entry in patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver) and not route.strip("/^"):
            yield from top_level_words(entry.url_patterns, route)
            continue
        first = route.lstrip("^").split("/", 1)[0]
        if first and "<" not in first and "(" not in first:
            yield first


def test_every_top_level_word_of_the_urlconf_is_a_reserved_slug():
    words = {word for word in top_level_words(get_resolver().url_patterns) if SLUG.match(word)}
    assert words, "the URLconf was read"
    assert words <= RESERVED_SLUGS, sorted(words - RESERVED_SLUGS)
    assert TRACKED_PATHS <= RESERVED_SLUGS


def test_a_newsletter_cannot_take_a_reserved_slug_in_the_admin(admin_client):
    page = admin_client.get("/admin/issues/newsletter/add/").content.decode()
    data = as_post_data(submitted_fields(page, "newsletter_form"))
    data |= {"name": "Field Notes", "from_name": "Field Notes", "from_email": "notes@example.org"}
    for slug in ("archive", "feed", "p", "subscribe"):
        refused = admin_client.post("/admin/issues/newsletter/add/", {**data, "slug": slug})
        assert refused.status_code == 200
        assert "is taken by the site&#x27;s own addresses" in refused.content.decode()
