"""The issue admin as editors use it: forms with clear errors, previews, tests, duplicates."""

import pytest
from django.urls import reverse
from django.utils import timezone

from issues.compose.examples import example_links, fill
from issues.compose.markers import Markers
from issues.compose.rendering import render_issue
from issues.models import Block, Issue
from subscribers.models import Subscriber, Subscription
from tests.support.composing import (
    QUIZ_FORM_VALUES,
    add_block,
    change_form_data,
    image_bytes,
    kind_form_data,
    upload,
)
from tests.support.factories import make_issue


def url(name, *args):
    return reverse(f"admin:issues_issue_{name}", args=args)


def new_block_data(issue, kind, fields, existing=()):
    data = change_form_data(issue, list(existing))
    n = len(existing)
    data["blocks-TOTAL_FORMS"] = n + 1
    data |= {f"blocks-{n}-kind": kind, f"blocks-{n}-position": n + 1}
    data |= kind_form_data(kind, fields, prefix=f"blocks-{n}-")
    return data


def test_add_a_link_list_through_the_issue_forms_item_rows(admin_client, issue):
    data = new_block_data(issue, "link_list", {})
    data |= {
        "blocks-0-link_list__items-0-title": "One",
        "blocks-0-link_list__items-0-url": "https://one.example",
        "blocks-0-link_list__items-0-note": "first",
        "blocks-0-link_list__items-1-title": "",  # an empty row, as the form offers them
        "blocks-0-link_list__items-4-title": "Two",  # rows a script removed leave gaps
        "blocks-0-link_list__items-4-url": "two.example/read",
    }
    response = admin_client.post(url("change", issue.pk), data)
    assert response.status_code == 302
    assert issue.blocks.get().data == {
        "items": [
            {"title": "One", "url": "https://one.example", "note": "first"},
            {"title": "Two", "url": "https://two.example/read", "note": ""},
        ]
    }


def test_wrong_item_gets_its_message_next_to_the_wrong_input_and_nothing_is_saved(
    admin_client, issue
):
    data = new_block_data(issue, "link_list", {})
    data |= {
        "blocks-0-link_list__items-0-title": "Fine",
        "blocks-0-link_list__items-0-url": "https://fine.example",
        "blocks-0-link_list__items-1-title": "Broken",
        "blocks-0-link_list__items-1-url": "not a link",
        "blocks-0-link_list__items-2-url": "https://untitled.example",
    }
    response = admin_client.post(url("change", issue.pk), data)
    page = response.content.decode()
    assert response.status_code == 200
    assert not issue.blocks.exists()
    assert "Correct the items marked below." in page
    wrong_url = page.index('name="blocks-0-link_list__items-1-url"')
    assert page.index("“not a link” is not a web address (https://…).") > wrong_url
    assert page.index("Write the title.") > page.index('name="blocks-0-link_list__items-2-title"')
    assert 'value="not a link"' in page  # what the editor typed stays


def test_quiz_lie_is_a_choice_among_the_headline_rows(admin_client, issue):
    fields = QUIZ_FORM_VALUES
    response = admin_client.post(url("change", issue.pk), new_block_data(issue, "quiz", fields))
    assert response.status_code == 302
    data = issue.blocks.get().data
    assert data["fake"] == 2
    assert [h["title"] for h in data["headlines"]] == ["Real one", "The lie", "Real two"]

    page = admin_client.get(url("change", issue.pk)).content.decode()
    assert 'name="blocks-0-quiz__headlines-pick" value="1" checked' in page


def test_quiz_without_a_lie_asks_for_one_and_saves_nothing(admin_client, issue):
    fields = {"title": "Q", "headlines": "A | https://a.example\nB | https://b.example"}
    response = admin_client.post(
        url("change", issue.pk), new_block_data(issue, "quiz", {**fields, "reveal": "x"})
    )
    assert response.status_code == 200
    assert "Mark which headline is the lie." in response.content.decode()
    assert not issue.blocks.exists()


def test_item_rows_work_without_javascript_with_empty_rows_to_fill(admin_client, issue):
    add_block(issue, "link_list", {"items": "Kept | https://kept.example | a note"})
    page = admin_client.get(url("change", issue.pk)).content.decode()
    first_title = 'id="id_blocks-0-link_list__items-0-title" value="Kept"'
    assert first_title in page
    assert 'value="a note"' in page
    # One spare row after the items (every row posts its inputs: a 100-block issue adds up).
    assert 'name="blocks-0-link_list__items-1-title"' in page
    assert 'name="blocks-0-link_list__items-2-title"' not in page
    new_block = admin_client.get(url("add")).content.decode()
    for n in range(3):  # a new block starts with three empty rows
        assert f'name="blocks-__prefix__-link_list__items-{n}-title"' in new_block


def test_fields_of_other_kinds_are_ignored_when_saving(admin_client, issue):
    fields = {"title": "Section"}
    data = new_block_data(issue, "heading", fields)
    data["blocks-0-button__url"] = "not a url, left over from switching kind"
    response = admin_client.post(url("change", issue.pk), data)
    assert response.status_code == 302
    assert issue.blocks.get().data == {"title": "Section", "emoji": ""}


def test_placing_a_library_block_needs_a_choice(admin_client, issue):
    response = admin_client.post(url("change", issue.pk), new_block_data(issue, "library", {}))
    assert "Choose the library block to place here." in response.content.decode()


def test_reorder_by_positions_renders_in_the_new_order(admin_client, issue):
    first = add_block(issue, "heading", {"title": "First"})
    second = add_block(issue, "heading", {"title": "Second"})
    data = change_form_data(issue, [first, second])
    data["blocks-0-position"], data["blocks-1-position"] = 2, 1
    assert admin_client.post(url("change", issue.pk), data).status_code == 302
    assert [h["title"] for h in render_issue(issue).headings] == ["Second", "First"]


def test_previews_show_exactly_what_is_sent(admin_client, issue):
    add_block(issue, "heading", {"title": "Preview me"})
    issue.preheader = "What is inside"
    issue.save()
    page = admin_client.get(url("preview", issue.pk)).content.decode()
    assert 'width="640"' in page and 'width="375"' in page
    assert '<span class="sf-inbox-subject">Issue one</span>' in page
    assert "— What is inside" in page
    email = admin_client.get(url("preview_channel", issue.pk, "email"))
    assert email["X-Frame-Options"] == "SAMEORIGIN"
    body = email.content.decode()
    rendered = render_issue(issue)
    assert body.startswith("<!DOCTYPE html>") and "Preview me</h2>" in body
    assert "%%" not in body  # markers filled with example links, as a reader would see
    assert body == fill(rendered.email_html, example_links(Markers(rendered.marker_key)), html=True)
    text = admin_client.get(url("preview_channel", issue.pk, "text"))
    assert text["Content-Type"] == "text/plain; charset=utf-8"
    assert "Preview me\n==========" in text.content.decode()
    web = admin_client.get(url("preview_channel", issue.pk, "web")).content.decode()
    assert '<h2 id="preview-me"' in web
    # The public page's styles, inlined in its head as on the site.
    assert "--accent: var(--brand-light" in web and ".sf-preheader {" in web


def test_duplicate_as_next_issue_button(admin_client, issue):
    add_block(issue, "heading", {"title": "Kept"})
    change_page = admin_client.get(url("change", issue.pk)).content.decode()
    assert f'action="{url("duplicate", issue.pk)}"' in change_page
    response = admin_client.post(url("duplicate", issue.pk))
    copy = Issue.objects.exclude(pk=issue.pk).get()
    assert response["Location"] == url("change", copy.pk)
    assert copy.number == issue.number + 1 and copy.blocks.get().data["title"] == "Kept"
    assert admin_client.get(url("duplicate", issue.pk)).status_code == 302  # GET changes nothing
    assert Issue.objects.count() == 2


def test_change_page_lists_warnings_before_sending(admin_client, issue):
    add_block(issue, "button", data={"label": "Go", "url": "ftp://x.example"})
    page = admin_client.get(url("change", issue.pk)).content.decode()
    assert "Before sending, check:" in page and "is not http(s)" in page


@pytest.mark.parametrize(
    "query", ["", "?status__exact=sent", "?q=Gradient", "?published_at__isnull=False"]
)
def test_issue_list_searches_and_filters(admin_client, newsletter, query):
    make_issue(newsletter, "Gradient news", status=Issue.Status.SENT, published_at=timezone.now())
    make_issue(newsletter, "Draft notes")
    subscriber = Subscriber.objects.create(email="r@example.org", status="active")
    Subscription.objects.create(subscriber=subscriber, newsletter=newsletter, status="active")
    page = admin_client.get(url("changelist") + query).content.decode()
    assert "Recipients" in page
    assert ("Gradient news" in page) and (("Draft notes" in page) == (query == ""))


def test_library_block_admin_edits_content_with_kind_fields(admin_client):
    response = admin_client.post(
        reverse("admin:issues_libraryblock_add"),
        {"name": "Sign-off", "kind": "markdown", "markdown__body": "Bye!"},
    )
    assert response.status_code == 302
    from issues.models import LibraryBlock

    assert LibraryBlock.objects.get().data == {"body": "Bye!"}
    assert Block.objects.count() == 0
    listing = admin_client.get(reverse("admin:issues_libraryblock_changelist")).content.decode()
    assert "Bye!" in listing  # the list shows what each block says


def test_saving_again_keeps_an_uploaded_image_and_a_new_upload_replaces_it(admin_client, issue):
    block = add_block(issue, "image", {"alt": "First"}, {"image": upload()})
    first = block.data["image"]
    data = change_form_data(issue, [block])
    del data["blocks-0-image__image"]
    data["blocks-0-image__alt"] = "Still the first"
    assert admin_client.post(url("change", issue.pk), data).status_code == 302
    block.refresh_from_db()
    assert block.data["image"] == first and block.data["alt"] == "Still the first"
    page = admin_client.get(url("change", issue.pk)).content.decode()
    assert f'src="/media/{first["path"]}"' in page  # the current image is shown in the form
    data["blocks-0-image__image"] = upload(image_bytes((300, 200), colour="#aa3300"))
    assert admin_client.post(url("change", issue.pk), data).status_code == 302
    block.refresh_from_db()
    assert block.data["image"]["path"] != first["path"] and block.data["image"]["width"] == 300


def test_issue_list_costs_the_same_queries_for_one_issue_or_many(admin_client, newsletter):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    subscriber = Subscriber.objects.create(email="r@example.org", status="active")
    Subscription.objects.create(subscriber=subscriber, newsletter=newsletter, status="active")
    make_issue(newsletter, "First")

    def list_queries():
        with CaptureQueriesContext(connection) as queries:
            page = admin_client.get(url("changelist")).content.decode()
        return len(queries), page

    one, _ = list_queries()
    for n in range(6):
        make_issue(newsletter, f"More {n}", status=Issue.Status.SENT, published_at=timezone.now())
    many, page = list_queries()
    assert many == one
    assert '<td class="field-recipient_count">1</td>' in page  # the draft's audience


def one_line_fields():
    """(kind, field) for every one-line text field of every kind, items' parts included."""
    from django import forms

    from issues.compose.blocks import KINDS
    from issues.compose.fields import ItemRowsField

    for kind in KINDS.values():
        for name, field in kind.fields().items():
            if isinstance(field, ItemRowsField):
                yield from (
                    (kind.name, f"{name}-0-{part}") for part in field.parts if part != "url"
                )
            elif isinstance(field, forms.CharField) and not isinstance(
                field.widget, forms.Textarea | forms.URLInput
            ):
                yield kind.name, name


@pytest.mark.parametrize("kind, field", list(one_line_fields()))
def test_a_line_break_in_a_one_line_field_is_refused_next_to_it(admin_client, issue, kind, field):
    """A link-list note holding a line break and ``::: button`` once came back from the
    Markdown export as two blocks: no one-line field takes a line break."""
    data = new_block_data(issue, kind, {})
    name = f"blocks-0-{kind}__{field}"
    data[name] = "Worth a read\r\n::: button Click me"
    page = admin_client.post(url("change", issue.pk), data).content.decode()
    assert not issue.blocks.exists()
    message = "Keep this on one line: line breaks are not allowed here."
    assert message in page, name
    if "-0-" in field:  # an item's part: said in its row, after its input
        assert page.index(message) > page.index(f'name="{name}"')


def test_quiz_without_a_marked_lie_says_so_once_and_asks_no_row_for_a_link(admin_client, issue):
    """Four headlines written, none marked as the lie: one message where the lie is chosen,
    not “Add the source link” on every row (one of them needs none)."""
    data = new_block_data(issue, "quiz", {"title": "Q", "reveal": "Number 2."})
    for n, title in enumerate(["Robots fold", "Moon bakery", "Chess win", "Whale Morse"]):
        data[f"blocks-0-quiz__headlines-{n}-title"] = title
    data["blocks-0-quiz__headlines-0-url"] = "https://r.example/1"
    page = admin_client.post(url("change", issue.pk), data).content.decode()
    assert not issue.blocks.exists()
    assert page.count("Mark which headline is the lie.") == 1
    assert "Add the source link" not in page
    assert page.index("Mark which headline is the lie.") < page.index("Robots fold")
