"""Never lose work, through the admin as editors post it: versions, drafts, revisions."""

import html
import json
import re
import threading
import time
from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.core.files.storage import default_storage
from django.db import OperationalError, close_old_connections, connection, transaction
from django.urls import reverse
from django.utils.html import strip_tags

from issues import delivery
from issues.compose import revisions, uploads
from issues.compose.rendering import render_issue
from issues.models import Autosave, Issue, Revision
from tests.support.composing import (
    add_block,
    add_seed_shaped_blocks,
    as_readers_see,
    change_form_data,
    image_bytes,
    make_library_block,
    place,
    upload,
)
from tests.support.forms import as_post_data, submitted_fields


def url(name, *args):
    return reverse(f"admin:issues_issue_{name}", args=args)


def opened_version(client, issue) -> int:
    """The version the change page's form carries, as the browser would post it back."""
    page = client.get(url("change", issue.pk)).content.decode()
    return int(re.search(r'name="based_on_version" value="(\d+)"', page).group(1))


def form_data(issue, **changes):
    """The change form's POST for the issue as stored, with ``changes``."""
    blocks = list(issue.blocks.order_by("position"))
    data = change_form_data(issue, blocks)
    for n, block in enumerate(blocks):
        if block.library_block_id:
            data[f"blocks-{n}-library_block"] = block.library_block_id
    return data | changes


def save(client, issue, *, based_on_version, **changes):
    data = form_data(issue, based_on_version=based_on_version, **changes)
    return client.post(url("change", issue.pk), data)


@pytest.fixture
def colleague(django_user_model):
    return django_user_model.objects.create_superuser("bea", "bea@example.org", "pw-bea-12345")


@pytest.fixture
def viewer(django_user_model):
    """Staff who may look at issues but not change them."""
    user = django_user_model.objects.create_user("vic", "vic@example.org", "pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_issue"))
    return user


def test_each_save_keeps_a_revision_saying_what_changed(admin_client, issue, admin_user):
    intro = add_block(issue, "markdown", {"body": "Hello"})
    add_block(issue, "markdown", {"body": "Second"})
    version = opened_version(admin_client, issue)
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    data |= {
        "based_on_version": version,
        "title": "A new title",
        "blocks-0-markdown__body": "Hello, edited",
        "blocks-TOTAL_FORMS": 3,
        "blocks-2-kind": "markdown",
        "blocks-2-position": 3,
        "blocks-2-markdown__body": "Added at the end",
    }
    assert admin_client.post(url("change", issue.pk), data).status_code == 302

    revision = Revision.objects.get(issue=issue)
    assert revision.summary == "Edited 1 block, added 1, title changed"
    assert revision.author == admin_user and revision.number == version + 1
    assert "Hello, edited" in revision.text and "Added at the end" in revision.text
    issue.refresh_from_db()
    assert issue.version == version + 1 and issue.title == "A new title"
    intro.refresh_from_db()
    assert intro.data["body"] == "Hello, edited"


def test_saving_over_a_newer_version_is_refused_and_keeps_the_refused_text(
    client, admin_client, issue, colleague
):
    add_block(issue, "markdown", {"body": "Original"})
    client.force_login(colleague)
    hers = opened_version(client, issue)
    mine = opened_version(admin_client, issue)
    assert save(client, issue, based_on_version=hers, title="Bea's title").status_code == 302

    refused = save(admin_client, issue, based_on_version=mine, title="My title")
    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Not saved: bea saved a newer version (version 2)" in page
    assert "My title" in page  # the form comes back with my work in it
    issue.refresh_from_db()
    assert issue.title == "Bea's title"  # hers is not overwritten
    draft = Autosave.objects.get(issue=issue, user__username="admin")
    assert draft.data["title"] == ["My title"] and draft.based_on_version == mine

    # On the next visit my draft is there, with the conflict, a compare link and a choice.
    again = admin_client.get(url("change", issue.pk)).content.decode()
    assert "Not saved: bea saved version" in again and 'value="My title"' in again
    compare = admin_client.get(url("compare", issue.pk), {"from": issue.version, "to": "draft"})
    sides = html.unescape(strip_tags(compare.content.decode()))
    assert "Title: Bea's title" in sides and "Title: My title" in sides

    # Ticking "save my version over" is a deliberate choice, and it saves.
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    data |= {"based_on_version": mine, "replace_version": issue.version, "title": "My title"}
    assert admin_client.post(url("change", issue.pk), data).status_code == 302
    issue.refresh_from_db()
    assert issue.title == "My title"
    assert not Autosave.objects.filter(issue=issue).exists()


@pytest.mark.django_db(transaction=True)
def test_two_saves_at_once_from_one_version_let_exactly_one_through(issue):
    """The version check is one conditional UPDATE: concurrent claims cannot both win."""
    start = threading.Barrier(2, timeout=10)
    outcomes = []

    def claim():
        try:
            start.wait()
            with transaction.atomic():
                revisions.claim_version(Issue.objects.get(pk=issue.pk), expected=1)
                start_time_to_overlap = threading.Event()
                start_time_to_overlap.wait(0.3)  # hold the claim while the other one tries
            outcomes.append("saved")
        except revisions.VersionConflict:
            outcomes.append("refused")
        except OperationalError:  # SQLite: the other writer holds the database
            outcomes.append("refused")
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=claim) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=20)
    assert sorted(outcomes) == ["refused", "saved"]
    issue.refresh_from_db()
    assert issue.version == 2


def test_an_instance_loaded_before_a_save_cannot_write_an_older_version_back(issue):
    stale = Issue.objects.get(pk=issue.pk)
    revisions.claim_version(issue, expected=1)
    stale.title = "Changed elsewhere"
    stale.save()
    issue.refresh_from_db()
    assert issue.version == 2 and issue.title == "Changed elsewhere"


def autosave(client, issue, fields):
    return client.post(
        url("autosave", issue.pk),
        json.dumps({"fields": fields}),
        content_type="application/json",
    )


def test_autosave_keeps_an_invalid_form_and_the_change_page_brings_it_back(admin_client, issue):
    add_block(issue, "markdown", {"body": "Saved text"})
    fields = [[k, str(v)] for k, v in change_form_data(issue, list(issue.blocks.all())).items()]
    fields = [[k, "Typed, not saved" if k == "blocks-0-markdown__body" else v] for k, v in fields]
    fields = [[k, "" if k == "title" else v] for k, v in fields]  # not valid: no title
    answer = autosave(admin_client, issue, fields + [["csrfmiddlewaretoken", "x"]])
    assert answer.status_code == 200 and "saved_at" in answer.json()
    assert "csrfmiddlewaretoken" not in Autosave.objects.get().data

    page = admin_client.get(url("change", issue.pk)).content.decode()
    assert "You have unsaved changes" in page and "Typed, not saved" in page
    assert issue.blocks.get().data["body"] == "Saved text"  # nothing saved for real

    admin_client.post(url("discard_draft", issue.pk))
    page = admin_client.get(url("change", issue.pk)).content.decode()
    assert "Typed, not saved" not in page and "Saved text" in page


def test_a_draft_is_its_editors_own(client, admin_client, issue, colleague):
    autosave(admin_client, issue, [["title", "Admin's unsaved title"]])
    client.force_login(colleague)
    page = client.get(url("change", issue.pk)).content.decode()
    assert "Admin&#x27;s unsaved title" not in page and "unsaved changes" not in page
    assert client.get(url("compare", issue.pk), {"to": "draft"}).status_code == 404


def test_without_change_permission_nothing_is_autosaved_or_restored(client, issue, viewer):
    client.force_login(viewer)
    assert autosave(client, issue, [["title", "Sneaky"]]).status_code == 403
    assert not Autosave.objects.exists()
    assert client.get(url("change", issue.pk)).status_code == 200  # may still look
    revisions.record_revision(issue, author=None, before=None)
    assert client.post(url("restore", issue.pk, 1)).status_code == 403
    anonymous = client.__class__()
    response = anonymous.post(url("autosave", issue.pk), "{}", content_type="application/json")
    assert response.status_code == 302 and "/login/" in response.url


def test_autosave_needs_the_csrf_token(issue, admin_user):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(admin_user)
    assert autosave(strict, issue, [["title", "x"]]).status_code == 403


def test_restoring_a_revision_gives_exactly_its_earlier_rendering(admin_client, issue):
    add_block(issue, "heading", {"title": "News", "emoji": "🗞"})
    add_block(issue, "markdown", {"body": "The first **version**."})
    place(issue, make_library_block())
    assert (
        save(admin_client, issue, based_on_version=opened_version(admin_client, issue)).status_code
        == 302
    )
    first = render_issue(Issue.objects.get(pk=issue.pk))

    data = form_data(issue)
    data |= {
        "based_on_version": opened_version(admin_client, issue),
        "title": "Rewritten",
        "blocks-1-markdown__body": "Something else entirely.",
        "blocks-0-DELETE": "on",
    }
    assert admin_client.post(url("change", issue.pk), data).status_code == 302
    assert render_issue(Issue.objects.get(pk=issue.pk)).text != first.text

    history = admin_client.get(url("history", issue.pk)).content.decode()
    assert "Edited 1 block, removed 1, title changed" in history
    response = admin_client.post(url("restore", issue.pk, 2))
    assert response.status_code == 302
    restored = render_issue(Issue.objects.get(pk=issue.pk))
    assert as_readers_see(restored) == as_readers_see(first)
    latest = Revision.objects.filter(issue=issue).first()
    assert latest.summary == "Restored revision 2" and latest.number == 4


def test_a_send_started_after_the_history_page_was_read_wins_over_restore(admin_client, issue):
    """The restore checks the issue's state under its lock, not only when the page was read."""
    add_block(issue, "markdown", {"body": "As it will be sent."})
    assert (
        save(admin_client, issue, based_on_version=opened_version(admin_client, issue)).status_code
        == 302
    )
    revision = Revision.objects.get(issue=issue, number=2)  # read before the send starts
    delivery.start_dispatch(Issue.objects.get(pk=issue.pk))
    with pytest.raises(revisions.RestoreRefused):
        revisions.restore_revision(revision, author=None)
    assert [b.data["body"] for b in issue.blocks.all()] == ["As it will be sent."]


def test_the_revision_that_was_sent_is_marked(admin_client, issue, django_user_model):
    add_block(issue, "markdown", {"body": "Going out"})
    assert (
        save(admin_client, issue, based_on_version=opened_version(admin_client, issue)).status_code
        == 302
    )
    admin_client.post(url("send", issue.pk))
    sent = Revision.objects.get(issue=issue)
    assert sent.sent_at is not None
    history = admin_client.get(url("history", issue.pk)).content.decode()
    assert "sf-badge-sent" in history
    assert admin_client.post(url("restore", issue.pk, sent.number)).status_code == 302
    assert Revision.objects.filter(issue=issue).count() == 1  # a sent issue is not restored


def test_presence_lists_the_others_who_have_the_issue_open(client, admin_client, issue, colleague):
    admin_client.post(url("presence", issue.pk))
    client.force_login(colleague)
    answer = client.post(url("presence", issue.pk)).json()
    assert [other["name"] for other in answer["others"]] == ["admin"]
    page = client.get(url("change", issue.pk)).content.decode()
    assert "Also open by admin" in page
    admin_client.post(url("presence", issue.pk), {"leave": "1"})
    assert client.post(url("presence", issue.pk)).json()["others"] == []


def test_an_upload_survives_a_validation_error_elsewhere_and_is_not_chosen_twice(
    admin_client, issue
):
    data = form_data(issue, based_on_version=opened_version(admin_client, issue))
    data |= {
        "blocks-TOTAL_FORMS": 2,
        "blocks-0-kind": "image",
        "blocks-0-position": 1,
        "blocks-0-image__image": upload(image_bytes((800, 400))),
        "blocks-0-image__alt": "A harbour",
        "blocks-1-kind": "button",
        "blocks-1-position": 2,
        "blocks-1-button__label": "Read",
        "blocks-1-button__url": "not a web address",
    }
    refused = admin_client.post(url("change", issue.pk), data)
    assert refused.status_code == 200 and not issue.blocks.exists()
    page = refused.content.decode()
    kept = re.search(r'name="blocks-0-image__image-kept" value="([^"]+)"', page).group(1)
    stored = re.search(r'<img src="/media/(images/[^"]+)"', page).group(1)

    del data["blocks-0-image__image"]  # the browser posts an empty file input now
    data |= {"blocks-0-image__image-kept": kept, "blocks-1-button__url": "https://r.example"}
    assert admin_client.post(url("change", issue.pk), data).status_code == 302
    image = issue.blocks.get(kind="image").data["image"]
    assert image == {"path": stored, "width": 800, "height": 400}


def test_a_forged_kept_upload_reference_is_ignored(admin_client, issue):
    data = form_data(issue, based_on_version=opened_version(admin_client, issue))
    data |= {
        "blocks-TOTAL_FORMS": 1,
        "blocks-0-kind": "image",
        "blocks-0-position": 1,
        "blocks-0-image__alt": "Forged",
        "blocks-0-image__image-kept": "eyJwYXRoIjoiLi4vc2VjcmV0cy50eHQifQ:forged:sig",
    }
    response = admin_client.post(url("change", issue.pk), data)
    assert response.status_code == 200 and not issue.blocks.exists()
    assert "This field is required" in response.content.decode()


def test_creating_an_issue_in_the_admin_keeps_its_first_revision(admin_client, newsletter):
    data = {
        "newsletter": newsletter.pk,
        "title": "Fresh",
        "show_in_archive": "on",
        "blocks-TOTAL_FORMS": 1,
        "blocks-INITIAL_FORMS": 0,
        "blocks-MIN_NUM_FORMS": 0,
        "blocks-MAX_NUM_FORMS": 1000,
        "blocks-0-kind": "markdown",
        "blocks-0-position": 1,
        "blocks-0-markdown__body": "Hello",
    }
    assert admin_client.post(reverse("admin:issues_issue_add"), data).status_code == 302
    revision = Revision.objects.get(issue__title="Fresh")
    assert (revision.number, revision.summary) == (1, "Created with 1 block")


def test_a_100_block_draft_comes_back_exactly_as_the_browser_would_post_it(admin_client, issue):
    add_seed_shaped_blocks(issue, count=100)
    change = url("change", issue.pk)
    fields = submitted_fields(admin_client.get(change).content.decode(), "issue_form")
    body = next(name for name, _ in fields if name.endswith("markdown__body"))
    fields = [(n, "Rewritten while typing" if n == body else v) for n, v in fields]

    started = time.perf_counter()
    assert autosave(admin_client, issue, fields).status_code == 200
    autosave_ms = (time.perf_counter() - started) * 1000
    reopened = submitted_fields(admin_client.get(change).content.decode(), "issue_form")
    token = "csrfmiddlewaretoken"
    assert [f for f in reopened if f[0] != token] == [f for f in fields if f[0] != token]

    started = time.perf_counter()
    assert admin_client.post(change, as_post_data(reopened)).status_code == 302
    save_ms = (time.perf_counter() - started) * 1000
    revision = Revision.objects.get(issue=issue)
    assert revision.summary == "Edited 1 block" and len(revision.state["blocks"]) == 100
    assert not Autosave.objects.exists()
    print(f"autosave_ms={autosave_ms:.0f} save_with_revision_ms={save_ms:.0f} fields={len(fields)}")


def autosave_new(client, fields):
    return client.post(
        url("autosave_new"), json.dumps({"fields": fields}), content_type="application/json"
    )


def test_a_new_issue_keeps_one_draft_per_editor_and_newsletter_for_30_days(
    client, admin_client, newsletter, second_newsletter, colleague
):
    assert autosave_new(admin_client, [["title", "Before a newsletter"]]).status_code == 200
    autosave_new(admin_client, [["newsletter", str(newsletter.pk)], ["title", "Weekly, v1"]])
    autosave_new(admin_client, [["newsletter", str(newsletter.pk)], ["title", "Weekly, v2"]])
    autosave_new(admin_client, [["newsletter", str(second_newsletter.pk)], ["title", "Field"]])
    drafts = Autosave.objects.filter(issue=None).order_by("newsletter__slug")
    assert [(d.newsletter.slug, d.data["title"]) for d in drafts] == [
        ("field-notes", ["Field"]),
        ("weekly", ["Weekly, v2"]),  # the one without a newsletter was the same work
    ]
    page = admin_client.get(url("add")).content.decode()
    assert page.count("You have an unsaved new issue") == 2 and "Weekly, v2" in page

    client.force_login(colleague)  # drafts are private, even of new issues
    assert "unsaved new issue" not in client.get(url("add")).content.decode()
    weekly = drafts.get(newsletter=newsletter)
    assert "Weekly, v2" not in client.get(url("add"), {"draft": weekly.pk}).content.decode()

    Autosave.objects.filter(pk=weekly.pk).update(
        saved_at=weekly.saved_at - timedelta(days=revisions.NEW_ISSUE_DRAFT_DAYS, seconds=1)
    )
    page = admin_client.get(url("add")).content.decode()
    assert page.count("You have an unsaved new issue") == 1 and "Weekly, v2" not in page
    assert not Autosave.objects.filter(pk=weekly.pk).exists()


def test_a_chosen_image_is_stored_at_once_and_answered_with_its_signed_reference(
    admin_client, client, issue, viewer
):
    answer = admin_client.post(url("autosave_image"), {"image": upload(image_bytes((640, 320)))})
    kept = uploads.kept(answer.json()["kept"])
    assert (kept.width, kept.height) == (640, 320)
    assert default_storage.exists(kept.path) and answer.json()["url"].endswith(kept.path)
    refused = admin_client.post(url("autosave_image", issue.pk), {"image": upload(b"not a png")})
    assert refused.status_code == 400 and refused.json()["error"]
    client.force_login(viewer)
    assert client.post(url("autosave_image", issue.pk), {"image": upload()}).status_code == 403
    assert client.post(url("autosave_image"), {"image": upload()}).status_code == 403
