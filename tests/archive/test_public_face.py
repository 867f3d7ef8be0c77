"""After sending, what the public sees (title, address, "show in archive", body) is the
snapshot's: saving changes the editor's copy; only a correction by someone who may send
publishes it. A changed address keeps the old one answering 301, through one Redirect
table that nothing else shadows and that never sends a visitor off the site."""

import feedparser
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from issues.archive.redirects import add_redirect
from issues.models import Issue, Redirect, Snapshot
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.composing import change_form_data
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent_issue(newsletter):
    return make_issue(newsletter, "Storm over the quay", frozen=True, days_ago=3)


def logged_in(client, user):
    assert client.login(username=user.username, password=STAFF_PASSWORD)
    return client


@pytest.fixture
def editor(client):
    """May change issues, may not send them."""
    return logged_in(client, staff("ed", "view_issue", "change_issue", "add_block", "change_block"))


@pytest.fixture
def publisher(django_user_model):
    from django.test import Client

    codenames = ("view_issue", "change_issue", "add_block", "change_block", "send_issue")
    return logged_in(Client(), staff("pia", *codenames))


def save(admin, issue, **fields):
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    data |= {"based_on_version": Issue.objects.get(pk=issue.pk).version, **fields}
    data = {k: v for k, v in data.items() if v is not None}
    response = admin.post(reverse("admin:issues_issue_change", args=[issue.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]


def correct(admin, issue):
    response = admin.post(reverse("admin:issues_issue_correct_web", args=[issue.pk]))
    assert response.status_code == 302


def public_titles(client):
    feed = feedparser.parse(client.get("/feed/").content)
    return {
        "archive": "Storm over the quay" in client.get("/archive/").content.decode(),
        "feed": [entry.title for entry in feed.entries],
        "search": "Storm over the quay" in client.get("/search/?q=quay").content.decode(),
    }


def test_an_editor_without_send_permission_changes_only_the_editors_copy(
    editor, sent_issue, newsletter
):
    from django.test import Client

    public = Client()
    old_url = sent_issue.get_absolute_url()
    before = public_titles(public)
    save(editor, sent_issue, title="Retitled quietly", slug="retitled", show_in_archive=None)

    saved = Issue.objects.get(pk=sent_issue.pk)
    assert (saved.title, saved.slug, saved.show_in_archive) == (
        "Retitled quietly",
        "retitled",
        False,
    )
    assert saved.get_absolute_url() == old_url
    page = public.get(old_url)
    assert page.status_code == 200 and "Storm over the quay" in page.content.decode()
    assert "Retitled quietly" not in page.content.decode()
    assert public.get(f"/{newsletter.slug}/retitled/").status_code == 404
    assert public_titles(public) == before
    # Nor may the editor publish it.
    assert (
        editor.post(reverse("admin:issues_issue_correct_web", args=[sent_issue.pk])).status_code
        == 403
    )


def test_a_correction_by_a_publisher_publishes_title_and_address_and_the_old_one_redirects(
    publisher, client, sent_issue, newsletter
):
    old_url = sent_issue.get_absolute_url()
    save(publisher, sent_issue, title="Calm after the storm", slug="calm")
    assert client.get(old_url).status_code == 200  # saved, not yet published

    correct(publisher, sent_issue)
    new_url = f"/{newsletter.slug}/calm/"
    assert Issue.objects.get(pk=sent_issue.pk).get_absolute_url() == new_url
    moved = client.get(old_url + "?utm_source=email")
    assert moved.status_code == 301 and moved["Location"] == new_url + "?utm_source=email"
    page = client.get(new_url).content.decode()
    assert "Calm after the storm" in page
    assert [e.title for e in feedparser.parse(client.get("/feed/").content).entries] == [
        "Calm after the storm"
    ]
    # Moving it again collapses the chain: the first address goes straight to the last.
    save(publisher, sent_issue, slug="calmer")
    correct(publisher, sent_issue)
    assert client.get(old_url)["Location"] == f"/{newsletter.slug}/calmer/"
    assert client.get(new_url)["Location"] == f"/{newsletter.slug}/calmer/"
    # And back: never a loop, the live address answers itself.
    save(publisher, sent_issue, slug="calm")
    correct(publisher, sent_issue)
    assert client.get(new_url).status_code == 200
    assert client.get(f"/{newsletter.slug}/calmer/")["Location"] == new_url
    assert client.get(old_url)["Location"] == new_url


def test_unticking_show_in_archive_takes_the_issue_down_only_when_corrected(
    publisher, client, sent_issue
):
    save(publisher, sent_issue, show_in_archive=None)
    assert client.get(sent_issue.get_absolute_url()).status_code == 200
    correct(publisher, sent_issue)
    assert client.get(sent_issue.get_absolute_url()).status_code == 404
    assert Snapshot.objects.get(issue=sent_issue).show_in_archive is False


def test_another_issue_cannot_take_a_published_address(publisher, sent_issue, newsletter):
    save(publisher, sent_issue, slug="moved-on")  # the public address is still the old one
    draft = make_issue(newsletter, "Next week")
    data = change_form_data(draft, [])
    data |= {"based_on_version": draft.version, "slug": sent_issue.slug}
    response = publisher.post(reverse("admin:issues_issue_change", args=[draft.pk]), data)
    assert response.status_code == 200
    assert "is the public address of" in response.content.decode()


def test_redirects_collapse_chains_and_never_loop():
    add_redirect("/weekly/a/", "/weekly/b/")
    add_redirect("/weekly/b/", "/weekly/c/")
    assert dict(Redirect.objects.values_list("old_path", "new_path")) == {
        "/weekly/a/": "/weekly/c/",
        "/weekly/b/": "/weekly/c/",
    }
    add_redirect("/weekly/c/", "/weekly/a/")
    assert dict(Redirect.objects.values_list("old_path", "new_path")) == {
        "/weekly/b/": "/weekly/a/",
        "/weekly/c/": "/weekly/a/",
    }
    add_redirect("/weekly/b/", "/weekly/d/")  # the same old path: replaced, still unique
    assert Redirect.objects.get(old_path="/weekly/b/").new_path == "/weekly/d/"


@pytest.mark.parametrize(
    "target",
    ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:alert(1)", "x/"],
)
def test_a_redirect_target_is_a_path_on_this_site(target):
    with pytest.raises(ValidationError):
        add_redirect("/weekly/a/", target)
    assert not Redirect.objects.exists()


def test_a_redirect_never_shadows_a_real_page(client, sent_issue):
    add_redirect(sent_issue.get_absolute_url(), "/archive/")
    add_redirect("/search/", "/archive/")
    assert client.get(sent_issue.get_absolute_url()).status_code == 200
    assert client.get("/search/").status_code == 200
    add_redirect("/p/old-post", "/archive/")
    assert client.get("/p/old-post")["Location"] == "/archive/"
    # A row written past add_redirect still sends nobody elsewhere.
    Redirect.objects.create(old_path="/p/sneaky", new_path="//evil.example/")
    assert "evil" not in str(client.get("/p/sneaky", follow=True).redirect_chain)


def test_redirects_are_edited_in_the_admin_by_those_who_may_publish(
    publisher, editor, admin_client
):
    add_url = reverse("admin:issues_redirect_add")
    assert editor.get(add_url).status_code == 403
    refused = publisher.post(add_url, {"old_path": "/p/old", "new_path": "https://evil.example/"})
    assert refused.status_code == 200 and not Redirect.objects.exists()
    assert (
        publisher.post(add_url, {"old_path": "/p/old", "new_path": "/archive/"}).status_code == 302
    )
    assert Redirect.objects.get().new_path == "/archive/"


@pytest.mark.slow  # migrating back and forth spends seconds
@pytest.mark.django_db(transaction=True)
def test_issues_sent_before_the_migration_keep_their_public_face(migrate):
    old = migrate([("issues", "0018_new_issue_autosave")])
    newsletter = old.get_model("issues", "Newsletter").objects.create(
        slug="signals", name="Signals", from_name="Signals", from_email="s@example.org"
    )
    issues_then = old.get_model("issues", "Issue")
    for number, shown in ((1, True), (2, False)):
        issue = issues_then.objects.create(
            newsletter=newsletter, title=f"Old {number}", slug=f"old-{number}", number=number,
            status="sent", show_in_archive=shown,
        )  # fmt: skip
        old.get_model("issues", "Snapshot").objects.create(
            issue=issue, subject=issue.title, web_html="<p>Kept.</p>", email_html="", text=""
        )

    new = migrate([("issues", "0019_snapshot_public_face_and_redirects")])
    faces = new.get_model("issues", "Snapshot").objects.order_by("issue__number")
    assert [(s.title, s.slug, s.show_in_archive) for s in faces] == [
        ("Old 1", "old-1", True),
        ("Old 2", "old-2", False),
    ]
