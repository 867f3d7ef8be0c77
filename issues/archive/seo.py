"""What search engines, feed readers and sharing previews read: absolute links, sharing
images and the schema.org description of an issue."""

import html
import json
import re

from django.conf import settings
from django.templatetags.static import static
from django.utils.html import strip_tags
from django.utils.safestring import SafeString, mark_safe

from ..models import Issue
from .sharing import card_url


def absolute_url(path: str) -> str:
    """``path`` on the public site (SITE_URL), for feeds, sitemaps and sharing cards."""
    if re.match(r"^[a-z][a-z0-9+.-]*://", path, re.IGNORECASE):
        return path
    return settings.SITE_URL + "/" + path.lstrip("/")


LOCAL_LINK = re.compile(r"""(\s(?:href|src)=)(["'])(/(?!/)[^"']*|#[^"']*)\2""", re.IGNORECASE)


def absolutize_links(html: str, page_url: str) -> str:
    """Make the site-relative links and fragments of ``html`` absolute, for feed readers.

    Root-relative paths (``/media/...``) join SITE_URL; fragments (``#section``) join
    ``page_url``. External and protocol-relative links stay as they are.
    """

    def replace(match):
        prefix, quote, link = match.groups()
        target = page_url + link if link.startswith("#") else absolute_url(link)
        return f"{prefix}{quote}{target}{quote}"

    return LOCAL_LINK.sub(replace, html)


def sharing_image_url(issue: Issue | None = None) -> str:
    """The issue's cover, else its generated card; the site's card for other pages."""
    if issue is None:
        return absolute_url(static("superfast/share.png"))
    if issue.cover_image:
        return absolute_url(issue.cover_image.url)
    return absolute_url(card_url(issue))


# What superfast/static/superfast/share.png, the other pages' sharing image, shows.
SITE_IMAGE_ALT = "Superfast: every issue, in the archive"


def sharing_image_alt(issue: Issue) -> str:
    """What the sharing image shows, for readers of the preview who cannot see it."""
    if issue.cover_image:
        return f"The cover of {issue.public_title}"
    return f"{issue.newsletter.name}, issue #{issue.number}: {issue.public_title}"


PARAGRAPH = re.compile(r"<p\b[^>]*>(.*?)</p>", re.IGNORECASE | re.DOTALL)
# A greeting ("Hello,") says nothing about the issue: a description is a real sentence.
DESCRIPTION_MIN_WORDS = 8
DESCRIPTION_MAX_LENGTH = 300


def first_paragraph(web_html: str) -> str:
    """The issue's first paragraph of some length, as plain text, cut at a word."""
    texts = (" ".join(html.unescape(strip_tags(p)).split()) for p in PARAGRAPH.findall(web_html))
    text = next((t for t in texts if len(t.split()) >= DESCRIPTION_MIN_WORDS), "")
    if len(text) > DESCRIPTION_MAX_LENGTH:
        text = text[:DESCRIPTION_MAX_LENGTH].rsplit(" ", 1)[0] + " …"
    return text


def issue_description(issue: Issue, snapshot=None) -> str:
    """The issue's preheader, else its first paragraph, else the newsletter's description:
    each issue describes itself, not the newsletter."""
    preheader = (snapshot and snapshot.preheader) or issue.preheader
    if preheader:
        return preheader
    body = first_paragraph(snapshot.web_html) if snapshot else ""
    return body or issue.newsletter.description


JSON_SCRIPT_ESCAPES = {ord("<"): "\\u003C", ord(">"): "\\u003E", ord("&"): "\\u0026"}


def news_article_json_ld(issue: Issue) -> SafeString:
    """schema.org NewsArticle of a sent issue, safe to place inside a <script> element."""
    url = absolute_url(issue.get_absolute_url())
    published = issue.published_at or issue.snapshot.created_at
    # A send freezes the snapshot before the last mail leaves and stamps the issue: the
    # page changed when it was published, or when corrected since, never before.
    modified = max(published, issue.snapshot.changed_at)
    data = {
        "@context": "https://schema.org",
        "@type": "NewsArticle",
        "headline": issue.public_title,
        "description": issue_description(issue, issue.snapshot),
        "url": url,
        "mainEntityOfPage": url,
        "datePublished": published.isoformat(),
        "dateModified": modified.isoformat(),
        "image": [sharing_image_url(issue)],
        "inLanguage": issue.newsletter.language,
        "author": {"@type": "Organization", "name": issue.newsletter.from_name},
        "publisher": {"@type": "Organization", "name": issue.newsletter.name},
    }
    return mark_safe(json.dumps(data).translate(JSON_SCRIPT_ESCAPES))
