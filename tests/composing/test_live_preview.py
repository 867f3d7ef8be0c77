"""The live preview renders the editor's unsaved form with the real renderer, valid or not."""

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from tests.support.composing import add_block, add_seed_shaped_blocks, stream_content
from tests.support.forms import as_post_data, submitted_fields

pytestmark = pytest.mark.django_db


def page_fields(client, issue):
    page = client.get(reverse("admin:issues_issue_change", args=[issue.pk]))
    return dict(as_post_data(submitted_fields(page.content.decode(), "issue_form")))


def preview(client, issue, data, view="email"):
    url = reverse("admin:issues_issue_live_preview", args=[issue.pk])
    return client.post(f"{url}?view={view}", data)


def test_preview_shows_unsaved_typing_and_saves_nothing(admin_client, issue):
    add_seed_shaped_blocks(issue, count=25)
    before = stream_content(issue)
    data = page_fields(admin_client, issue)
    data["blocks-0-markdown__body"] = "Typed a second ago, never saved."
    data["title"] = "A fresher title"

    for view in ("email", "email-dark", "web"):
        response = preview(admin_client, issue, data, view)
        assert response.status_code == 200
        html = response.content.decode()
        assert "Typed a second ago, never saved." in html
        assert "A fresher title" in html or view == "web"  # the web H1 is the subject
        assert 'id="sf-block-1"' in html  # the script scrolls to the block being edited
        assert response["Content-Security-Policy"].startswith("sandbox")
    assert stream_content(issue) == before
    issue.refresh_from_db()
    assert issue.title == "Issue one"


def test_preview_renders_what_is_valid_and_counts_what_is_not(admin_client, issue):
    add_block(issue, "markdown", {"body": "A fine paragraph."})
    add_block(issue, "button", {"label": "Go", "url": "https://go.example"})
    data = page_fields(admin_client, issue)
    data["blocks-1-button__url"] = "not a link"
    data["title"] = ""  # required, and still the preview renders

    response = preview(admin_client, issue, data)

    assert response.status_code == 200
    assert "A fine paragraph." in response.content.decode()
    assert "not a link" not in response.content.decode()
    assert response["X-Blocks-Left-Out"] == "1"


def test_dark_preview_applies_the_dark_rules_and_light_does_not(admin_client, issue):
    add_block(issue, "markdown", {"body": "Night reading."})
    data = page_fields(admin_client, issue)
    dark = preview(admin_client, issue, data, "email-dark").content.decode()
    light = preview(admin_client, issue, data, "email").content.decode()
    assert "@media all" in dark and "prefers-color-scheme: dark" not in dark
    assert "@media not all" in light


def test_preview_of_a_new_issue_on_the_add_page(admin_client, newsletter):
    page = admin_client.get(reverse("admin:issues_issue_add"))
    data = dict(as_post_data(submitted_fields(page.content.decode(), "issue_form")))
    data |= {
        "newsletter": newsletter.pk,
        "title": "Not saved yet",
        "blocks-TOTAL_FORMS": "1",
        "blocks-0-kind": "heading",
        "blocks-0-position": "1",
        "blocks-0-heading__title": "First section",
    }
    response = admin_client.post(reverse("admin:issues_issue_live_preview"), data)
    assert "First section" in response.content.decode()
    assert "Not saved yet" in response.content.decode()


def test_preview_needs_the_csrf_token_and_change_permission(admin_client, issue, django_user_model):
    data = page_fields(admin_client, issue)
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(django_user_model.objects.get(username="admin"))
    no_token = {k: v for k, v in data.items() if k != "csrfmiddlewaretoken"}
    assert preview(browser, issue, no_token).status_code == 403

    viewer = django_user_model.objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_issue"))
    reader = Client()
    reader.force_login(viewer)
    assert preview(reader, issue, data).status_code == 403
    assert reader.get(reverse("admin:issues_issue_live_preview", args=[issue.pk])).status_code in (
        403,
        405,
    )


def test_preview_frame_is_sandboxed_without_scripts(admin_client, issue):
    page = admin_client.get(reverse("admin:issues_issue_change", args=[issue.pk])).content.decode()
    frame = page[page.index('<iframe class="sf-live-frame"') :].split(">", 1)[0]
    assert 'sandbox="allow-same-origin"' in frame  # no allow-scripts, no allow-forms


def test_an_image_chosen_but_not_saved_is_in_the_preview_and_uploaded_once(
    admin_client, issue, media_root
):
    """The preview posts the chosen file once; the answer carries its signed reference
    (``X-Kept-Images``), which the page posts from then on instead of the file, as a
    form that came back with errors does. Nothing of the issue is saved."""
    import json

    from tests.support.composing import upload

    data = page_fields(admin_client, issue) | {
        "blocks-TOTAL_FORMS": "1",
        "blocks-0-kind": "image",
        "blocks-0-position": "1",
        "blocks-0-image__alt": "A blue square",
    }
    first = preview(admin_client, issue, data | {"blocks-0-image__image": upload()})
    assert first["X-Blocks-Left-Out"] == "0"
    assert 'alt="A blue square"' in first.content.decode()
    kept = json.loads(first["X-Kept-Images"])
    assert list(kept) == ["blocks-0-image__image"]
    stored = sorted(p.name for p in media_root.rglob("*") if p.is_file())

    again = preview(admin_client, issue, data | {"blocks-0-image__image-kept": kept.popitem()[1]})
    assert again["X-Blocks-Left-Out"] == "0"
    assert 'alt="A blue square"' in again.content.decode()
    assert json.loads(again["X-Kept-Images"]) == {}
    assert sorted(p.name for p in media_root.rglob("*") if p.is_file()) == stored
    forged = data | {"blocks-0-image__image-kept": "forged"}
    assert preview(admin_client, issue, forged)["X-Blocks-Left-Out"] == "1"
    assert not issue.blocks.exists()
