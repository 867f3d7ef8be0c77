"""An issue renders once into the email, web body and text readers get; snapshots freeze it."""

import re

from django.core.management import call_command

from issues.compose import markers as placeholders
from issues.compose.blocks import KINDS
from issues.compose.rendering import (
    GMAIL_CLIP_BYTES,
    presend_warnings,
    render_issue,
)
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, Issue
from tests.support.composing import QUIZ_FORM_VALUES, add_block, image_bytes, upload
from tests.support.factories import make_issue


def test_email_is_a_complete_600px_table_document_with_css_inlined(issue, settings):
    settings.SITE_URL = "https://news.example"
    issue.preheader = "The week in one line"
    issue.save()
    add_block(issue, "heading", {"title": "News"})
    add_block(issue, "image", {"alt": "Chart"}, {"image": upload()})
    html = render_issue(issue).email_html
    assert html.lower().startswith("<!doctype html>")
    assert re.search(r'<table[^>]+width="600"', html)
    assert "max-width: 600px" in html
    # The preheader is hidden text right after <body>.
    body = html.split("<body", 1)[1]
    assert re.search(r"display:\s*none[^>]*>The week in one line", body)
    # Rules were inlined: headings carry their style; only at-rules (dark mode) stay in <style>.
    assert re.search(r'<h2[^>]+style="[^"]*font-size: 22px', html)
    styles = re.findall(r"<style>(.*?)</style>", html, re.S)
    assert all(s.strip().startswith("@media") for s in styles)
    assert "prefers-color-scheme: dark" in html
    # Absolute image URLs with width and height; 1200 px rendition shown at 600 (retina).
    img = re.search(r'<img [^>]*src="([^"]+)"[^>]*width="600" height="338"', html)
    assert img and img.group(1).startswith("https://news.example/media/renditions/")
    assert "-1200w" in img.group(1)
    assert f'href="https://news.example{issue.get_absolute_url()}"' in html


def test_footer_carries_recipient_markers_in_html_and_text(issue):
    add_block(issue, "markdown", {"body": "Hi"})
    rendered = render_issue(issue)
    for marker in placeholders.Markers(rendered.marker_key).all:
        assert f'href="{marker}"' in rendered.email_html
        assert f"<{marker}>" in rendered.text
    assert issue.newsletter.footer_text in rendered.email_html
    assert issue.newsletter.footer_text in rendered.text


def test_web_html_is_the_body_only_with_heading_anchors(issue):
    add_block(issue, "heading", {"title": "Papers", "emoji": "📄"})
    add_block(issue, "markdown", {"body": "Text"})
    rendered = render_issue(issue)
    assert "<html" not in rendered.web_html and "<body" not in rendered.web_html
    assert rendered.headings == [{"id": "papers", "title": "Papers"}]
    assert rendered.search_text == "📄 Papers Text"


def test_web_page_loads_images_after_the_first_block_lazily_and_the_email_none(issue):
    """Below the fold a reader may never reach an image; one opening the issue may be what
    the page shows first (its largest paint), so it is fetched at once. Emails load as
    clients do."""
    small = image_bytes((120, 60))
    add_block(issue, "image", {"alt": "First"}, {"image": upload(small)})
    add_block(issue, "markdown", {"body": "Text"})
    add_block(issue, "image", {"alt": "Second"}, {"image": upload(small)})
    add_block(
        issue,
        "sponsor",
        {"name": "Acme", "url": "https://acme.example", "text": "Tools.", "label": "Sponsor"},
        {"logo": upload(small)},
    )
    rendered = render_issue(issue)
    web = re.findall(r"<img [^>]*>", rendered.web_html)
    assert [('loading="lazy"' in img) for img in web] == [False, True, True]
    assert "loading=" not in rendered.email_html
    after_the_text = render_issue(issue, blocks=list(issue.blocks.order_by("position"))[1:])
    web = re.findall(r"<img [^>]*>", after_the_text.web_html)
    assert [('loading="lazy"' in img) for img in web] == [True, True]


def test_search_text_keeps_words_of_adjacent_list_items_apart(issue):
    add_block(issue, "quiz", QUIZ_FORM_VALUES)
    search_text = render_issue(issue).search_text
    assert "Real one The lie Real two" in search_text
    assert "oneThe" not in search_text


def test_emoji_and_non_latin_text_survive_every_output(issue):
    words = "Привет, 世界! Ελληνικά עברית 🎉🦄"
    issue.title = issue.subject = words
    issue.save()
    add_block(issue, "heading", {"title": words})
    add_block(issue, "link_list", {"items": f"{words} | https://u.example/ | {words}"})
    rendered = render_issue(issue)
    assert rendered.subject == words
    for output in (rendered.web_html, rendered.email_html, rendered.text, rendered.search_text):
        assert words in output
    assert '<meta charset="utf-8">' in rendered.email_html


def test_freeze_snapshot_saves_and_replaces_the_issue_snapshot(issue):
    add_block(issue, "markdown", {"body": "First version"})
    first = freeze_snapshot(issue)
    assert "First version" in first.web_html and first.subject == issue.title
    issue.blocks.update(data={"body": "Second version"})
    second = freeze_snapshot(Issue.objects.get(pk=issue.pk))
    assert second.pk == first.pk
    assert "Second version" in second.email_html and "First version" not in second.text


def test_presend_warnings_name_each_problem(issue):
    add_block(issue, "image", data={"image": None, "alt": ""})
    issue.blocks.update(data={"image": {"path": "x.png", "width": 1, "height": 1}, "alt": " "})
    add_block(issue, "button", data={"label": "Go", "url": "ftp://files.example/x"})
    issue.subject = issue.title = " "
    Issue.objects.filter(pk=issue.pk).update(subject=" ", title=" ")
    warnings = presend_warnings(issue)
    assert "The subject line is empty." in warnings
    assert any("Block 1 (Image): an image has no alt text" in w for w in warnings)
    assert any("“ftp://files.example/x” is not http(s)" in w for w in warnings)


def test_presend_warns_when_gmail_would_clip_the_email(issue):
    words = " ".join(f"word{n}" for n in range(GMAIL_CLIP_BYTES // 6))
    add_block(issue, "markdown", {"body": words})
    assert any("Gmail clips messages over 102 KB" in w for w in presend_warnings(issue))
    assert presend_warnings(make_issue(issue.newsletter, "Empty")) == [
        "The issue has no blocks yet."
    ]


def test_load_demo_twice_gives_one_sent_and_one_draft_using_every_kind(db, capsys):
    call_command("load_demo")
    call_command("load_demo")
    issues = Issue.objects.order_by("number")
    assert [i.status for i in issues] == ["sent", "draft"]
    sent = issues[0]
    assert sent.published_at and sent.snapshot.headings
    kinds = set(Block.objects.values_list("kind", flat=True))
    assert kinds == set(KINDS) | {Block.LIBRARY}
    assert "3 headlines and a lie" in sent.snapshot.text
    assert "Found issue" in capsys.readouterr().out


def test_a_block_of_a_removed_kind_is_skipped_and_named_in_the_warnings(issue):
    add_block(issue, "markdown", {"body": "Still here"})
    add_block(issue, "poll", data={"question": "Gone?"})
    assert "Still here" in render_issue(issue).web_html
    assert "Block 2 is of a kind “poll” that no longer exists." in presend_warnings(issue)
