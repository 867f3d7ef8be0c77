"""Library blocks: one edit reaches every unsent issue; sent issues keep what they sent."""

from django.urls import reverse

from issues.compose.editing import duplicate_as_next_issue
from issues.compose.rendering import render_issue
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, Issue
from tests.support.composing import add_block, change_form_data, make_library_block, place
from tests.support.factories import make_issue


def test_editing_a_library_block_updates_drafts_but_not_sent_issues(newsletter):
    sign_off = make_library_block(body="Bye for now, said the old sign-off.")
    sent = make_issue(newsletter, "Sent one")
    draft = make_issue(newsletter, "Draft one")
    for issue in (sent, draft):
        add_block(issue, "markdown", {"body": f"Body of {issue.title}"})
        place(issue, sign_off)
    freeze_snapshot(sent)
    Issue.objects.filter(pk=sent.pk).update(status=Issue.Status.SENT)

    sign_off.data = {"body": "A brand-new sign-off."}
    sign_off.save()

    assert "A brand-new sign-off." in render_issue(draft).web_html
    sent.refresh_from_db()
    for frozen in (sent.snapshot.web_html, sent.snapshot.email_html, sent.snapshot.text):
        assert "old sign-off" in frozen and "brand-new" not in frozen


def test_duplicate_as_next_issue_copies_blocks_and_keeps_library_references(newsletter):
    sign_off = make_library_block()
    original = make_issue(newsletter, "Week 1", status=Issue.Status.SENT)
    add_block(original, "heading", {"title": "News"})
    place(original, sign_off)
    copy = duplicate_as_next_issue(original)
    assert (copy.number, copy.status, copy.published_at) == (2, Issue.Status.DRAFT, None)
    assert copy.slug != original.slug
    blocks = list(copy.blocks.order_by("position"))
    assert [b.kind for b in blocks] == ["heading", Block.LIBRARY]
    assert blocks[0].pk not in original.blocks.values_list("pk", flat=True)
    assert blocks[1].library_block == sign_off


def test_library_list_shows_where_each_block_is_used(admin_client, newsletter):
    sign_off = make_library_block()
    place(make_issue(newsletter, "Uses it"), sign_off)
    make_library_block(name="Unused")
    page = admin_client.get(reverse("admin:issues_libraryblock_changelist")).content.decode()
    assert "#1 Uses it</a> (Draft)" in page
    assert "—" in page


def test_saving_an_issue_block_to_the_library_turns_it_into_a_placement(admin_client, issue):
    block = add_block(issue, "callout", {"style": "note", "text": "Reply any time."})
    data = change_form_data(issue, [block])
    data["blocks-0-save_to_library_as"] = "Reply note"
    response = admin_client.post(reverse("admin:issues_issue_change", args=[issue.pk]), data)
    assert response.status_code == 302, response.content.decode()[:3000]
    block.refresh_from_db()
    assert block.kind == Block.LIBRARY
    assert block.library_block.name == "Reply note"
    assert block.library_block.data["text"] == "Reply any time."


def test_a_library_blocks_name_is_one_line(admin_client, db):
    """The name is the argument of ``::: library NAME`` in the Markdown export."""
    from issues.models import LibraryBlock

    data = {"name": "Sign-off\n::: button Go", "kind": "markdown", "markdown__body": "Bye."}
    response = admin_client.post("/admin/issues/libraryblock/add/", data)
    assert response.status_code == 200
    assert "Keep this on one line" in response.content.decode()
    assert not LibraryBlock.objects.exists()
