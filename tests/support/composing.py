"""Helpers for the composing tests: newsletters, issues and blocks in a line each."""

import io

from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from PIL import Image

from issues.compose.blocks import KINDS, get_kind
from issues.models import Block, Issue, LibraryBlock

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
        "intro": "I",
        "headlines": [
            {"title": "H1", "url": "https://a.example", "note": ""},
            {"title": "H2", "url": "", "note": ""},
        ],
        "fake": 2,
        "reveal": "R",
    },
    "quiz_result": {
        "title": "L",
        "headlines": [
            {"title": "H1", "url": "https://a.example", "note": "3 readers"},
            {"title": "H2", "url": "", "note": "5 readers"},
        ],
        "fake": 2,
        "summary": "S",
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


# A full quiz as an editor writes one: an intro, four headlines, a Markdown reveal.
FOUR_HEADLINE_QUIZ = {
    "title": "3 headlines and a lie",
    "intro": "Three of these happened this week. Which one did not?",
    "headlines": [
        {"title": "Robots fold laundry", "url": "https://r.example/1"},
        {"title": "Moon base opens a bakery", "pick": True},
        {"title": "Model [beta] beats chess champion", "url": "https://r.example/2"},
        {"title": "Whales learn Morse code", "url": "https://r.example/3"},
    ],
    "reveal": "**Number 2.** Nobody bakes on the Moon yet; see [the plan](https://nasa.example/).",
}


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


def seed_shaped_blocks(library_block: LibraryBlock) -> list[tuple[str, dict]]:
    """About 25 blocks shaped like a real weekly issue: every kind, link-heavy, long explainers.

    Form values as an editor would type them (item rows, the lie picked), ``library`` last.
    """

    def links(topic, n=4):
        return [
            {
                "title": f"{topic} story {i}: what changed this week",
                "url": f"https://{topic.lower()}.example/{i}",
                "note": f"One line on why {topic.lower()} story {i} matters.",
            }
            for i in range(1, n + 1)
        ]

    explainer = "\n".join(
        [
            "Batching sounds dull until the bill arrives. Here is how we cut ours:",
            "",
            "1. Measure the queue before touching it.",
            "2. Group sends by domain, then by hour.",
            "3. Retry softly: back off, add jitter, stop after five tries.",
            "",
            "The **short** version: fewer connections, more messages per connection.",
        ]
    )
    return [
        ("markdown", {"body": "Hello again! This week: faster queues and a quiz you will lose."}),
        ("heading", {"title": "News", "emoji": "🗞"}),
        ("link_list", {"items": links("Queue")}),
        ("link_list", {"items": links("Mail", 3)}),
        ("heading", {"title": "Papers", "emoji": "📄"}),
        ("link_list", {"items": links("Paper", 5)}),
        ("quiz", QUIZ_FORM_VALUES),
        ("heading", {"title": "Explainers", "emoji": "🔬"}),
        ("markdown", {"body": explainer}),
        ("callout", {"style": "note", "text": "Retries are cheap; duplicates are not."}),
        ("markdown", {"body": explainer.replace("Batching", "Caching")}),
        ("callout", {"style": "quote", "text": "Measure twice.", "attribution": "A carpenter"}),
        ("image", {"alt": "A queue of parcels on a belt", "caption": "Our sorting room",
                   "credit": "Photo: the editors"}),
        ("heading", {"title": "Resources", "emoji": "🧰"}),
        ("link_list", {"items": links("Tool", 6)}),
        ("button", {"label": "Read the archive", "url": "https://weekly.example/archive/"}),
        ("markdown", {"body": "A short aside about *naming things*, with a [link](https://n.example)."}),
        ("sponsor", {"name": "Queue Co", "text": "Queues that **never** lose a message.",
                     "url": "https://queue.example", "label": "Sponsored"}),
        ("heading", {"title": "Elsewhere", "emoji": "🌍"}),
        ("link_list", {"items": links("World", 3)}),
        ("markdown", {"body": explainer.replace("Batching", "Indexing")}),
        ("callout", {"style": "note", "text": "Reply to this email: we read every answer."}),
        ("button", {"label": "Tell a friend", "url": "https://weekly.example/subscribe/"}),
        ("divider", {}),
        ("library", {"library_block": library_block}),
    ]  # fmt: skip


def add_seed_shaped_blocks(issue: Issue, *, count: int = 25) -> list[Block]:
    """``count`` blocks cycling through the seed shape (the sign-off from the library)."""
    library_block = LibraryBlock.objects.filter(name="Sign-off").first() or make_library_block()
    shape = seed_shaped_blocks(library_block)
    blocks = []
    for n in range(count):
        kind, values = shape[n % len(shape)]
        if kind == Block.LIBRARY:
            data, library = {}, values["library_block"]
        else:
            files = {"image": upload(image_bytes((640, 360)))} if kind == "image" else None
            data, library = get_kind(kind).validate(values, files), None
        blocks.append(
            Block(issue=issue, position=n + 1, kind=kind, data=data, library_block=library)
        )
    return Block.objects.bulk_create(blocks)


def stream_content(issue: Issue) -> list[tuple]:
    """What an issue's stream says, in order: kind, content and library placement per block."""
    return list(
        issue.blocks.order_by("position", "id").values_list("kind", "data", "library_block")
    )


def as_readers_see(rendered) -> tuple[str, str, str]:
    """A render's web page, email and text with example links in place of its markers.

    Every render names its per-recipient markers afresh, so two renders of the same content
    are compared as a reader would see them.
    """
    from issues.compose.examples import example_email

    return (rendered.web_html, *example_email(rendered))


def post_image_block(client, issue, data, name):
    """The issue form as the browser posts it, with one new image block."""
    form = {
        **change_form_data(issue, []),
        "blocks-TOTAL_FORMS": 1,
        "blocks-0-kind": "image",
        "blocks-0-position": 1,
        "blocks-0-image__alt": "An image",
        "blocks-0-image__image": upload(data, name),
    }
    return client.post(reverse("admin:issues_issue_change", args=[issue.pk]), form)


def styled_elements(html: str) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(tag, attributes, inline style declarations) of every element of ``html``, in order:
    what a mail client sees of the email once its CSS is inlined."""
    from html.parser import HTMLParser

    found = []

    class Finder(HTMLParser):
        def handle_starttag(self, tag, attrs):
            attributes = {name: value or "" for name, value in attrs}
            style = {}
            for declaration in attributes.get("style", "").split(";"):
                if ":" in declaration:
                    name, value = declaration.split(":", 1)
                    style[name.strip().lower()] = value.replace("!important", "").strip().lower()
            found.append((tag, attributes, style))

    Finder().feed(html)
    return found
