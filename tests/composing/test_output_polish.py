"""What readers get from each block, as the issue report found it: quiz, plain text, emoji,
image credits, and the title as the one headline of an issue everywhere."""

import re

import pytest
from django.core.management import call_command

from issues.compose.blocks import get_kind
from issues.compose.rendering import render_issue
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Issue
from tests.support.archive import fresh_archive_pages
from tests.support.composing import FOUR_HEADLINE_QUIZ, add_block, upload

QUIZ = FOUR_HEADLINE_QUIZ


@pytest.fixture(autouse=True)
def fresh_pages(settings):
    """Public pages of earlier tests (same slugs) are not served from the cache."""
    with fresh_archive_pages(settings):
        yield


def test_a_new_quiz_offers_four_headline_rows():
    widget_html = get_kind("quiz").fields()["headlines"].widget.render("headlines", None)
    rows = set(re.findall(r'name="headlines-(\d+)-title"', widget_html))
    assert len(rows) == 4


def test_quiz_reveal_is_markdown_and_is_not_prefixed_with_the_lie(issue):
    add_block(issue, "quiz", QUIZ)
    rendered = render_issue(issue)
    web = rendered.web_html
    assert "<strong>Number 2.</strong>" in web
    assert '<a href="https://nasa.example/"' in web
    assert "**" not in web
    assert "The lie: number" not in web and "The lie: number" not in rendered.text
    # The optional intro line sits under the quiz's title, in both the web page and the email.
    assert "Three of these happened this week." in web
    assert "Three of these happened this week." in rendered.email_html


def test_quiz_text_shows_the_reveal_after_a_spoiler_gap_without_markup(issue):
    add_block(issue, "quiz", QUIZ)
    text = render_issue(issue).text
    headlines_at = text.index("4. Whales learn Morse code")
    reveal_at = text.index("Number 2. Nobody bakes on the Moon yet")
    gap = text[headlines_at:reveal_at]
    assert gap.count("\n") >= 8, gap  # the answer is out of sight at first glance
    assert "the plan <https://nasa.example/>" in text
    assert "**" not in text


def test_a_quiz_without_an_intro_still_validates():
    quiz = {key: value for key, value in QUIZ.items() if key != "intro"}
    assert get_kind("quiz").validate(quiz)["intro"] == ""


def test_plain_text_has_no_markdown_markup_or_escapes(issue):
    body = (
        "### A small heading\n\n"
        "Some **bold**, *italic*, _underlined_ and `code` words, a literal \\* star, "
        "and [a link](https://l.example/) too.\n\n"
        "1. First\n2. Second with __strong__\n\n"
        "- a bullet\n- another"
    )
    add_block(issue, "markdown", {"body": body})
    add_block(issue, "callout", {"style": "note", "text": "A **callout** with `code`"})
    text = render_issue(issue).text
    for markup in ("**", "__", "`", "\\*", "###", " *italic*", " _underlined_"):
        assert markup not in text, markup
    assert "A small heading" in text
    assert "Some bold, italic, underlined and code words, a literal * star" in text
    assert "a link <https://l.example/>" in text
    assert "1. First\n2. Second with strong" in text
    assert "- a bullet\n- another" in text
    assert "A callout with code" in text


def test_plain_text_keeps_quotes_as_typed_and_no_words_of_scripts(issue):
    body = "Bea's \"plan\" -- in short... <script>alert('x')</script><b>bold</b> words"
    add_block(issue, "markdown", {"body": body})
    text = render_issue(issue).text
    assert 'Bea\'s "plan" -- in short... bold words' in text
    assert "alert" not in text


def test_emoji_that_default_to_text_get_the_emoji_variation_selector(issue):
    issue.title = "Weather ☀ and news"
    issue.save()
    add_block(issue, "heading", {"title": "News", "emoji": "🗞"})
    add_block(issue, "markdown", {"body": "Heads up ⚠ and ❤️ already fine, © stays text. ☕"})
    rendered = render_issue(issue)
    for output in (rendered.web_html, rendered.email_html, rendered.text):
        assert "🗞\ufe0f" in output
        assert "⚠\ufe0f" in output and "☕\ufe0f" in output
        assert "❤\ufe0f\ufe0f" not in output and "❤\ufe0f" in output
        assert "©\ufe0f" not in output
    assert "☀\ufe0f" in rendered.email_html


def test_emoji_in_the_title_keep_colour_on_the_public_page(client, issue):
    issue.title = "Weather ☀ and news"
    issue.save()
    add_block(issue, "markdown", {"body": "Hello"})
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT)
    freeze_snapshot(issue)
    page = client.get(issue.get_absolute_url()).content.decode()
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    assert h1.strip() == "Weather ☀\ufe0f and news"


def test_image_caption_and_credit_are_set_apart_in_every_output(issue):
    add_block(
        issue,
        "image",
        {"alt": "Harbour", "caption": "The harbour at dawn", "credit": "Ana Lima"},
        {"image": upload()},
    )
    rendered = render_issue(issue)
    # The web page's figure caption; the email's caption cell (mail clients drop <figure>).
    web_caption = re.search(r"<figcaption.*?</figcaption>", rendered.web_html, re.S)
    email_caption = re.search(r'<td class="sf-caption".*?</td>', rendered.email_html, re.S)
    for caption in (web_caption.group(0), email_caption.group(0)):
        assert "The harbour at dawn" in caption
        # The credit is its own element, introduced so it does not read as the caption's end.
        assert re.search(r'<span class="sf-credit"[^>]*>Credit: Ana Lima</span>', caption)
        assert "dawn Ana" not in re.sub(r"<[^>]+>", "", caption)
    assert "The harbour at dawn\nCredit: Ana Lima" in rendered.text


def test_the_title_is_the_headline_everywhere_and_the_subject_only_the_inbox_line(client, issue):
    issue.title = "Small models, big week"
    issue.subject = "🤖 This week: distillation, a quiz and a hype-o-meter"
    issue.save()
    add_block(issue, "markdown", {"body": "Hello"})
    Issue.objects.filter(pk=issue.pk).update(status=Issue.Status.SENT)
    issue.refresh_from_db()
    snapshot = freeze_snapshot(issue)
    assert snapshot.subject == issue.subject
    page = client.get(issue.get_absolute_url()).content.decode()
    h1 = re.search(r"<h1[^>]*>(.*?)</h1>", page, re.S).group(1)
    assert h1.strip() == "Small models, big week"
    assert re.search(r"<title>Small models, big week", page)
    assert 'property="og:title" content="Small models, big week' in page
    assert '"headline": "Small models, big week"' in page
    feed = client.get("/feed/").content.decode()
    assert "<title>Small models, big week</title>" in feed
    assert issue.subject not in feed
    email_h1 = re.search(r"<h1[^>]*>(.*?)</h1>", snapshot.email_html, re.S).group(1)
    assert email_h1.strip() == "Small models, big week"


def test_load_demo_quiz_reads_well_in_plain_text(db):
    call_command("load_demo")
    text = Issue.objects.get(status=Issue.Status.SENT).snapshot.text
    assert "**" not in text and "\\*" not in text
