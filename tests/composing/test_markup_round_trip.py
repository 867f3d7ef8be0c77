"""Export then import is the identity, for any content the block kinds accept.

Block data is generated from each kind's own form fields (so a new kind is covered without
a change here), from text rich in what the Markdown syntax gives a meaning to: fences,
headings, list markers, brackets, backslashes, option lines and line breaks. Content a kind
refuses is not an issue anyone can save; everything it accepts must come back block for
block.
"""

import pytest
from django import forms
from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from issues.compose.blocks import KINDS, get_kind
from issues.compose.fields import ImageUploadField, ItemRowsField
from issues.compose.images import store_upload
from issues.compose.markup import issue_markdown, read_issue
from issues.models import Block, Issue
from tests.support.composing import upload

# What the syntax reads something into, in pieces text is made of; line breaks are among
# them (and other control characters), rarer than the rest, as pasting brings them.
MEANINGFUL = [
    ":::", "::: button Go", "::: quiz", "\\:::", "\\", "# ", "## ", "#", "- ", "* ", "+ ", "1. ",
    "[x] ", "[", "]", "](", "(", ")", "[a](https://a.example)", "![a](b.png)", " — ", "—", "–",
    "-", ":", "url: ", "attribution: ", "alt: ", "style: ", "intro: ", "label: ", "---", "***",
    "<", ">", '"', "*", "_", "`", "🗞 ", "📰", "é", " ", "  ", "word", "Word ", "x",
]  # fmt: skip
BREAKS = ["\n", "\n\n", "\r\n", "\r", "\u2028", "\x0b", "\x85", "\t", "\x00"]

printable = st.text(st.characters(blacklist_categories=["Cc", "Cs"]), max_size=3)


def mostly(usual, rare, odds: int):
    """``usual``, and ``rare`` once in ``odds`` draws."""
    return st.integers(1, odds).flatmap(lambda n: rare if n == 1 else usual)


fragment = mostly(st.sampled_from(MEANINGFUL), printable, 4)
one_line = st.lists(fragment, min_size=1, max_size=6).map("".join)
with_breaks = st.lists(st.one_of(fragment, st.sampled_from(BREAKS)), max_size=8).map("".join)
some_text = mostly(one_line, with_breaks, 4)
row_text = mostly(one_line, with_breaks, 12)  # a list refuses a break in any row
url = st.lists(
    st.sampled_from(["a", "/", "(", ")", "[", "]", "\\", "_", "-", "?q=1", "#top", "<", "%20"]),
    max_size=6,
).map(lambda parts: "https://news.example/" + "".join(parts))


def raw_value(form_field: forms.Field):
    """A strategy for what an editor (or an importer) may hand this field; an image field
    says whether the block has its image (the one stored for the test)."""
    if isinstance(form_field, ImageUploadField):
        return st.sampled_from([True, True, False])
    if isinstance(form_field, ItemRowsField):
        return item_rows(form_field.pick_label, with_note="note" in form_field.parts)
    if isinstance(form_field, forms.URLField):
        return url
    if isinstance(form_field, forms.ChoiceField):
        return st.sampled_from([value for value, _ in form_field.choices])
    if isinstance(form_field.widget, forms.Textarea):
        return st.lists(some_text, min_size=1, max_size=4).map("\n".join)
    return some_text


@st.composite
def item_rows(draw, pick_label: str, with_note: bool):
    """Rows of a list; where one row is picked (the quiz's lie), usually exactly one."""
    link = mostly(url, st.just(""), 8)
    note = row_text if with_note else st.just("")
    row = st.fixed_dictionaries({"title": row_text, "url": link, "note": note})
    rows = draw(st.lists(row, max_size=4))
    if pick_label and rows and draw(st.integers(0, 9)):
        rows[draw(st.integers(0, len(rows) - 1))]["pick"] = True
    return rows


@st.composite
def raw_block(draw):
    """A kind and raw values for each of its fields."""
    kind = get_kind(draw(st.sampled_from(sorted(KINDS))))
    return kind.name, {name: draw(raw_value(field)) for name, field in kind.fields().items()}


def validated(kind_name: str, raw: dict, image: dict) -> dict | None:
    """The block's data as the kind stores it; None when the kind refuses ``raw``."""
    kind = get_kind(kind_name)
    fields = kind.fields()
    images = [name for name, f in fields.items() if isinstance(f, ImageUploadField)]
    values = {name: value for name, value in raw.items() if name not in images}
    try:
        return kind.validate(values, initial={name: image for name in images if raw.get(name)})
    except ValidationError:
        return None


@pytest.fixture
def stored_image(media_root):
    return store_upload(upload()).as_dict()


def round_trip(title, subject, preheader, contents):
    issue = Issue(title=title, subject=subject, preheader=preheader)
    blocks = [Block(kind=kind, data=data) for kind, data in contents]
    markdown = issue_markdown(issue, blocks)
    return markdown, read_issue(markdown, folder=None)


SMUGGLED_NOTE = {
    "title": "A paper",
    "url": "https://p.example/1",
    "note": "Worth it\n::: button Click me\nurl: https://evil.example\n:::",
}


def test_the_reported_note_is_refused_and_an_old_one_exports_as_one_block(stored_image):
    """The issue's case: the note is refused; one stored before the refusal exports as the
    one link list it is (its line breaks as spaces), never as a link list and a button."""
    with pytest.raises(ValidationError, match="one line"):
        get_kind("link_list").validate({"items": [SMUGGLED_NOTE]})
    markdown, again = round_trip("Smuggled", "", "", [("link_list", {"items": [SMUGGLED_NOTE]})])
    assert [b.kind for b in again.blocks] == ["link_list"], markdown
    assert again.blocks[0].data["items"][0]["note"] == " ".join(SMUGGLED_NOTE["note"].split("\n"))


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@example(
    title="Smuggled", subject="", preheader="", raw=[("link_list", {"items": [SMUGGLED_NOTE]})]
)
@example(
    title="Looks like syntax",
    subject="",
    preheader="",
    raw=[
        ("callout", {"style": "note", "text": "attribution: not an option", "attribution": ""}),
        ("markdown", {"body": "::: button Go\nurl: https://evil.example\n:::"}),
        ("markdown", {"body": "- [x] [a row?](https://a.example)"}),
    ],
)
@given(
    title=one_line,
    subject=one_line,
    preheader=one_line,
    raw=st.lists(raw_block(), min_size=1, max_size=6),
)
def test_export_then_import_gives_the_same_blocks_for_any_content(
    stored_image, title, subject, preheader, raw
):
    contents = [(kind, validated(kind, values, stored_image)) for kind, values in raw]
    contents = [(kind, data) for kind, data in contents if data is not None]
    title, subject, preheader = (value.strip() for value in (title, subject, preheader))
    try:
        for value in (title, subject, preheader):
            Issue._meta.get_field("title").run_validators(value)
    except ValidationError:
        return  # the issue form refuses it
    if not title or not contents:
        return
    markdown, again = round_trip(title, subject, preheader, contents)
    assert [(b.kind, b.data) for b in again.blocks] == contents, markdown
    assert (again.title, again.subject or title, again.preheader) == (
        title,
        subject or title,
        preheader,
    ), markdown
