"""The role groups draw the line between composing and reaching readers.

An editor composes welcome emails and steps; once a welcome email is going out, changing
it changes what the next readers get at once, and the sequence's start decides who gets
it at all: those take a publisher (``send_issue``), as sending does.
"""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Group
from django.utils import timezone

from issues import sequences
from issues.sequences.steps import standing_dispatch
from tests.support.admin import staff
from tests.support.composing import add_block, change_form_data
from tests.support.factories import make_issue, make_newsletter
from tests.support.forms import as_post_data, submitted_fields

pytestmark = pytest.mark.django_db


def member_of(group_name, client):
    user = staff(group_name.lower())
    user.groups.add(Group.objects.get(name=group_name))
    client.force_login(user)
    return client


@pytest.fixture
def sequence():
    return sequences.sequence_for(make_newsletter())


def welcome_email(sequence, *, going_out):
    step = sequences.add_step(sequence, title="Welcome aboard", delay=timedelta(0))
    add_block(step.issue, "markdown", {"body": "Glad you are here."})
    if going_out:
        standing_dispatch(step)  # what the planner does the first time the step is due
    return step.issue


def save_as(client, issue, title):
    data = change_form_data(issue, list(issue.blocks.all())) | {"title": title}
    return client.post(f"/admin/issues/issue/{issue.pk}/change/", data)


def test_an_editor_may_not_change_a_welcome_email_already_going_out(client, sequence):
    email = welcome_email(sequence, going_out=True)
    frozen = email.snapshot.web_html
    response = save_as(member_of("Editor", client), email, "Welcome, new title")
    assert response.status_code == 403
    email.refresh_from_db()
    assert email.title == "Welcome aboard"
    assert email.snapshot.web_html == frozen
    restore = f"/admin/issues/issue/{email.pk}/history/1/restore/"
    assert client.post(restore).status_code == 403


def test_a_publisher_changes_a_welcome_email_going_out(client, sequence):
    email = welcome_email(sequence, going_out=True)
    response = save_as(member_of("Publisher", client), email, "Welcome, new title")
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.title == "Welcome, new title"


def test_an_editor_composes_a_welcome_email_while_the_sequence_is_paused(client, sequence):
    email = welcome_email(sequence, going_out=False)
    sequences.pause_sequence(sequence)
    response = save_as(member_of("Editor", client), email, "Welcome, draft two")
    assert response.status_code == 302
    email.refresh_from_db()
    assert email.title == "Welcome, draft two"


def test_an_editor_may_not_change_the_welcome_email_of_a_running_sequence(client, sequence):
    """Not sent to anyone yet, but live: the next beat freezes it as it stands for whoever
    confirms, so saving it sends it, which takes the permission to send."""
    email = welcome_email(sequence, going_out=False)
    editor = member_of("Editor", client)
    page = editor.get(f"/admin/issues/issue/{email.pk}/change/").content.decode()
    assert "This welcome email is live" in page
    response = save_as(editor, email, "Welcome, half-written")
    assert response.status_code == 403
    assert "This welcome email is live" in response.content.decode()
    assert "permission to send issues" in response.content.decode()
    email.refresh_from_db()
    assert email.title == "Welcome aboard"
    assert [b.data for b in email.blocks.all()] == [{"body": "Glad you are here."}]
    autosave = f"/admin/issues/issue/{email.pk}/autosave/"
    assert (
        editor.post(autosave, change_form_data(email, list(email.blocks.all()))).status_code == 403
    )
    assert not email.autosaves.exists()


def test_saving_a_block_to_the_library_needs_the_librarys_add_permission(client, newsletter):
    from issues.models import LibraryBlock

    issue = make_issue(newsletter, "Plans")
    block = add_block(issue, "markdown", {"body": "See you next week."})
    codenames = ["view_issue", "change_issue", "add_block", "change_block", "delete_block"]
    client.force_login(staff("copy-editor", *codenames))
    change = f"/admin/issues/issue/{issue.pk}/change/"
    page = client.get(change).content.decode()
    assert "needs the permission to add library blocks" in page
    data = change_form_data(issue, [block]) | {"blocks-0-save_to_library_as": "Sign-off"}
    response = client.post(change, data)
    assert response.status_code == 200
    assert "Saving to the library needs the permission to add library blocks." in (
        response.content.decode()
    )
    assert not LibraryBlock.objects.exists()
    block.refresh_from_db()
    assert (block.kind, block.library_block_id) == ("markdown", None)

    client.force_login(staff("librarian", *codenames, "add_libraryblock"))
    assert client.post(change, data).status_code == 302
    block.refresh_from_db()
    assert block.library_block.name == "Sign-off"


def post_sequence_page(client, sequence, **changes):
    url = f"/admin/issues/welcomesequence/{sequence.pk}/change/"
    data = as_post_data(submitted_fields(client.get(url).content.decode(), "welcomesequence_form"))
    return client.post(url, data | changes)


def test_an_editor_adds_steps_but_cannot_move_the_sequence_start(client, sequence):
    started = sequence.starts_at
    earlier = timezone.localtime(started - timedelta(days=365))
    response = post_sequence_page(
        member_of("Editor", client),
        sequence,
        starts_at_0=earlier.strftime("%Y-%m-%d"),
        starts_at_1=earlier.strftime("%H:%M:%S"),
        **{"steps-0-title": "Day two", "steps-0-delay": "2 days"},
    )
    assert response.status_code == 302
    sequence.refresh_from_db()
    assert sequence.starts_at == started
    assert sequence.steps.get().issue.title == "Day two"


def test_a_publisher_moves_the_sequence_start(client, sequence):
    earlier = timezone.localtime(sequence.starts_at - timedelta(days=365))
    response = post_sequence_page(
        member_of("Publisher", client),
        sequence,
        starts_at_0=earlier.strftime("%Y-%m-%d"),
        starts_at_1=earlier.strftime("%H:%M:%S"),
    )
    assert response.status_code == 302
    sequence.refresh_from_db()
    assert sequence.starts_at.date() == earlier.date()


def test_the_groups_hold_exactly_the_roles_permissions():
    """The migration's groups, read back from the database: nothing more, nothing less."""

    def codenames(name):
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Group.objects.get(name=name).permissions.select_related("content_type")
        }

    assert codenames("Staff") == set()
    viewer, editor, publisher = codenames("Viewer"), codenames("Editor"), codenames("Publisher")
    assert viewer and all(c.split(".")[1].startswith("view_") for c in viewer)
    assert "issues.view_issue" in viewer and "auth.view_user" not in viewer
    assert editor - viewer == {
        "issues.add_issue",
        "issues.change_issue",
        "issues.add_block",
        "issues.change_block",
        "issues.delete_block",
        "issues.add_libraryblock",
        "issues.change_libraryblock",
        "issues.change_welcomesequence",
        "issues.add_sequencestep",
        "issues.change_sequencestep",
    }
    assert "issues.send_issue" in publisher - editor
    assert "subscribers.export_subscribers" in publisher - editor
    assert viewer <= editor <= publisher


def test_an_editor_may_not_edit_a_library_block_a_live_welcome_email_shows(client, sequence):
    """Placed in a live welcome email, a library block reaches the next new readers when it
    changes: editing it takes the permission to send, like the email itself."""
    from tests.support.composing import make_library_block, place

    email = welcome_email(sequence, going_out=False)
    sign_off = make_library_block("Welcome sign-off", body="Glad to have you.")
    place(email, sign_off)
    url = f"/admin/issues/libraryblock/{sign_off.pk}/change/"
    editor = member_of("Editor", client)
    assert "This library block is in a live welcome email" in editor.get(url).content.decode()
    data = {"name": "Welcome sign-off", "kind": "markdown", "markdown__body": "Changed!"}
    response = editor.post(url, data)
    assert response.status_code == 403
    assert "permission to send issues" in response.content.decode()
    sign_off.refresh_from_db()
    assert sign_off.data == {"body": "Glad to have you."}

    sequences.pause_sequence(sequence)  # not live: editors change it again
    assert editor.post(url, data).status_code == 302
    sign_off.refresh_from_db()
    assert sign_off.data == {"body": "Changed!"}
