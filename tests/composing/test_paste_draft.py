"""Paste a draft: the clipboard's HTML (or Markdown) becomes blocks through the importers' one
converter, its pictures stored like uploads; the admin endpoint answers the stream's rows.

The fixture is the demo's weekly digest (``load_demo``) retold as the HTML a Google Docs copy
puts on the clipboard: the ``<b style="font-weight:normal" id="docs-internal-guid-…">``
wrapper, ``<p dir="ltr">`` paragraphs of inline-styled spans (bold and italic are
``font-weight:700`` and ``font-style:italic`` spans), real ``<h2>``/``<h3>`` headings, lists of
``<li><p role="presentation">``, links with a styled span inside, a picture in a sized span
(the shapes documented at adamcoster.com/blog/google-docs-copied-html-jank and
iter.ca/post/docs-html)."""

import json
import re
import time
from pathlib import Path

import pytest
from django.test import Client

from issues.compose.images import UPLOAD_FOLDER
from issues.compose.markup import read_issue
from issues.importers.paste import MAX_PASTE_BYTES, PasteRefused, paste_blocks
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.composing import image_bytes

DOCS = Path(__file__).resolve().parent.parent / "fixtures" / "paste" / "google_docs_weekly.html"
DOCS_IMAGE = "https://lh7-rt.googleusercontent.com/docsz/AD_4nXdemoHypeMeter?key=weekly-gradient"
KINDS = [
    "markdown", "heading", "link_list", "heading", "link_list", "heading", "markdown",
    "heading", "markdown", "heading", "markdown", "heading", "markdown", "heading",
    "link_list", "markdown", "heading", "image", "markdown", "divider", "markdown",
]  # fmt: skip


def google_docs_html(image_url: str) -> str:
    """The fixture, its picture at ``image_url`` (served on loopback: no test goes out)."""
    return DOCS.read_text().replace(DOCS_IMAGE, image_url)


def urls_in(block) -> list[str]:
    if block.kind == "link_list":
        return [item["url"] for item in block.data["items"]]
    return re.findall(r"\]\(([^)\s]+)\)", block.data.get("body", ""))


def test_a_google_docs_draft_becomes_the_right_blocks_in_order_with_every_link(pages):
    html = google_docs_html(f"{pages.url}/picture")
    pasted = paste_blocks(html, text="")

    assert [block.kind for block in pasted.blocks] == KINDS
    headings = [(b.data["emoji"], b.data["title"]) for b in pasted.blocks if b.kind == "heading"]
    assert headings == [
        ("📰", "News"),
        ("📄", "Papers"),
        ("🕵️", "3 headlines and a lie"),
        ("🧪", "Explainer: what is distillation?"),
        ("", "Why it works"),
        ("", "What the results say"),
        ("🧰", "Resources"),
        ("🎢", "Just for fun"),
    ]
    news = pasted.blocks[2].data["items"]
    assert news[0] == {
        "title": "Small models, big week",
        "url": "https://example.com/news/small-models",
        "note": "three releases under ten billion parameters beat last year’s giants.",
    }
    # Every link of the document, in its order, and nothing else.
    hrefs = re.findall(r'href="([^"]+)"', html)
    assert [url for block in pasted.blocks for url in urls_in(block)] == hrefs
    assert len(hrefs) == 13
    # Docs' inline styles are its bold and italic; its wrapper's <b> is not bold.
    assert (
        pasted.blocks[6]
        .data["body"]
        .endswith("**Number 2 is the lie.** No city has handed its timetable to a chatbot (yet).")
    )
    assert "a small _student_ model" in pasted.blocks[8].data["body"]
    assert not pasted.blocks[0].data["body"].startswith("**")
    # The picture was fetched and stored like an upload, its alt text kept.
    image = pasted.blocks[17].data
    assert image["image"]["width"] == 800 and image["image"]["path"].startswith(UPLOAD_FOLDER + "/")
    assert image["alt"] == "A gauge from calm to hype, its needle pushed past the red end."
    assert pasted.problems == []
    assert pasted.summary() == (
        "21 blocks: 8 headings, 3 link lists with 8 links, 1 image, 1 divider, 8 text blocks."
    )


def test_pictures_come_only_from_public_addresses_and_a_refused_one_is_said(settings):
    settings.FETCH_ALLOW_LOOPBACK = False
    pasted = paste_blocks(
        '<p><img src="http://127.0.0.1:9/secret.png" alt="x"></p>'
        '<p><img src="file:///C:/Users/ana/clip.png" alt="Word"></p>',
        text="",
    )
    # The loopback picture is not fetched: kept at its address, in a text block, and said.
    assert [b.kind for b in pasted.blocks] == ["markdown"]
    assert "a loopback address" in pasted.problems[0]
    assert "not a web address: left out" in pasted.problems[1]


def test_a_picture_in_the_clipboard_itself_goes_through_the_upload_checks():
    import base64

    good = base64.b64encode(image_bytes((40, 30))).decode()
    bad = base64.b64encode(b"<svg onload=alert(1)>").decode()
    pasted = paste_blocks(
        f'<img src="data:image/png;base64,{good}" alt="Dot">'
        f'<img src="data:image/png;base64,{bad}" alt="Not a picture">',
        text="",
    )
    assert [b.kind for b in pasted.blocks] == ["image"]
    assert pasted.blocks[0].data["image"]["width"] == 40
    assert "not stored" in pasted.problems[0] and "left out" in pasted.problems[1]


def test_markdown_pasted_as_text_is_split_as_import_issue_splits_a_file():
    text = (
        "Hello, readers.\n\n## 📰 News\n\n"
        "- [Small models](https://example.com/a) — a note\n"
        "- [Open weights](https://example.com/b)\n\n"
        "---\n\nSee you next week."
    )
    pasted = paste_blocks("", text)
    imported = read_issue("# Title\n" + text, folder=None)
    assert [(b.kind, b.data) for b in pasted.blocks] == [(b.kind, b.data) for b in imported.blocks]
    assert [b.kind for b in pasted.blocks] == [
        "markdown", "heading", "link_list", "divider", "markdown",
    ]  # fmt: skip
    assert pasted.title == ""
    assert paste_blocks("", "# This week\n\nHello.").title == "This week"
    with pytest.raises(PasteRefused, match=r"^Line 3: A link is opened but not closed"):
        paste_blocks("", "Fine.\n\nBroken [link](https://example.com\n")


def test_hostile_html_leaves_no_script_and_no_javascript_link():
    pasted = paste_blocks(
        '<script>alert(1)</script><p onclick="alert(2)">Hi <a href="javascript:alert(3)">there'
        '</a><img src=x onerror="alert(4)"></p><style>p{}</style><iframe src="javascript:x">'
        "</iframe>",
        text="",
    )
    bodies = json.dumps([b.data for b in pasted.blocks])
    assert "alert" not in bodies and "javascript" not in bodies and "onerror" not in bodies
    assert pasted.summary().endswith("Left out: 1 iframe, 1 script.")


def test_a_paste_too_big_is_refused_in_words():
    with pytest.raises(PasteRefused, match=r"^This paste is 2\.1 MB; at most 2 MB"):
        paste_blocks("<p>" + "a" * (MAX_PASTE_BYTES + 100_000) + "</p>", text="")
    with pytest.raises(PasteRefused, match=r"would make 301 blocks; at most 300"):
        paste_blocks("<hr>" * 301, text="")
    # Under 2 MB, yet seconds of parsing: refused after the first 20,000 elements.
    started = time.monotonic()
    with pytest.raises(PasteRefused, match=r"^This paste has more than 20,000 HTML elements"):
        paste_blocks("<span>" * 300_000, text="")
    assert time.monotonic() - started < 2


# The admin endpoint ---------------------------------------------------------------------------


def post_paste(client, issue, html="", text="", **extra):
    return client.post(
        f"/admin/issues/issue/{issue.pk}/paste/",
        json.dumps({"html": html, "text": text}),
        content_type="application/json",
        **extra,
    )


@pytest.fixture
def editor_client(db):
    client = Client()
    editor = staff("ed", "view_issue", "change_issue", "view_block", "add_block", "change_block")
    client.login(username=editor.username, password=STAFF_PASSWORD)
    return client


def test_the_endpoint_answers_each_block_as_the_stream_draws_its_fields(editor_client, issue):
    response = post_paste(
        editor_client,
        issue,
        html='<h2>📰 News</h2><ul><li><a href="https://example.com/a">A &lt;b&gt;</a>: why</li>'
        '<li><a href="https://example.com/b">B</a></li></ul>',
    )
    assert response.status_code == 200
    answer = response.json()
    assert [b["kind"] for b in answer["blocks"]] == ["heading", "link_list"]
    heading, links = (b["fields"] for b in answer["blocks"])
    assert 'name="blocks-__prefix__-heading__title" value="News"' in heading
    assert 'value="📰"' in heading
    assert 'name="blocks-__prefix__-link_list__items-0-url"' in links
    assert 'value="A &lt;b&gt;"' in links  # escaped as any value
    assert answer["summary"] == "2 blocks: 1 heading, 1 link list with 2 links."
    assert issue.blocks.count() == 0  # nothing stored: the form keeps them until saved


def test_the_endpoint_refuses_who_may_not_change_issues_and_forged_posts(db, issue, editor_client):
    for codenames in [("view_issue", "view_block"), ("view_issue", "change_issue", "view_block")]:
        refused = Client()
        refused.login(
            username=staff("_".join(codenames), *codenames).username, password=STAFF_PASSWORD
        )
        assert post_paste(refused, issue, html="<p>x</p>").status_code == 403

    forged = Client(enforce_csrf_checks=True)
    forged.login(username="ed", password=STAFF_PASSWORD)
    assert post_paste(forged, issue, html="<p>x</p>").status_code == 403

    assert editor_client.get(f"/admin/issues/issue/{issue.pk}/paste/").status_code == 405
    too_big = post_paste(editor_client, issue, html="<p>" + "a" * (MAX_PASTE_BYTES + 5000))
    assert too_big.status_code == 413
    assert too_big.json()["error"].startswith("This paste is 2.0 MB; at most 2 MB")
    nothing = post_paste(editor_client, issue, html="<script>x</script>", text=" ")
    assert nothing.status_code == 400
    assert nothing.json()["error"] == "The clipboard holds nothing that makes a block."
