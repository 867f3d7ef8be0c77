"""Sharing cards: a generated picture for issues without a cover, drawn once and kept."""

import re

from django.core.cache import cache
from django.core.files.storage import default_storage
from PIL import Image

from issues.archive import sharing
from issues.archive.corrections import publish_correction
from tests.support.factories import make_issue, make_newsletter


def shared_image(client, issue) -> str:
    html = client.get(issue.get_absolute_url()).content.decode()
    return re.search(r'<meta property="og:image" content="([^"]+)">', html).group(1)


def stored_card(url: str, settings) -> Image.Image:
    name = url.removeprefix(settings.SITE_URL + settings.MEDIA_URL)
    with default_storage.open(name) as file:
        image = Image.open(file)
        image.load()
    return image


def test_issue_without_cover_shares_a_card_in_its_newsletters_colour(client, db, settings):
    newsletter = make_newsletter(brand_color="#0b6e4f")
    issue = make_issue(newsletter, "Storm over the quay", days_ago=0)

    card = stored_card(shared_image(client, issue), settings)

    assert card.format == "PNG"
    assert card.size == (1200, 630)
    assert card.getpixel((4, 4)) == (0x0B, 0x6E, 0x4F)
    # Text is drawn in the colour that contrasts with a dark green: white.
    assert (255, 255, 255) in {colour for _, colour in card.getcolors(maxcolors=1 << 16)}


def test_a_new_title_gets_a_new_card_with_different_content(client, newsletter, settings):
    issue = make_issue(newsletter, "Storm over the quay", days_ago=0)
    first = shared_image(client, issue)

    issue.title = "Calm after the storm, and a long look at the northern breakwater repairs"
    issue.save()
    publish_correction(issue)  # a sent issue's title is public once corrected
    cache.clear()
    second = shared_image(client, issue)

    assert second != first
    before, after = stored_card(first, settings), stored_card(second, settings)
    assert after.size == before.size == (1200, 630)
    assert before.tobytes() != after.tobytes()


def test_a_card_is_drawn_once_then_reused(client, newsletter, settings, monkeypatch):
    issue = make_issue(newsletter, "Storm over the quay", days_ago=0)
    drawn = []
    draw = sharing.draw_card
    monkeypatch.setattr(sharing, "draw_card", lambda text: drawn.append(text) or draw(text))

    urls = set()
    for _ in range(3):
        cache.clear()  # every request renders the page anew
        urls.add(shared_image(client, issue))

    assert len(urls) == 1
    assert len(drawn) == 1
    assert len(list((settings.MEDIA_ROOT / "sharing" / newsletter.slug).iterdir())) == 1


def test_a_title_too_long_for_the_card_is_cut_with_an_ellipsis():
    face, lines = sharing.fit_title("harbour " * 80, 1040, 300)

    assert face.size == sharing.TITLE_SIZES[-1]
    assert len(lines) * sharing.line_height(face) <= 300
    assert lines[-1].endswith("…")
    assert all(face.getlength(line) <= 1040 for line in lines)


def test_a_word_wider_than_the_card_is_split_across_lines():
    face = sharing.font(80)
    lines = sharing.wrap("Dampfschifffahrtsgesellschaftskapitänsmützenabzeichen", face, 500)

    assert len(lines) > 1
    assert "".join(lines) == "Dampfschifffahrtsgesellschaftskapitänsmützenabzeichen"
    assert all(face.getlength(line) <= 500 for line in lines)


def test_pages_other_than_issues_share_the_sites_card(client, sent_issue, settings):
    html = client.get("/archive/").content.decode()

    assert f'content="{settings.SITE_URL}/static/superfast/share.png"' in html


def test_staff_preview_of_a_draft_stores_no_card(admin_client, newsletter, settings):
    draft = make_issue(newsletter, "Still changing", status="draft")

    html = admin_client.get(draft.get_absolute_url()).content.decode()

    assert f'content="{settings.SITE_URL}/static/superfast/share.png"' in html
    assert not (settings.MEDIA_ROOT / "sharing").exists()
