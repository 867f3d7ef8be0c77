"""What identifies the site and each page to browsers, crawlers and sharing previews (the
icon, titles, canonical URLs, descriptions, sharing image texts), and which pages travel
compressed."""

import gzip
import io
import re

import pytest
from django.utils import timezone
from PIL import Image

from issues.delivery.snapshot import freeze_snapshot
from issues.models import Issue
from subscribers import tokens
from tests.support.composing import add_block
from tests.support.factories import make_issue
from tests.support.subscribers import active_reader, path_of

pytestmark = pytest.mark.django_db


def head_links(html, rel):
    return re.findall(rf'<link rel="{rel}" href="([^"]*)"', html)


def test_favicon_is_the_first_newsletters_initial_on_its_brand_colour(client, newsletter):
    newsletter.brand_color = "#c2185b"
    newsletter.save()

    html = client.get("/").content.decode()
    assert head_links(html, "icon") == ["/favicon.ico", "/favicon.svg"]

    ico = client.get("/favicon.ico")
    assert ico.status_code == 200 and ico["Content-Type"] == "image/x-icon"
    assert "max-age=86400" in ico["Cache-Control"]
    image = Image.open(io.BytesIO(ico.content))
    assert image.format == "ICO" and (32, 32) in image.info["sizes"]
    assert image.convert("RGB").getpixel((3, 16)) == (0xC2, 0x18, 0x5B)
    assert client.get("/favicon.ico", HTTP_IF_NONE_MATCH=ico["ETag"]).status_code == 304

    svg = client.get("/favicon.svg")
    assert svg["Content-Type"] == "image/svg+xml"
    assert b'fill="#c2185b"' in svg.content and b">H</text>" in svg.content


def test_a_configured_site_icon_replaces_the_drawn_one(client, newsletter, settings):
    settings.SITE_ICON = "/static/superfast/share.png"
    html = client.get("/subscribe/").content.decode()
    assert head_links(html, "icon") == ["/static/superfast/share.png"]
    response = client.get("/favicon.ico")
    assert response.status_code == 302 and response["Location"] == settings.SITE_ICON


def test_subscriber_pages_are_their_own_canonical_and_carry_the_site_name(
    client, newsletter, settings
):
    reader = active_reader(newsletter)
    pages = {
        "/subscribe/": "Subscribe",
        path_of(tokens.preferences_url(reader.pk)): "Your preferences",
        path_of(tokens.unsubscribe_url(reader.pk, newsletter.pk)): "Unsubscribe",
        "/unsubscribe/forged/": "This link does not work",
    }
    for path, title in pages.items():
        html = client.get(path).content.decode()
        assert head_links(html, "canonical") == [settings.SITE_URL + path], path
        assert f"<title>{title} · Harbour Notes</title>" in html, path


def test_an_issue_without_preheader_is_described_by_its_first_paragraph(client, newsletter):
    issue = make_issue(
        newsletter, "Quiet week", status=Issue.Status.SENT, published_at=timezone.now()
    )
    first = "The tide tables moved to the new pier this week, and the ferry now waits."
    add_block(issue, "markdown", {"body": f"Hello,\n\n{first}\n\nA second paragraph."})
    freeze_snapshot(issue)

    html = client.get(issue.get_absolute_url()).content.decode()
    description = first
    assert f'<meta name="description" content="{description}">' in html
    assert f'<meta property="og:description" content="{description}">' in html
    assert f'"description": "{description}"' in html  # schema.org
    alt = "Harbour Notes, issue #1: Quiet week"
    assert f'<meta property="og:image:alt" content="{alt}">' in html
    assert f'<meta name="twitter:image:alt" content="{alt}">' in html
    home = client.get("/").content.decode()  # the site's own sharing image
    assert '<meta property="og:image:alt" content="Superfast: every issue, in the archive">' in home


def test_public_pages_are_compressed_and_pages_with_secrets_are_not(client, sent_issue):
    reader = active_reader(sent_issue.newsletter)
    public = ["/", "/archive/", sent_issue.get_absolute_url(), "/search/?q=quay"]
    for path in public:
        response = client.get(path, HTTP_ACCEPT_ENCODING="gzip")
        assert response["Content-Encoding"] == "gzip", path
        assert b"</html>" in gzip.decompress(response.content)
    # Forms with a CSRF token, a reader's preferences: BREACH could read them compressed.
    secret = [path_of(tokens.preferences_url(reader.pk)), "/admin/login/"]
    for path in secret:
        response = client.get(path, HTTP_ACCEPT_ENCODING="gzip")
        assert response.status_code == 200
        assert "Content-Encoding" not in response, path
        assert b"csrfmiddlewaretoken" in response.content


def test_public_pages_paint_without_waiting_for_a_stylesheet(client, sent_issue):
    """The light scheme's styles are in the head: a linked stylesheet cost a phone two more
    round trips before the first paint (Lighthouse's performance, ``bench_lighthouse``).
    The dark scheme's stay linked, for the dark scheme only."""
    reader = active_reader(sent_issue.newsletter)
    public = ["/", "/archive/", sent_issue.get_absolute_url(), "/search/?q=quay"]
    for path in [*public, path_of(tokens.preferences_url(reader.pk))]:
        head = client.get(path).content.decode().split("</head>")[0]
        stylesheets = re.findall(r'<link rel="stylesheet"[^>]*>', head)
        assert stylesheets and all('media="(prefers-color-scheme: dark)"' in s for s in stylesheets)
        assert "--accent: var(--brand-light" in head and ".sf-preheader {" in head, path
