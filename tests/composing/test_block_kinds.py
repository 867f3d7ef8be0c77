"""Every block kind: its form refuses bad input with a clear message and renders three ways."""

import pytest
from django.core.exceptions import ValidationError

from issues.compose.blocks import KINDS, get_kind
from issues.compose.rendering import render_issue
from tests.support.composing import QUIZ_FORM_VALUES, STORED_CONTENT, add_block, upload

# kind: (valid raw form input, expected in web HTML, in email HTML, in plain text)
RENDERS = {
    "heading": (
        {"title": "Big news", "emoji": "📰"},
        ['<h2 id="big-news"', "📰 Big news</h2>"],
        ["📰 Big news</h2>"],
        ["📰 Big news\n"],
    ),
    "markdown": (
        {"body": "Hello **world**, read [the paper](https://papers.example/1)."},
        ["<strong>world</strong>", 'href="https://papers.example/1"'],
        ["<strong>world</strong>", 'href="https://papers.example/1"'],
        ["Hello world, read the paper <https://papers.example/1>."],
    ),
    "link_list": (
        {
            "items": [
                {"title": "Paper one", "url": "https://p.example/1", "note": "Worth a read"},
                {"title": "No note", "url": "https://p.example/2"},
            ]
        },
        ['<a href="https://p.example/1">Paper one</a>', "Worth a read"],
        ["https://p.example/2", "Worth a read"],
        ["- Paper one <https://p.example/1>\n  Worth a read", "- No note <https://p.example/2>"],
    ),
    "quiz": (
        QUIZ_FORM_VALUES,
        [
            "<details",
            "<summary>Reveal the lie</summary>",
            "<p>Nobody did that.</p>",
            '<form method="post" action="/q/web/',
            '<button type="submit" name="pick" value="3">This is the lie</button>',
        ],
        ["See the answer on the web", "#3-headlines-and-a-lie", "This is the lie →</a>"],
        [
            "1. Real one\n2. The lie\n3. Real two",
            "Which one is the lie? Pick it:\n1: <http://testserver-media/q/%%VOTER.",
            ".1.3/>",
            "Spoiler below.",
            "Real one <https://r.example/1>",
        ],
    ),
    "quiz_result": (
        {
            "title": "Last week's quiz",
            "headlines": [
                {"title": "Real one", "url": "https://r.example/1", "note": "2 readers (40%)"},
                {"title": "The lie", "note": "3 readers (60%)", "pick": True},
            ],
            "summary": "Most of you *spotted* it.",
        },
        [
            "Last week&#x27;s quiz",
            '<a href="https://r.example/1">Real one</a>',
            "The lie <strong>(the lie)</strong><br>",
            "3 readers (60%)",
            "<em>spotted</em>",
        ],
        ["The lie <strong>(the lie)</strong>", "2 readers (40%)"],
        [
            "Last week's quiz\n\n1. Real one <https://r.example/1>: 2 readers (40%)\n"
            "2. The lie (the lie): 3 readers (60%)\n\nMost of you spotted it."
        ],
    ),
    "callout": (
        {"style": "quote", "text": "Wise *words*.", "attribution": "Someone"},
        ["<blockquote", "<em>words</em>", "— Someone"],
        ["<blockquote", "— Someone"],
        ["> Wise words.\n> — Someone"],
    ),
    "button": (
        {"label": "Join us", "url": "https://join.example/"},
        ['href="https://join.example/"', "Join us</a>"],
        ['href="https://join.example/"', "background-color: #1a73e8"],
        ["Join us: <https://join.example/>"],
    ),
    "sponsor": (
        {
            "name": "Acme",
            "text": "Rockets **cheap**.",
            "url": "https://acme.example/",
            "label": "Ad",
        },
        ['<a href="https://acme.example/">Acme</a>', "<strong>cheap</strong>", ">Ad</p>"],
        ["Acme</a>", ">Ad</p>"],
        ["Ad: Acme\nRockets cheap.\n<https://acme.example/>"],
    ),
    "divider": ({}, ["<hr"], ["<hr"], ["* * *"]),
    "image": (
        {"alt": "A blue square", "caption": "So blue", "credit": "Us", "link": "https://b.example"},
        ['alt="A blue square"', 'width="600" height="338"', "2x", "So blue"],
        ['alt="A blue square"', 'width="600"', "http://testserver-media"],
        ["[Image: A blue square]\nSo blue\nCredit: Us\n<https://b.example>"],
    ),
}

# kind: (invalid raw input, the message the editor reads)
REFUSALS = {
    "heading": ({"title": ""}, "This field is required."),
    "markdown": ({"body": "   "}, "This field is required."),
    "link_list": (
        {"items": [{"title": "Good", "url": "ok.example"}, {"title": "Bad", "url": "not a link"}]},
        "Item 2: “not a link” is not a web address",
    ),
    "quiz": (
        {"title": "Q", "headlines": "A | https://a.example\nB | https://b.example", "reveal": "x"},
        "Mark which headline is the lie.",
    ),
    "quiz_result": (
        {"title": "Last week", "headlines": [{"title": "Only one", "pick": True}]},
        "A quiz needs at least two headlines.",
    ),
    "callout": ({"style": "shout", "text": "Hi"}, "Select a valid choice."),
    "button": ({"label": "Go", "url": "javascript:alert(1)"}, "Enter a valid URL."),
    "sponsor": ({"name": "Acme", "text": "Hi", "label": "Ad"}, "This field is required."),
    "image": ({"alt": "No file"}, "This field is required."),
}


@pytest.fixture
def site_url(settings):
    settings.SITE_URL = "http://testserver-media"


def test_every_kind_has_rendering_and_validation_cases():
    assert set(RENDERS) == set(KINDS)
    assert set(REFUSALS) | {"divider"} == set(KINDS)  # a divider has nothing to get wrong


@pytest.mark.parametrize("kind", sorted(RENDERS))
def test_kind_renders_to_web_email_and_text(kind, issue, site_url):
    raw, web, email, text = RENDERS[kind]
    files = {"image": upload()} if kind == "image" else None
    add_block(issue, kind, raw, files)
    rendered = render_issue(issue)
    for expected in web:
        assert expected in rendered.web_html
    for expected in email:
        assert expected in rendered.email_html
    for expected in text:
        assert expected in rendered.text


@pytest.mark.parametrize("kind", sorted(REFUSALS))
def test_kind_refuses_bad_input_with_a_clear_message(kind):
    raw, message = REFUSALS[kind]
    with pytest.raises(ValidationError) as error:
        get_kind(kind).validate(raw)
    assert any(message in text for text in error.value.messages), error.value.messages


def test_quiz_requires_a_source_link_for_every_real_headline():
    raw = {"title": "Q", "headlines": "Real\nFake\nAlso real | https://a.example", "fake": "2"}
    with pytest.raises(ValidationError, match="Item 1: Add the source link"):
        get_kind("quiz").validate({**raw, "reveal": "x"})


def test_stored_data_validates_back_to_itself():
    """What a kind stores is valid input again: fixtures and imports can pass it as it is."""
    for kind in ("link_list", "quiz"):
        assert get_kind(kind).validate(STORED_CONTENT[kind]) == STORED_CONTENT[kind]


def test_compact_link_lines_still_validate_for_imports_and_fixtures():
    items = get_kind("link_list").validate(
        {"items": "A | a.example/x | why\n\nB | https://b.example"}
    )
    assert items == {
        "items": [
            {"title": "A", "url": "https://a.example/x", "note": "why"},
            {"title": "B", "url": "https://b.example", "note": ""},
        ]
    }
    quiz = {"title": "Q", "headlines": "Real | https://r.example\nLie", "fake": 2, "reveal": "R"}
    assert get_kind("quiz").validate(quiz)["fake"] == 2


def test_heading_anchors_stay_unique_and_become_the_table_of_contents(issue):
    add_block(issue, "heading", {"title": "News"})
    add_block(issue, "heading", {"title": "News"})
    add_block(issue, "heading", {"title": "Ново́сти и 日本語"})
    rendered = render_issue(issue)
    assert [h["id"] for h in rendered.headings] == ["news", "news-2", "новости-и-日本語"]
    assert '<h2 id="news-2"' in rendered.web_html


def test_unknown_kind_is_a_clear_error():
    with pytest.raises(ValidationError, match="There is no block kind “poll”"):
        get_kind("poll")
