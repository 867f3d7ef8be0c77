"""Helpers for the composing tests: newsletters, issues and blocks in a line each."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image

from issues.compose.kinds import KINDS, get_kind
from issues.models import Block, Issue, LibraryBlock, Newsletter

# Valid content of every kind, as stored.
STORED_CONTENT = {
    "heading": {"title": "T", "emoji": "E"},
    "markdown": {"body": "B"},
    "link_list": {"items": [{"title": "T", "url": "https://a.example", "note": "N"}]},
    "image": {
        "image": {"path": "images/x.png", "width": 10, "height": 10},
        "alt": "A",
        "caption": "C",
        "credit": "R",
        "link": "https://a.example",
    },
    "quiz": {
        "title": "Q",
        "headlines": [
            {"title": "H1", "url": "https://a.example", "note": ""},
            {"title": "H2", "url": "", "note": ""},
        ],
        "fake": 2,
        "reveal": "R",
    },
    "callout": {"style": "quote", "text": "T", "attribution": "A"},
    "button": {"label": "L", "url": "https://a.example"},
    "sponsor": {"name": "N", "text": "T", "url": "https://a.example", "label": "L"},
    "divider": {},
}

# A quiz as the form sends it: the made-up headline is the picked row.
QUIZ_FORM_VALUES = {
    "title": "3 headlines and a lie",
    "headlines": [
        {"title": "Real one", "url": "https://r.example/1"},
        {"title": "The lie", "pick": True},
        {"title": "Real two", "url": "https://r.example/2"},
    ],
    "reveal": "Nobody did that.",
}


def make_newsletter(slug="weekly", **fields):
    defaults = {
        "name": "The Weekly",
        "from_name": "The Weekly",
        "from_email": "hello@weekly.example",
        "footer_text": "You subscribed at weekly.example.",
    }
    return Newsletter.objects.create(slug=slug, **{**defaults, **fields})


def make_issue(newsletter=None, title="Issue one", **fields):
    return Issue.objects.create(newsletter=newsletter or make_newsletter(), title=title, **fields)


def add_block(issue, kind, raw=None, files=None, *, data=None):
    """Append a block, its content validated like the admin does (or ``data`` as given)."""
    position = issue.blocks.count() + 1
    content = data if data is not None else get_kind(kind).validate(raw or {}, files)
    return Block.objects.create(issue=issue, position=position, kind=kind, data=content)


def place(issue, library_block):
    position = issue.blocks.count() + 1
    return Block.objects.create(
        issue=issue, position=position, kind=Block.LIBRARY, library_block=library_block
    )


def make_library_block(name="Sign-off", body="See you next week.\n\n— The editors"):
    return LibraryBlock.objects.create(name=name, kind="markdown", data={"body": body})


def image_bytes(size=(1600, 900), fmt="PNG", colour="#3366aa", **save_options):
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, format=fmt, **save_options)
    return out.getvalue()


def upload(data=None, name="picture.png"):
    return SimpleUploadedFile(name, data if data is not None else image_bytes())


def change_form_data(issue, blocks):
    """The POST the admin's issue form sends for ``issue`` with ``blocks`` unchanged."""
    data = {
        "newsletter": issue.newsletter_id,
        "title": issue.title,
        "subject": issue.subject,
        "preheader": issue.preheader,
        "number": issue.number,
        "slug": issue.slug,
        "show_in_archive": "on",
        "blocks-TOTAL_FORMS": len(blocks),
        "blocks-INITIAL_FORMS": len(blocks),
        "blocks-MIN_NUM_FORMS": 0,
        "blocks-MAX_NUM_FORMS": 1000,
    }
    for n, block in enumerate(blocks):
        data |= {
            f"blocks-{n}-id": block.pk,
            f"blocks-{n}-issue": issue.pk,
            f"blocks-{n}-kind": block.kind,
            f"blocks-{n}-position": block.position,
        }
        data |= kind_form_data(block.kind, block.data, prefix=f"blocks-{n}-")
    return data


def kind_form_data(kind_name, values, prefix=""):
    """The fields a block form posts for ``values`` (stored data or form values) of a kind.

    Item lists post one field per part of each row, and the chosen row's number as ``-pick``.
    """
    post = {}
    if kind_name not in KINDS:
        return post
    for name, value in KINDS[kind_name].form_values(values).items():
        key = f"{prefix}{kind_name}__{name}"
        if not isinstance(value, list):
            post[key] = value
            continue
        for n, item in enumerate(value):
            post |= {f"{key}-{n}-{part}": item.get(part, "") for part in ("title", "url", "note")}
            if item.get("pick"):
                post[f"{key}-pick"] = n
    return post
