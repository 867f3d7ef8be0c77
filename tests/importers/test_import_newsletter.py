"""import_newsletter: another platform's posts become sent issues at their dates, never mailed."""

import io
import re
import zipfile
from datetime import UTC, datetime

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from issues.models import Delivery, Dispatch, ImportedPost, Issue, Redirect
from tests.importers.conftest import FIXTURES, zip_of
from tests.support.composing import image_bytes
from tests.support.factories import make_issue


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_newsletter", *map(str, args), stdout=out)
    return out.getvalue()


def nobody_was_mailed():
    assert mail.outbox == []
    assert not Dispatch.objects.exists()
    assert not Delivery.objects.exists()


@pytest.mark.django_db
def test_substack_export_arrives_sent_at_its_dates_in_archive_feed_sitemap_and_search(
    client, newsletter, substack_zip
):
    newer = make_issue(newsletter, "Written here last week", frozen=True, days_ago=7)
    out = run("substack", substack_zip, "--newsletter", newsletter.slug)

    assert "Imported from substack: 2 sent issues at their original dates, 2 drafts" in out
    assert "image kept at its remote address: https://substackcdn.example/image/chart.png" in out
    assert "removed (not safe in an issue): 1 script" in out
    assert "blocks: 1 button, 1 callout, 1 divider, 2 heading, 2 link_list, 3 markdown" in out
    charts = Issue.objects.get(title="Models that read charts")
    assert charts.status == Issue.Status.SENT
    assert charts.published_at == datetime(2023, 1, 9, 14, 0, 12, 431000, tzinfo=UTC)
    assert charts.snapshot.slug == "models-that-read-charts"
    kinds = list(charts.blocks.order_by("position").values_list("kind", flat=True))
    assert kinds == [
        "markdown", "heading", "link_list", "markdown", "heading", "link_list", "callout",
        "divider", "markdown", "button",
    ]  # fmt: skip
    paid = Issue.objects.get(title="Inside the eval lab")
    draft = Issue.objects.get(title="Notes for next week")
    assert paid.status == draft.status == Issue.Status.DRAFT
    nobody_was_mailed()

    archive = client.get("/archive/").content.decode()
    titles = re.findall(r"Written here last week|The GPU queue|Models that read charts", archive)
    assert list(dict.fromkeys(titles)) == [
        "Written here last week", "The GPU queue", "Models that read charts"
    ]  # fmt: skip
    assert "Inside the eval lab" not in archive and "Notes for next week" not in archive
    assert "Written here last week" in client.get("/").content.decode()  # still the newest

    page = client.get(charts.get_absolute_url()).content.decode()
    assert "Top stories" in page and "https://example.com/chart-reader" in page
    assert re.search(r'<img[^>]+src="https://substackcdn\.example/image/chart\.png"', page)
    assert "stolen cookies" not in page and "<script>alert" not in page
    queue = client.get(Issue.objects.get(title="The GPU queue").get_absolute_url())
    assert "javascript:" not in queue.content.decode() and "onclick" not in queue.content.decode()

    feed = client.get("/feed/").content.decode()
    assert (
        feed.index("Written here last week")
        < feed.index("The GPU queue")
        < feed.index("Models that read charts")
    )
    assert "Mon, 09 Jan 2023" in feed
    assert charts.get_absolute_url() in client.get("/sitemap.xml").content.decode()
    assert "The GPU queue" in client.get("/search/", {"q": "ablations"}).content.decode()

    old = client.get("/p/models-that-read-charts")
    assert old.status_code == 301 and old["Location"] == charts.get_absolute_url()
    assert client.get("/p/inside-the-eval-lab", follow=True).status_code == 404  # a draft: no page
    assert newer.get_absolute_url() in client.get("/").content.decode()


@pytest.mark.django_db
def test_running_twice_imports_nothing_twice_and_says_so(newsletter, substack_zip):
    run("substack", substack_zip)
    issues, redirects = Issue.objects.count(), Redirect.objects.count()
    again = run("substack", substack_zip)
    assert "Imported from substack: 0 sent issues at their original dates, 0 drafts; " in again
    assert "4 already here" in again
    assert again.count("imported before") == 4
    assert (Issue.objects.count(), Redirect.objects.count()) == (issues, redirects)
    assert ImportedPost.objects.filter(platform="substack").count() == 4


@pytest.mark.django_db
def test_dry_run_reports_the_import_and_changes_nothing(newsletter, substack_zip):
    out = run("substack", substack_zip, "--dry-run")
    assert "Would import from substack: 2 sent issues at their original dates, 2 drafts" in out
    assert "Dry run: nothing was changed." in out
    assert not Issue.objects.exists() and not Redirect.objects.exists()
    assert not ImportedPost.objects.exists()


@pytest.mark.django_db
def test_ghost_export_html_and_lexical_posts_arrive_and_old_links_redirect(
    client, newsletter, ghost_json
):
    out = run("ghost", ghost_json)
    assert "Imported from ghost: 2 sent issues at their original dates, 2 drafts" in out
    assert not Issue.objects.filter(title="About").exists()  # a page, not a post
    lexical = Issue.objects.get(title="Robots and laundry")
    assert lexical.status == Issue.Status.SENT
    heading = lexical.blocks.get(kind="heading")
    assert heading.data == {"title": "Folding", "emoji": "🧺"}
    links = lexical.blocks.get(kind="link_list").data["items"]
    assert links[0] == {
        "title": "The folding robot paper",
        "url": "https://example.com/folding-robot",
        "note": "twelve shirts an hour",
    }
    page = client.get("/robots-and-laundry/", follow=True)
    assert page.redirect_chain == [(lexical.get_absolute_url(), 301)]
    assert "Soft grippers" in page.content.decode()
    rag = Issue.objects.get(title="Retrieval, plainly")
    assert rag.preheader == "Retrieval-augmented generation in one page"
    assert rag.blocks.filter(kind="callout").exists()
    assert Issue.objects.get(title="Members-only: the compute bill").status == Issue.Status.DRAFT
    assert "image “/content/images/2023/02/index.png” is not a web address: left out" in out
    nobody_was_mailed()


@pytest.mark.django_db
def test_buttondown_markdown_splits_like_import_issue_and_raw_html_is_sanitized(
    client, newsletter, buttondown_zip
):
    out = run("buttondown", buttondown_zip)
    assert "Imported from buttondown: 2 sent issues at their original dates, 0 drafts" in out
    agents = Issue.objects.get(title="Agents that book meetings")
    kinds = list(agents.blocks.order_by("position").values_list("kind", flat=True))
    assert kinds == ["markdown", "heading", "link_list", "heading", "markdown"]
    assert agents.blocks.filter(kind="heading").first().data["emoji"] == "🔗"
    phones = Issue.objects.get(title="Small models on small phones")
    assert agents.published_at < phones.published_at and agents.number < phones.number
    page = client.get(phones.get_absolute_url()).content.decode()
    assert "A boxed aside about battery life." in page
    assert "evil.example" not in page and "<script" not in page.split("</head>")[1]
    assert "Small is the new large." in page
    old = client.get("/archive/agents-that-book-meetings/")
    assert old.status_code == 301 and old["Location"] == agents.get_absolute_url()
    nobody_was_mailed()


@pytest.mark.django_db
def test_an_old_address_another_import_claimed_is_reported_as_a_conflict(
    newsletter, second_newsletter, substack_zip, tmp_path
):
    run("substack", substack_zip, "--newsletter", newsletter.slug)
    other = zip_of(
        tmp_path / "other-publication.zip",
        {
            "posts.csv": "post_id,post_date,is_published,audience,title\n"
            "900.models-that-read-charts,2024-05-01T10:00:00Z,true,everyone,Charts again\n",
            "posts/900.models-that-read-charts.html": "<p>Another take on charts.</p>",
        },
    )
    out = run("substack", other, "--newsletter", second_newsletter.slug)
    assert "conflict: /p/models-that-read-charts already leads to /ai-weekly/" in out
    assert "1 old addresses in conflict" in out
    assert Issue.objects.get(title="Charts again").status == Issue.Status.SENT
    assert Redirect.objects.get(old_path="/p/models-that-read-charts").new_path.startswith(
        "/ai-weekly/"
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    "members, said",
    [
        ({"../../etc/passwd": "x", "posts.csv": "post_id\n"}, "outside its folder: refused"),
        ({"/abs/posts.csv": "post_id\n"}, "outside its folder: refused"),
        ({"posts.csv": "post_id\n", "bomb.txt": b"\0" * (8 * 1024 * 1024)}, "zip bomb"),
        ({"notes.txt": "hello"}, "it has no posts.csv"),
    ],
)
def test_a_hostile_or_wrong_export_is_refused_with_a_clear_message(
    newsletter, tmp_path, members, said
):
    path = zip_of(tmp_path / "export.zip", members)
    with pytest.raises(CommandError, match=re.escape(said)):
        run("substack", path)
    assert not Issue.objects.exists()


@pytest.mark.django_db
def test_an_oversized_member_is_refused_before_it_is_inflated(newsletter, tmp_path, monkeypatch):
    monkeypatch.setattr("issues.importers.exports.MAX_MEMBER_BYTES", 1000)
    path = zip_of(tmp_path / "export.zip", {"posts.csv": "post_id\n" + "1.a\n" * 400})
    with pytest.raises(CommandError, match="more than the 0 MB one file may be"):
        run("substack", path)


@pytest.mark.django_db
def test_images_the_export_carries_become_stored_image_blocks(client, newsletter, tmp_path):
    export = tmp_path / "ghost-with-images.zip"
    with zipfile.ZipFile(export, "w") as archive:
        archive.write(FIXTURES / "ghost" / "ai-weekly.ghost.2023-03-01.json", "ai-weekly.json")
        archive.writestr("content/images/2023/02/index.png", image_bytes((640, 320)))
    out = run("ghost", export)
    assert "image kept at its remote address" not in out
    rag = Issue.objects.get(title="Retrieval, plainly")
    image = rag.blocks.get(kind="image").data
    assert image["alt"] == "An index diagram" and image["caption"] == "How an index is built."
    assert image["image"]["width"] == 640
    page = client.get(rag.get_absolute_url()).content.decode()
    assert "/media/" in page and "How an index is built." in page
