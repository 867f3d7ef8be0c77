"""No script reaches a reader: every text field of every kind against an XSS corpus.

Content is stored as given (bypassing form validation, as an import or a bug might), so the
renderer itself must make it safe in the web HTML (which the archive and feeds publish) and in
the email HTML.
"""

import copy
import html
import re
from html.parser import HTMLParser

import markdown
import pytest
from django.utils.feedgenerator import Rss201rev2Feed

from issues.compose.blocks import KINDS
from issues.compose.rendering import render_issue
from tests.support.composing import STORED_CONTENT, add_block

VECTORS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "<svg onload=alert(1)>",
    '<iframe src="javascript:alert(1)"></iframe>',
    '<a href="javascript:alert(1)">x</a>',
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    "![x](javascript:alert(1))",
    "<body onload=alert(1)>",
    "<style>body{background:url(javascript:alert(1))}</style>",
    '<div style="background:url(javascript:alert(1))">x</div>',
    "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)>",
    '<object data="javascript:alert(1)"></object>',
    '<embed src="javascript:alert(1)">',
    '<form action="javascript:alert(1)"><input type=submit></form>',
    "<details open ontoggle=alert(1)>",
    '<a href="&#106;avascript:alert(1)">x</a>',
    '<a href="java&#x09;script:alert(1)">x</a>',
    '"><script>alert(1)</script>',
    "'><img src=x onerror=alert(1)>",
    "javascript:alert(1)",
    " javascript:alert(1)",
    "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:msgbox(1)",
    '<base href="javascript:alert(1)//">',
    '<meta http-equiv="refresh" content="0;url=javascript:alert(1)">',
    '<link rel=stylesheet href="javascript:alert(1)">',
    '<video><source onerror="alert(1)"></video>',
    "<input autofocus onfocus=alert(1)>",
    "<marquee onstart=alert(1)>",
    "<scr<script>ipt>alert(1)</script>",
    "<!--<script>alert(1)//--><script>alert(1)</script>",
    '<img src="x` `<script>alert(1)</script>"` `>',
    "[x](javascript&colon;alert(1))",
    '<a href="  &#x6A;&#x61;&#x76;&#x61;script:alert(1)">x</a>',
    "<svg><a xlink:href=javascript:alert(1)><text>x</text></a></svg>",
]

DANGEROUS_TAGS = {"script", "iframe", "object", "embed", "form", "base", "link", "svg", "math"}
URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "srcset", "data"}
BAD_SCHEMES = re.compile(r"^(javascript|data|vbscript):", re.I)
# The one form the renderer itself writes: a quiz's vote on the web page, posting to the
# site's own vote path (the sanitizer lets no content write a form at all).
QUIZ_VOTE_FORM = re.compile(r"^/q/web/\d+\.\d+/$")


class Audit(HTMLParser):
    """Collects anything executable: tags, event handlers, script URLs, smuggled styles."""

    def __init__(self):
        super().__init__()
        self.found, self.in_head = [], False

    def handle_starttag(self, tag, attrs):
        self.in_head = self.in_head or tag == "head"
        renderers_form = tag == "form" and QUIZ_VOTE_FORM.match(dict(attrs).get("action") or "")
        if (tag in DANGEROUS_TAGS and not renderers_form) or (tag == "style" and not self.in_head):
            self.found.append(f"<{tag}>")
        if tag == "meta" and not self.in_head:
            self.found.append("<meta> in body")
        for name, value in attrs:
            value = re.sub(r"[\s\x00-\x1f]", "", value or "")
            if name.startswith("on"):
                self.found.append(f"{name}=")
            if name in URL_ATTRIBUTES and BAD_SCHEMES.match(value):
                self.found.append(f"{name}={value}")
            if name == "style" and re.search(r"javascript|expression\(|url\(", value, re.I):
                self.found.append(f"style={value}")

    def handle_endtag(self, tag):
        if tag == "head":
            self.in_head = False


def audit(html):
    parser = Audit()
    parser.feed(html)
    return parser.found


def text_fields(content):
    """Paths to every string value: ("title",) or ("items", 0, "note")."""
    for key, value in content.items():
        if isinstance(value, str):
            yield (key,)
        elif isinstance(value, list):
            for index, item in enumerate(value):
                for name, inner in item.items():
                    if isinstance(inner, str):
                        yield (key, index, name)


def with_value(content, path, value):
    content = copy.deepcopy(content)
    target = content
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return content


def test_corpus_is_big_enough_and_covers_every_kind():
    assert len(VECTORS) >= 30
    assert set(STORED_CONTENT) == set(KINDS)


def test_the_audit_sees_the_vectors_when_nothing_sanitizes_them():
    flagged = [v for v in VECTORS if audit(markdown.markdown(v))]
    assert len(flagged) >= 28, set(VECTORS) - set(flagged)


@pytest.mark.parametrize("kind", sorted(STORED_CONTENT))
def test_no_vector_in_any_field_of_the_kind_reaches_web_email_or_feed(kind, issue):
    cases = [
        with_value(STORED_CONTENT[kind], p, v)
        for p in text_fields(STORED_CONTENT[kind])
        for v in VECTORS
    ]
    for data in cases or [STORED_CONTENT[kind]]:
        add_block(issue, kind, data=data)
    rendered = render_issue(issue)
    feed = Rss201rev2Feed("t", "https://site.example/", "d")
    feed.add_item("i", "https://site.example/i/", description=rendered.web_html)
    feed_xml = feed.writeString("utf-8")
    item = re.search(r"<description>(.*)</description>", feed_xml.split("<item>")[1], re.S)
    feed_html = html.unescape(item.group(1))
    assert audit(rendered.web_html) == []
    assert audit(rendered.email_html) == []
    assert audit(feed_html) == []
    assert rendered.web_html.count("<details") == (len(cases) if kind == "quiz" else 0)
