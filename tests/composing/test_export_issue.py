"""export_issue writes an issue in import_issue's syntax; importing that gives the same blocks."""

import io
import re
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from issues.compose.rendering import render_issue
from issues.models import Block, Issue
from tests.support.composing import (
    FOUR_HEADLINE_QUIZ,
    add_block,
    as_readers_see,
    image_bytes,
    make_library_block,
    place,
    upload,
)

QUIZ = FOUR_HEADLINE_QUIZ


def issue_with_every_kind(issue):
    issue.subject = "🤖 Small models, a quiz and a hype-o-meter"
    issue.preheader = "Distillation explained in five minutes"
    issue.save()
    add_block(issue, "markdown", {"body": "Hello, **readers**.\n\n- one\n- two"})
    add_block(issue, "markdown", {"body": "A second text block right after the first."})
    add_block(issue, "heading", {"title": "News", "emoji": "🗞"})
    add_block(
        issue,
        "link_list",
        {
            "items": [
                {"title": "Paper one", "url": "https://p.example/1", "note": "Worth a read"},
                {"title": "Paper two", "url": "https://p.example/2"},
            ]
        },
    )
    add_block(issue, "heading", {"title": "Plain heading"})
    add_block(
        issue,
        "image",
        {"alt": "A chart", "caption": "Hype, “measured”", "credit": "Ana", "link": "https://c.ex/"},
        {"image": upload()},
    )
    add_block(issue, "image", {"alt": "Plain", "caption": "Just a caption"}, {"image": upload()})
    add_block(issue, "quiz", QUIZ)
    add_block(issue, "callout", {"style": "quote", "text": "Wise *words*.", "attribution": "Ada"})
    add_block(issue, "callout", {"style": "note", "text": "Heads up: we moved.\n\nReally."})
    add_block(issue, "button", {"label": "Read the report", "url": "https://r.example/report"})
    add_block(
        issue,
        "sponsor",
        {
            "name": "Acme",
            "text": "Rockets **cheap**.",
            "url": "https://acme.example/",
            "label": "Ad",
        },
        {"logo": upload()},
    )
    add_block(issue, "divider", {})
    add_block(issue, "markdown", {"body": "## Looks like a heading\n\nbut is text"})
    place(issue, make_library_block())
    return issue


def export(reference) -> str:
    out = io.StringIO()
    call_command("export_issue", str(reference), stdout=out)
    return out.getvalue()


def content(issue):
    return [(b.kind, b.data, b.library_block_id) for b in issue.blocks.order_by("position", "id")]


def test_export_then_import_gives_the_same_blocks_for_every_kind(issue, tmp_path, capsys):
    issue_with_every_kind(issue)
    assert {b.kind for b in issue.blocks.all()} == {
        "markdown", "heading", "link_list", "image", "quiz", "callout", "button", "sponsor",
        "divider", Block.LIBRARY,
    }  # fmt: skip
    markdown = export(f"{issue.newsletter.slug}/{issue.slug}")
    path = tmp_path / "exported.md"
    path.write_text(markdown, encoding="utf-8")
    call_command("import_issue", str(path))
    copy = Issue.objects.exclude(pk=issue.pk).get()
    assert content(copy) == content(issue), markdown
    assert (copy.title, copy.subject, copy.preheader) == (
        issue.title,
        issue.subject,
        issue.preheader,
    )
    copy_text, issue_text = (as_readers_see(render_issue(i))[2] for i in (copy, issue))
    assert copy_text.split("\n", 3)[3] == issue_text.split("\n", 3)[3]
    # Exporting the copy gives the same Markdown again.
    assert export(copy.pk) == markdown


def test_export_uses_plain_markdown_where_it_can(issue):
    issue_with_every_kind(issue)
    markdown = export(issue.pk)
    assert markdown.startswith("---\nsubject: 🤖 Small models")
    assert "\n# Issue one\n" in markdown
    assert "\n## 🗞 News\n" in markdown
    assert "\n- [Paper one](https://p.example/1) — Worth a read\n" in markdown
    assert "\n- [x] Moon base opens a bakery\n" in markdown
    assert "\n::: quote\nattribution: Ada\nWise *words*.\n:::\n" in markdown
    assert "\n::: library Sign-off\n:::\n" in markdown
    assert re.search(r"\n!\[Plain\]\(images/[\w-]+\.png \"Just a caption\"\)\n", markdown)


def test_every_kind_has_a_syntax_an_editor_can_write(db, tmp_path, newsletter):
    (tmp_path / "chart.png").write_bytes(image_bytes((800, 400)))
    (tmp_path / "logo.png").write_bytes(image_bytes((200, 100)))
    make_library_block("Sign-off")
    (tmp_path / "issue.md").write_text(
        """# Small models, big week

::: quiz 3 headlines and a lie
intro: Three happened. One did not.
- [Robots fold laundry](https://r.example/1)
- [x] Moon base opens a bakery
- [Model beats chess champion](https://r.example/2)
- [Whales learn Morse code](https://r.example/3)

**Number 2.** Nobody bakes on the Moon yet.
:::

::: callout
Heads up: we moved.
:::

::: quote
attribution: Ada Lovelace
The engine weaves algebraic patterns.
:::

::: button Read the report
url: https://r.example/report
:::

::: sponsor Acme Rockets
url: https://acme.example/
logo: logo.png
Rockets, **cheap**.
:::

::: image chart.png
alt: A bar chart of hype
caption: Hype, measured
credit: Ana Lima
link: https://c.example/
:::

---

::: library Sign-off
:::
""",
        encoding="utf-8",
    )
    call_command("import_issue", str(tmp_path / "issue.md"))
    blocks = list(Issue.objects.get().blocks.order_by("position"))
    assert [b.kind for b in blocks] == [
        "quiz", "callout", "callout", "button", "sponsor", "image", "divider", Block.LIBRARY,
    ]  # fmt: skip
    quiz, note, quote, button, sponsor, image = (b.data for b in blocks[:6])
    assert quiz["fake"] == 2 and quiz["intro"] == "Three happened. One did not."
    assert quiz["headlines"][1] == {"title": "Moon base opens a bakery", "url": "", "note": ""}
    assert quiz["reveal"] == "**Number 2.** Nobody bakes on the Moon yet."
    assert (note["style"], note["text"]) == ("note", "Heads up: we moved.")
    assert (quote["style"], quote["attribution"]) == ("quote", "Ada Lovelace")
    assert button == {"label": "Read the report", "url": "https://r.example/report"}
    assert sponsor["name"] == "Acme Rockets" and sponsor["logo"]["width"] == 200
    assert sponsor["label"] == "Sponsored"
    assert (image["alt"], image["credit"], image["link"]) == (
        "A bar chart of hype",
        "Ana Lima",
        "https://c.example/",
    )
    assert blocks[-1].library_block.name == "Sign-off"


@pytest.mark.parametrize(
    "markdown, message",
    [
        ("# T\n\n::: poll\n:::\n", "line 3: “::: poll” is not a block kind"),
        ("# T\n\n::: quiz Q\n- [x] Lie\n", "line 3: “::: quiz Q” is not closed"),
        ("# T\n\n::: library Nope\n:::\n", "line 3: there is no library block named “Nope”"),
        ("# T\n\n::: quiz Q\n- [A](https://a.example)\n- [B](https://b.example)\nR\n:::\n",
         "line 3: quiz block: headlines: Mark which headline is the lie."),
        ("# T\n\n::: quiz Q\n- [A](https://a.example)\n- [x] B\n- [C](nope)\nR\n:::\n",
         "line 6: quiz block: Item 3: “nope” is not a web address"),
        ("# T\n\n::: quiz Q\n- [A](https://a.example)\n- [x] B\n:::\n",
         "line 3: quiz block: reveal: This field is required."),
        ("---\nsender: me\n---\n# T\n\nText\n", "line 2: the front matter may only set"),
        ("# T\n\n::: button Go\nurl: https://g.example\ncolour: red\n:::\n",
         "line 5: “::: button” does not take “colour: red”; its lines: “url: …”"),
        ("# T\n\n::: quiz Q\n- [A](https://a.example)\n- [B](not a link\n:::\n",
         "line 5: an item must read"),
    ],
    ids=["unknown-kind", "unclosed", "no-library-block", "no-lie", "bad-source", "no-reveal",
         "front-matter", "stray-line", "bad-item"],
)  # fmt: skip
def test_bad_fenced_blocks_are_refused_with_the_line(db, tmp_path, newsletter, markdown, message):
    path = tmp_path / "bad.md"
    path.write_text(markdown, encoding="utf-8")
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_issue", str(path))
    assert not Issue.objects.exists()


def test_export_of_an_unknown_issue_is_refused(db):
    with pytest.raises(CommandError, match="No issue"):
        export("nope/nothing")


def test_the_editing_guides_example_imports_as_documented(db, tmp_path, newsletter):
    guide = Path(__file__).resolve().parents[2] / "docs" / "editing.md"
    example = re.search(r"````markdown\n(.*?)````", guide.read_text(encoding="utf-8"), re.S).group(
        1
    )
    (tmp_path / "chart.png").write_bytes(image_bytes((800, 400)))
    (tmp_path / "logo.png").write_bytes(image_bytes((200, 100)))
    make_library_block("Sign-off")
    (tmp_path / "issue.md").write_text(example, encoding="utf-8")
    call_command("import_issue", str(tmp_path / "issue.md"))
    issue = Issue.objects.get()
    assert issue.subject.startswith("🤖 This week") and issue.preheader
    kinds = [b.kind for b in issue.blocks.order_by("position")]
    assert kinds == [
        "markdown", "heading", "link_list", "image", "divider", "quiz", "quiz_result",
        "callout", "callout", "button", "sponsor", "image", Block.LIBRARY,
    ]  # fmt: skip


def test_the_demo_issue_survives_a_round_trip(db, tmp_path):
    call_command("load_demo", stdout=io.StringIO())
    demo = Issue.objects.get(status=Issue.Status.SENT)
    path = tmp_path / "demo.md"
    path.write_text(export(demo.pk), encoding="utf-8")
    call_command("import_issue", str(path), stdout=io.StringIO())
    copy = Issue.objects.order_by("-pk").first()
    assert copy.pk != demo.pk and len(content(copy)) == len(content(demo)) >= 15
    assert content(copy) == content(demo)
