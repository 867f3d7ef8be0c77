"""The flagship: an editor rebuilds a whole weekly issue from scratch in the admin.

About 25 blocks of every kind (intro, emoji section heads, link lists with notes, a headline
quiz, long explainers with a numbered list, an uploaded image, resources, a library sign-off),
added through the one toolbar, one of them inserted in the middle; two blocks swapped; the
live preview followed as it changes; saved; reloaded; every block found in order.
"""

import pytest

from issues.models import Block, Issue
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import (
    add_seed_shaped_blocks,
    image_bytes,
    make_library_block,
    stream_content,
)
from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

EXPLAINER = (
    "Why does a queue stall on a Friday? Three habits keep ours moving:\n\n"
    "1. Watch the oldest message, not the count.\n"
    "2. Give every retry a ceiling and some jitter.\n"
    "3. Let a slow consumer fall behind without taking the rest with it.\n\n"
    "None of this is new; all of it is easy to forget when the graphs look calm."
)

# (kind, values) in reading order; values name form fields (item rows: lists of parts).
SEED = [
    ("markdown", {"body": "Morning! This week: quieter queues, a paper on retries, and a quiz."}),
    ("heading", {"title": "News", "emoji": "🗞"}),
    ("link_list", {"items": [
        ("Postgres 18 lands with async reads", "https://news.example/pg18", "Faster scans."),
        ("A mail provider retires its old API", "https://news.example/api", "Migrate by spring."),
        ("Browsers agree on a colour syntax", "https://news.example/css", "Dark mode, easier."),
        ("The tiny web server that could", "https://news.example/tiny", "Fits on a floppy."),
    ]}),
    ("heading", {"title": "Papers", "emoji": "📄"}),
    ("link_list", {"items": [
        ("Backoff that does not stampede", "https://papers.example/backoff", "Jitter, proved."),
        ("Exactly-once is a lie we tell kindly", "https://papers.example/once", "A gentle survey."),
        ("Measuring the cost of a cold cache", "https://papers.example/cold", "Numbers, at last."),
    ]}),
    ("quiz", {"headlines": [
        ("City installs benches that charge phones", "https://quiz.example/bench"),
        ("Library lends out thunderstorms", ""),
        ("Bakery powers its ovens with old bread", "https://quiz.example/bread"),
        ("Ferry gets a rooftop garden", "https://quiz.example/ferry"),
    ], "lie": 1, "reveal": "No library lends **weather** (yet): that one was made up."}),
    ("heading", {"title": "Explainers", "emoji": "🔬"}),
    ("markdown", {"body": EXPLAINER}),
    ("image", {"alt": "A conveyor belt of parcels, seen from above",
               "caption": "The sorting room at dawn", "credit": "Photo: the editors"}),
    ("callout", {"style": "note", "text": "Retries are cheap. Duplicates are not."}),
    ("markdown", {"body": EXPLAINER.replace("queue", "cache")}),
    ("divider", {}),
    ("heading", {"title": "Resources", "emoji": "🧰"}),
    ("link_list", {"items": [
        ("A field guide to idempotency keys", "https://tools.example/keys", "Short and practical."),
        ("Load testing with a laptop", "https://tools.example/load", "No cluster needed."),
        ("Reading flame graphs", "https://tools.example/flame", "Twenty minutes well spent."),
    ]}),
    ("button", {"label": "Browse the archive", "url": "https://weekly.example/archive/"}),
    ("sponsor", {"name": "Quiet Queue Co", "text": "Queues that **never** page you at night.",
                 "url": "https://sponsor.example"}),
    ("callout", {"style": "quote", "text": "Make it work, make it right, make it fast.",
                 "attribution": "An old saying"}),
    ("markdown", {"body": "A short aside on *naming things*: [a good essay](https://essay.example)."}),
    ("heading", {"title": "Elsewhere", "emoji": "🌍"}),
    ("link_list", {"items": [
        ("A map of every lighthouse", "https://else.example/lights", "Zoom in on the coast."),
        ("The slowest river race", "https://else.example/river", "Three days, one winner."),
    ]}),
    ("markdown", {"body": "That is all for this week. Reply and tell us what to cover next."}),
    ("button", {"label": "Tell a friend", "url": "https://weekly.example/subscribe/"}),
    ("divider", {}),
    ("library", {"name": "Sign-off"}),
]  # fmt: skip

INSERTED = ("markdown", {"body": "Late news: the office plant survived the holidays."})


def fill_block(page, n, kind, values, image_path):
    """Fill block ``n`` (form index) of ``kind`` as an editor would, field by field."""
    field = f"blocks-{n}-{kind}__"
    if kind == "library":
        page.select_option(f'[name="blocks-{n}-library_block"]', label=values["name"])
        return
    for name, value in values.items():
        if name in ("items", "headlines"):
            rows = f'[name^="{field}{name}-"][name$="-title"]'
            while page.locator(f"#blocks-{n} {rows}").count() < len(value):
                page.click(f"#blocks-{n} .sf-item-add")
            for r, parts in enumerate(value):
                for part, text in zip(("title", "url", "note"), parts, strict=False):
                    if text:
                        page.fill(f'[name="{field}{name}-{r}-{part}"]', text)
        elif name == "lie":
            page.check(f'[name="{field}headlines-pick"][value="{value}"]')
        elif name == "style":
            page.select_option(f'[name="{field}style"]', value)
        else:
            page.fill(f'[name="{field}{name}"]', value)
    if kind == "image":
        page.set_input_files(f'[name="{field}image"]', str(image_path))


def preview_text(page) -> str:
    return page.evaluate(
        "document.querySelector('.sf-live-frame').contentDocument.body?.innerText || ''"
    )


def wait_for_preview(page, *texts):
    """Until the live preview is up to date and shows every one of ``texts``, in that order."""
    page.wait_for_selector(".sf-live:not(.sf-live-busy)", timeout=15_000)
    page.wait_for_function(
        """texts => {
            const doc = document.querySelector('.sf-live-frame').contentDocument;
            const body = doc && doc.body ? doc.body.innerText : '';
            let at = -1;
            return texts.every(t => (at = body.indexOf(t, at + 1)) >= 0);
        }""",
        arg=list(texts),
        timeout=15_000,
    )


def shot(page, artifacts_dir, name, **options):
    page.screenshot(path=artifacts_dir / f"seed-issue-{name}.png", **options)


def test_editor_rebuilds_the_seed_issue_with_a_live_preview(
    live_server, page, artifacts_dir, django_user_model, settings, tmp_path
):
    settings.SITE_URL = live_server.url
    newsletter = make_newsletter()
    make_library_block(name="Sign-off", body="Thanks for reading. See you next Tuesday.")
    image_path = tmp_path / "parcels.png"
    image_path.write_bytes(image_bytes((1200, 675), colour="#6b8e23"))
    make_editor(django_user_model)
    page.set_viewport_size({"width": 1600, "height": 1000})
    log_into_admin(page, live_server.url)

    page.goto(f"{live_server.url}/admin/issues/issue/add/")
    page.select_option("#id_newsletter", str(newsletter.pk))
    page.fill("#id_title", "Quiet queues and a library of storms")
    page.fill("#id_subject", "Quiet queues, a quiz, and storms on loan")

    # One way of adding blocks: the toolbar; Django's generic "Add another" link is gone.
    assert page.locator(".sf-toolbar").count() == 1
    assert page.locator(".add-row, .addlink").count() == 0
    for n, (kind, values) in enumerate(SEED):
        page.click(f".sf-toolbar button.sf-add-{kind}")
        fill_block(page, n, kind, values, image_path)
    wait_for_preview(page, "Morning!", "Thanks for reading.")
    shot(page, artifacts_dir, "editor-email-600")

    # Insert a block in the middle: "+" on the Papers heading puts the toolbar above it.
    page.click("#blocks-3 .sf-insert")
    page.click(".sf-toolbar button.sf-add-markdown")
    fill_block(page, len(SEED), *INSERTED, image_path)
    page.click(".sf-toolbar .sf-toolbar-home")
    wait_for_preview(page, "Fits on a floppy.", "Late news", "Papers")

    # Swap two blocks: the quiz moves above the Papers heading; the preview follows.
    wait_for_preview(page, "Papers", "Library lends out thunderstorms")
    page.click("#blocks-5 .sf-move-up")
    page.click("#blocks-5 .sf-move-up")
    page.click("#blocks-5 .sf-move-up")  # above the link list, the heading, the inserted note
    wait_for_preview(page, "Library lends out thunderstorms", "Late news", "Papers")
    page.locator("#blocks-5").scroll_into_view_if_needed()
    shot(page, artifacts_dir, "editor-after-swap")

    page.click(".sf-live-view[data-view='email-375']")
    page.check(".sf-live-dark")
    wait_for_preview(page, "Morning!", "Thanks for reading.")
    page.click(".sf-collapse-all")
    assert not page.is_visible('[name="blocks-0-markdown__body"]')
    shot(page, artifacts_dir, "collapsed-email-375-dark")
    page.click(".sf-expand-all")
    assert page.is_visible('[name="blocks-0-markdown__body"]')
    page.click(".sf-live-view[data-view='web']")
    wait_for_preview(page, "Morning!", "Thanks for reading.", "Subscribe")
    shot(page, artifacts_dir, "editor-web")

    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success", timeout=30_000)
    page.reload()
    shot(page, artifacts_dir, "saved-and-reloaded")

    issue = Issue.objects.get(title="Quiet queues and a library of storms")
    expected = [kind for kind, _ in SEED]
    quiz = expected.pop(5)
    expected.insert(3, INSERTED[0])
    expected.insert(3, quiz)
    blocks = list(issue.blocks.order_by("position"))
    assert [b.kind for b in blocks] == expected
    assert len(blocks) == 25
    on_page = page.eval_on_selector_all(
        ".sf-block select[name$='-kind']", "selects => selects.map(s => s.value)"
    )
    assert on_page == expected
    quiz_block = blocks[3]
    assert quiz_block.data["fake"] == 2 and len(quiz_block.data["headlines"]) == 4
    image_block = next(b for b in blocks if b.kind == "image")
    assert image_block.data["image"]["width"] == 1200
    assert blocks[-1].library_block.name == "Sign-off" and blocks[-1].kind == Block.LIBRARY
    text = [b.data.get("body", "") for b in blocks if b.kind == "markdown"]
    assert text[1].startswith("Late news") and "1. Watch the oldest message" in text[2]

    # The saved issue opens with its live preview already showing it.
    wait_for_preview(page, "Morning!", "Library lends out thunderstorms", "Late news", "Papers")
    shot(page, artifacts_dir, "reloaded-email-600")


def test_a_100_block_issue_opens_reorders_and_saves_in_the_browser(
    live_server, page, artifacts_dir, django_user_model, settings
):
    settings.SITE_URL = live_server.url
    issue = make_issue(make_newsletter(), "A hundred blocks")
    add_seed_shaped_blocks(issue, count=100)
    before = stream_content(issue)
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/change/")
    assert page.locator(".sf-block").count() == 100

    page.click("#blocks-0 .sf-move-down")  # the intro swaps with the News heading
    page.click(".sf-collapse-all")
    shot(page, artifacts_dir, "100-blocks-collapsed")
    with page.expect_request(lambda r: r.method == "POST" and "/change/" in r.url) as posted:
        page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success", timeout=30_000)

    assert len(posted.value.post_data_buffer) > 0
    assert stream_content(issue) == [before[1], before[0], *before[2:]]
