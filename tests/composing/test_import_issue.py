"""import_issue turns a Markdown file into a draft issue, or explains why it cannot."""

import re

import pytest
from django.core.management import CommandError, call_command

from issues.compose.rendering import render_issue
from issues.models import Block, Issue, Newsletter
from tests.support.composing import image_bytes
from tests.support.factories import make_newsletter

SENTENCES = [
    "Small models had a good week, and the benchmarks finally show why.",
    "Most of the gain came from cleaner data rather than clever architecture.",
    "Teams that filtered their training sets twice saw fewer odd failures in production.",
    "Nobody agrees yet on how to measure reasoning, so read every leaderboard with care.",
    "A model that explains its steps is easier to check, even when it is wrong.",
    "Hardware remains the bottleneck: memory bandwidth matters more than raw compute.",
    "Open weights let researchers reproduce results that used to live behind an API.",
    "Licences differ in the details, and the details decide what a startup may ship.",
    "Evaluation sets leak into training data more often than anyone likes to admit.",
    "The quiet story of the month is tooling: better debuggers for neural networks.",
    "Robots still struggle with soft objects, which is why laundry is a favourite demo.",
    "Weather models trained on decades of records now rival physics-based forecasts.",
]
SECTIONS = [
    "📰 News", "Papers", "Explainer: distillation", "Explainer: retrieval", "Tools",
    "Interview", "Resources", "Just for fun", "Before you go",
]  # fmt: skip


def realistic_issue(folder, words=2000):
    """An issue of ``words``+ words in nine sections: prose, link lists, subheadings, an image."""
    (folder / "chart.png").write_bytes(image_bytes((800, 400)))
    lines = ["# The long read: what moved in machine learning", ""]
    count, n = 0, 0
    while count < words:
        for section in SECTIONS:
            lines += [f"## {section}", ""]
            for _ in range(3):
                paragraph = " ".join(SENTENCES[(n + i) % len(SENTENCES)] for i in range(4))
                n += 1
                count += len(paragraph.split())
                lines += [paragraph, ""]
            lines += ["### What the results say", "", "- Cheaper to run", "- Easier to check", ""]
            lines += [
                f"- [Read more on {section}](https://example.org/{n}) — a one-line note",
                f"- [A second source](https://example.org/{n}/b): another note",
                "",
            ]
            if section == "Just for fun":
                lines += ['![A bar chart of hype](chart.png "Hype, measured")', ""]
    path = folder / "issue.md"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def test_imports_a_realistic_2000_word_issue_with_nine_sections(db, tmp_path, capsys):
    newsletter = make_newsletter()
    path = realistic_issue(tmp_path)
    assert len(path.read_text().split()) >= 2000
    call_command("import_issue", str(path))
    issue = Issue.objects.get()
    assert f"id {issue.pk}" in capsys.readouterr().out
    assert issue.newsletter == newsletter and issue.title.startswith("The long read")
    kinds = list(issue.blocks.values_list("kind", flat=True))
    assert kinds.count("heading") >= 9 and kinds.count("link_list") >= 9
    assert {"markdown", "image"} <= set(kinds)
    heading = issue.blocks.filter(kind="heading").first()
    assert heading.data == {"title": "News", "emoji": "📰"}
    links = issue.blocks.filter(kind="link_list").first().data["items"]
    assert links[0]["note"] == "a one-line note" and links[1]["note"] == "another note"
    rendered = render_issue(issue)
    assert len(rendered.headings) >= 9
    assert "Read more on Papers <https://example.org/" in rendered.text
    assert "<h3>What the results say</h3>" in rendered.web_html


def test_newsletter_is_created_from_settings_when_there_is_none(db, tmp_path, settings):
    settings.DEFAULT_FROM_EMAIL = "Morning Notes <notes@example.org>"
    path = tmp_path / "a.md"
    path.write_text("# Hello\n\nSome text.\n")
    call_command("import_issue", str(path))
    newsletter = Newsletter.objects.get()
    assert (newsletter.slug, newsletter.from_email) == ("morning-notes", "notes@example.org")


@pytest.mark.parametrize(
    "content, message",
    [
        (b"Just text, no title.\n", "the first line must be the title"),
        (b"\x89PNG\r\n\x1a\n\0\0\0binary", "is a binary file"),
        (b"# T\n\nSee [this](https://example.org and more.\n", "line 3: a link is opened"),
        (
            b"# T\n\n- [Good](https://a.example)\n- [Bad]](nowhere)\n",
            "line 4: link_list block: Item 2: “nowhere” is not a web address",
        ),
        (b"# T\n\n- [Bad](not a url)\n", "line 3: a link list item"),
        (b"# T\n\n![Missing](nope.png)\n", "image “nope.png” is not a file"),
        (b"# T\n\n\xff\xfe broken", "is not UTF-8 text"),
        (b"# Only a title\n", "nothing after the title"),
    ],
    ids=["no-title", "binary", "open-link", "bad-item", "bad-url", "no-image", "encoding", "empty"],
)
def test_bad_input_is_refused_clearly_and_creates_nothing(db, tmp_path, content, message):
    make_newsletter()
    path = tmp_path / "bad.md"
    path.write_bytes(content)
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("import_issue", str(path))
    assert not Issue.objects.exists() and not Block.objects.exists()


def test_unknown_or_ambiguous_newsletter_is_refused(db, tmp_path):
    make_newsletter("one")
    make_newsletter("two")
    path = tmp_path / "a.md"
    path.write_text("# Hello\n\nText.\n")
    with pytest.raises(CommandError, match="Several newsletters exist.*one, two"):
        call_command("import_issue", str(path))
    with pytest.raises(CommandError, match="no newsletter with the slug “three”"):
        call_command("import_issue", str(path), newsletter="three")
    call_command("import_issue", str(path), newsletter="two")
    assert Issue.objects.get().newsletter.slug == "two"
