"""The one HTML → blocks converter: each piece becomes the kind that keeps its meaning."""

from hypothesis import given, settings
from hypothesis import strategies as st

from issues.compose.blocks import get_kind
from issues.importers.html_blocks import build_blocks, convert_html, html_to_blocks


def kinds(html):
    return [draft.kind for draft in html_to_blocks(html)]


def test_headings_keep_their_emoji_and_lists_of_links_become_link_lists():
    drafts = html_to_blocks(
        "<h3>🧪 Papers</h3><ul><li><a href='https://a.example/x'>Sparse attention</a> — faster"
        " at long context</li><li><a href='https://b.example/y'>Tiny critics</a></li></ul>"
    )
    assert [d.kind for d in drafts] == ["heading", "link_list"]
    assert drafts[0].data == {"title": "Papers", "emoji": "🧪"}
    assert drafts[1].data["items"] == [
        {
            "title": "Sparse attention",
            "url": "https://a.example/x",
            "note": "faster at long context",
        },
        {"title": "Tiny critics", "url": "https://b.example/y", "note": ""},
    ]


def test_a_list_mostly_of_prose_stays_markdown_and_linkless_items_keep_their_place():
    assert kinds("<ul><li>one</li><li>two <a href='https://x.example'>x</a> later</li></ul>") == [
        "markdown"
    ]
    drafts = html_to_blocks(
        "<ul><li><a href='https://a.example'>A</a></li><li>plain</li>"
        "<li><a href='https://b.example'>B</a></li></ul>"
    )
    assert [d.kind for d in drafts] == ["link_list", "markdown", "link_list"]


def test_quotes_rules_images_embeds_and_scripts():
    conversion = convert_html(
        "<blockquote><p>Less is more.</p></blockquote><hr>"
        "<figure><img src='https://img.example/a.png' alt='A'><figcaption>Cap</figcaption></figure>"
        "<iframe src='https://video.example/embed/1'></iframe><script>alert(1)</script>"
        "<p>After <b>all</b>.</p>"
    )
    assert [d.kind for d in conversion.drafts] == [
        "callout", "divider", "image", "link_list", "markdown",
    ]  # fmt: skip
    image = conversion.drafts[2]
    assert image.image_url == "https://img.example/a.png" and image.data["caption"] == "Cap"
    assert conversion.drafts[3].data["items"][0]["url"] == "https://video.example/embed/1"
    assert conversion.drafts[4].data == {"body": "After **all**."}
    assert conversion.removed == {"script": 1}
    assert conversion.summary()["callout"] == 1


def test_text_that_looks_like_markdown_stays_text():
    [draft] = html_to_blocks("<p>2 * 3 = 6, not [a link](https://x.example) or _this_</p>")
    html = get_kind("markdown").context(draft.data, None)["html"]
    assert "<a " not in html and "<em>" not in html and "2 * 3 = 6" in html


def test_remote_images_stay_remote_and_are_reported_unsafe_ones_are_left_out():
    built = build_blocks(
        html_to_blocks("<img src='https://img.example/b.png' alt='B'><img src='javascript:x'>")
    )
    assert built.remote_images == ["https://img.example/b.png"]
    assert [b.kind for b in built.blocks] == ["markdown"]
    assert "javascript" in built.problems[0]


HTML_PIECES = st.sampled_from(
    [
        "<h2>🚀 Launch</h2>",
        "<p>Text with <a href='https://x.example/a'>a link</a>.</p>",
        "<ul><li><a href='https://y.example'>Y</a> note</li></ul>",
        "<hr>",
        "<blockquote>q</blockquote>",
        "<img src='https://i.example/p.png' alt='p'>",
        "<iframe src='https://v.example/1'></iframe>",
        "<script>bad()</script>",
        "<p onclick='bad()'>click</p>",
        "<a href='javascript:bad()'>js</a>",
        "<table><tr><td>a</td><td>b</td></tr></table>",
        "<div><p>nested <i>it</i></p></div>",
        "<pre>code\n  here</pre>",
        "<ol><li>first</li></ol>",
        "<p></p>",
        "<h4></h4>",
        "</div>",
        "<li>stray",
    ]
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(HTML_PIECES, st.text(max_size=30)), max_size=12))
def test_any_html_becomes_blocks_every_kind_accepts_and_no_script_survives(pieces):
    built = build_blocks(html_to_blocks("".join(pieces)))
    for block in built.blocks:
        assert get_kind(block.kind).validate(block.data) == block.data
        if block.kind == "markdown":
            html = get_kind("markdown").context(block.data, None)["html"]
            assert "<script" not in html and "javascript:" not in html and "onclick" not in html


def test_google_docs_clipboard_wrapper_is_not_bold_and_its_styled_spans_are():
    """Docs wraps a copy in ``<b style="font-weight:normal">`` holding every block, and writes
    bold and italic as styled spans (see tests/fixtures/paste/google_docs_weekly.html)."""
    drafts = html_to_blocks(
        '<meta charset="utf-8"><b style="font-weight:normal;" id="docs-internal-guid-1">'
        '<h2 dir="ltr"><span style="font-weight:400">📰 News</span></h2>'
        '<p dir="ltr"><span style="font-weight:700">Big</span><span style="font-weight:400"> '
        'and </span><span style="font-style:italic">small</span></p><p><hr></p><br></b>'
    )
    assert [d.kind for d in drafts] == ["heading", "markdown", "divider"]
    assert drafts[1].data == {"body": "**Big** and _small_"}


def test_html_nested_thousands_deep_is_read_without_running_out_of_stack():
    """A hostile (or broken) document can nest far deeper than Python's recursion limit."""
    assert [d.data for d in html_to_blocks("<div>" * 2000 + "<p>deep</p>")] == [{"body": "deep"}]
    assert [d.kind for d in html_to_blocks("<b>" * 1500 + "<p>x</p>" + "<span>" * 2000)] == [
        "markdown"
    ]
    assert kinds("<ul><li>" * 2000 + "<a href='https://a.example'>A</a>")


# Word's clipboard: lists are paragraphs styled ``mso-list``, each led by its bullet or number
# in a ``mso-list:Ignore`` span inside ``<![if !supportLists]>`` (Microsoft's "Office HTML"
# as Word writes it to the clipboard).
WORD = """<html xmlns:o="urn:schemas-microsoft-com:office:office"><head>
<meta name=Generator content="Microsoft Word 15"><style><!-- p.MsoNormal {margin:0cm} --></style>
</head><body lang=EN-GB><!--StartFragment--><h2>📰 News<o:p></o:p></h2>
<p class=MsoListParagraphCxSpFirst style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if
!supportLists]><span style='font-family:Symbol'><span style='mso-list:Ignore'>·<span
style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span></span><![endif]><a
href="https://example.com/a">Small models</a> — three releases<o:p></o:p></p>
<p class=MsoListParagraphCxSpLast style='text-indent:-18.0pt;mso-list:l0 level1 lfo1'><![if
!supportLists]><span style='font-family:Symbol'><span style='mso-list:Ignore'>·<span
style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span></span><![endif]><a
href="https://example.com/b">Open weights</a><o:p></o:p></p>
<p class=MsoNormal>Plain <b>words</b>.<o:p></o:p></p>
<p class=MsoListParagraph style='mso-list:l1 level1 lfo2'><![if !supportLists]><span
style='mso-list:Ignore'>1.<span>&nbsp;&nbsp; </span></span><![endif]>First step<o:p></o:p></p>
<!--EndFragment--></body></html>"""


def test_word_lists_are_lists_again():
    drafts = html_to_blocks(WORD)
    assert [d.kind for d in drafts] == ["heading", "link_list", "markdown"]
    assert drafts[1].data["items"] == [
        {"title": "Small models", "url": "https://example.com/a", "note": "three releases"},
        {"title": "Open weights", "url": "https://example.com/b", "note": ""},
    ]
    assert drafts[2].data == {"body": "Plain **words**.\n\n1. First step"}
