"""Search over sent issues: finds what was sent, never drafts, never injects markup."""

import re

import pytest
from django.utils import timezone

from issues.delivery.snapshot import freeze_snapshot
from issues.models import Issue
from tests.support.archive import freeze
from tests.support.composing import add_block
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db


def test_search_finds_a_word_from_a_block_body_with_the_hit_highlighted(client, newsletter):
    issue = make_issue(newsletter, "Birds of the breakwater", topic="pelican", days_ago=3)
    make_issue(newsletter, "Nothing about birds", days_ago=2)

    response = client.get("/search/", {"q": "pelican"})
    html = response.content.decode()

    assert response.status_code == 200
    assert f'href="{issue.get_absolute_url()}"' in html
    assert "Nothing about birds" not in html
    assert "<mark>pelican</mark>" in html
    assert "1 issue found." in html


def test_search_does_not_find_drafts_or_unpublished_issues(client, newsletter):
    draft = make_issue(newsletter, "Draft walrus", status=Issue.Status.DRAFT)
    freeze(draft, topic="walrus")  # a previewed draft that has a frozen copy already
    make_issue(newsletter, "Sending walrus", status=Issue.Status.SENDING, topic="walrus")
    make_issue(newsletter, "Hidden walrus", show_in_archive=False, topic="walrus", days_ago=0)

    html = client.get("/search/", {"q": "walrus"}).content.decode()

    assert "walrus" in html  # the query is echoed...
    assert "Draft walrus" not in html  # ...but nothing matches
    assert "Sending walrus" not in html
    assert "Hidden walrus" not in html
    assert "No sent issue mentions “walrus”" in html


def test_search_ranks_a_title_match_above_a_body_mention(client, newsletter):
    make_issue(newsletter, "Quiet week", topic="lighthouse", days_ago=1)
    titled = make_issue(newsletter, "The lighthouse keepers", topic="ferry", days_ago=30)

    html = client.get("/search/", {"q": "lighthouse"}).content.decode()

    assert html.index(titled.get_absolute_url()) < html.index("Quiet week")


def test_search_query_with_markup_is_escaped(client, sent_issue):
    attack = '<script>alert("owned")</script><img src=x onerror=alert(1)>'
    html = client.get("/search/", {"q": attack}).content.decode()

    assert "<script>alert" not in html
    assert "<img src=x" not in html
    assert "&lt;script&gt;alert(&quot;owned&quot;)&lt;/script&gt;" in html


def test_search_snippet_escapes_markup_found_in_the_issue_text(client, newsletter):
    issue = make_issue(newsletter, "Markup in text", topic="anchor", days_ago=0)
    issue.snapshot.search_text = "How to write <b onmouseover=alert(1)>anchor</b> tags by hand"
    issue.snapshot.save()

    html = client.get("/search/", {"q": "anchor"}).content.decode()

    assert "<b onmouseover" not in html
    assert "&lt;b onmouseover=alert(1)&gt;<mark>anchor</mark>" in html


def test_search_results_are_paginated_and_keep_the_query(client, newsletter):
    for n in range(22):
        make_issue(newsletter, f"Harbour log {n}", topic="seal", days_ago=n + 1)

    first = client.get("/search/", {"q": "seal"}).content.decode()
    second = client.get("/search/", {"q": "seal", "page": 2}).content.decode()

    assert "22 issues found." in first
    assert first.count('class="issue-card"') == 20
    assert second.count('class="issue-card"') == 2
    assert 'href="?q=seal&amp;page=2"' in first


def test_empty_search_shows_the_form_only(client, sent_issue):
    html = client.get("/search/", {"q": "   "}).content.decode()
    assert "Search the archive" in html
    assert 'class="issue-card"' not in html


def test_snippet_marks_where_the_text_was_cut(client, newsletter):
    issue = make_issue(newsletter, "Long read", topic="cormorant", days_ago=0)
    before = " ".join(f"Sea note {n} before the bird." for n in range(40))
    after = " ".join(f"Sea note {n} after the bird." for n in range(40))
    issue.snapshot.search_text = f"{before} Then a cormorant landed on the mast. {after}"
    issue.snapshot.save()

    html = client.get("/search/", {"q": "cormorant"}).content.decode()
    snippet = re.search(r'<p class="snippet">(.*?)</p>', html, re.S).group(1)

    assert snippet.startswith("… ") and snippet.endswith(" …")
    assert "<mark>cormorant</mark>" in snippet


def test_search_finds_an_issue_by_its_title_when_it_was_sent_under_another_subject(
    client, newsletter
):
    issue = make_issue(newsletter, "Semaphore flags", subject="This week on the water", days_ago=0)

    html = client.get("/search/", {"q": "semaphore"}).content.decode()

    assert issue.get_absolute_url() in html


def test_a_line_break_separates_words_in_search_and_snippets(client, newsletter):
    issue = make_issue(
        newsletter, "Nicknames", status=Issue.Status.SENT, published_at=timezone.now()
    )
    # A link list puts each link's note under its title with a <br>, as does an image's
    # caption above its credit.
    add_block(
        issue,
        "link_list",
        {"items": "Large Language Models | https://example.org/llm | aka the giants that forget"},
    )  # noqa: E501
    freeze_snapshot(issue)

    assert "No sent issue mentions" in client.get("/search/", {"q": "Modelsaka"}).content.decode()
    html = client.get("/search/", {"q": "aka"}).content.decode()
    assert f'href="{issue.get_absolute_url()}"' in html
    snippet = re.search(r'<p class="snippet">(.*?)</p>', html, re.DOTALL).group(1)
    assert "Models <mark>aka</mark> the giants" in snippet


@pytest.mark.django_db(transaction=True)
def test_snapshots_frozen_before_line_breaks_separated_words_are_found_after_the_migration(
    client, migrate
):
    old = migrate([("issues", "0020_click_reason_unjudged")])
    newsletter = old.get_model("issues", "Newsletter").objects.create(
        slug="signals", name="Signals", from_name="Signals", from_email="s@example.org"
    )
    issue = old.get_model("issues", "Issue").objects.create(
        newsletter=newsletter, title="Old", slug="old", number=1, status="sent",
        published_at=timezone.now(),
    )  # fmt: skip
    old.get_model("issues", "Snapshot").objects.create(
        issue=issue, subject="Old", web_html="<li><a href='/x'>Small Models</a><br>aka pets</li>",
        search_text="Small Modelsaka pets",  # as the renderer wrote it then
    )  # fmt: skip

    migrate()  # 0021_search_text_line_breaks, and what came after it

    html = client.get("/search/", {"q": "aka"}).content.decode()
    assert 'href="/signals/old/"' in html
