"""Issue 18: staff who may only look can neither change readers nor read drafts.

A ``view_subscriber`` login ran the changelist's suppress, unsuppress and "resend
confirmation" actions, on a whole filtered list with "select all"; and any staff login
read unsent issues and welcome emails on the public site.
"""

import pytest
from django.contrib.auth.models import Group
from django.core.cache import cache

from issues.models import Issue
from subscribers import services
from subscribers.models import Subscriber, SuppressionEvent
from tests.support.admin import staff
from tests.support.factories import make_issue
from tests.support.subscribers import active_reader

pytestmark = pytest.mark.django_db

SUBSCRIBERS = "/admin/subscribers/subscriber/"


@pytest.fixture
def readers(newsletter):
    """A reader of each kind the actions act on: active, complained, pending."""
    active = active_reader(newsletter, "active@example.net")
    complained = active_reader(newsletter, "complained@example.net")
    services.suppress(complained, SuppressionEvent.Kind.COMPLAINT, reason="spam report")
    pending = services.subscribe("pending@example.net", [newsletter])
    return {"active": active, "complained": complained, "pending": pending}


def state_of_every_reader():
    return sorted(
        (s.email, s.status, tuple(s.subscriptions.values_list("status", "confirmation_nonce")))
        for s in Subscriber.objects.all()
    )


def action_post(action, *, select_across, readers):
    return {
        "action": action,
        "_selected_action": [r.pk for r in readers.values()],
        "select_across": "1" if select_across else "0",
        "index": "0",
        "reason": "the reader asked us on the phone",
    }


CHANGING_ACTIONS = ["suppress_selected", "unsuppress_selected", "resend_confirmation"]


@pytest.mark.parametrize("select_across", [False, True], ids=["ticked", "select-all"])
@pytest.mark.parametrize("action", CHANGING_ACTIONS)
def test_view_only_staff_cannot_run_the_actions_that_change_readers(
    client, newsletter, readers, action, select_across, django_capture_on_commit_callbacks
):
    client.force_login(staff("looker", "view_subscriber"))
    before = state_of_every_reader()
    with django_capture_on_commit_callbacks() as queued_mail:
        response = client.post(
            # The list filtered as on screen: "select all" acts on every match of the filter.
            f"{SUBSCRIBERS}?subscriptions__newsletter__id__exact={newsletter.pk}",
            action_post(action, select_across=select_across, readers=readers),
        )
    # The admin refuses an action the user may not run as it refuses an unknown one.
    assert response.status_code in (200, 302)
    assert state_of_every_reader() == before
    assert not SuppressionEvent.objects.exclude(kind=SuppressionEvent.Kind.COMPLAINT).exists()
    assert queued_mail == []


@pytest.mark.parametrize("action", CHANGING_ACTIONS)
def test_the_actions_are_not_offered_to_view_only_staff(client, readers, action):
    client.force_login(staff("looker", "view_subscriber"))
    page = client.get(SUBSCRIBERS)
    assert page.status_code == 200
    assert f'value="{action}"'.encode() not in page.content


@pytest.mark.parametrize("action", CHANGING_ACTIONS)
def test_staff_who_may_change_readers_run_the_actions(
    client, readers, action, django_capture_on_commit_callbacks
):
    client.force_login(staff("changer", "view_subscriber", "change_subscriber"))
    before = state_of_every_reader()
    with django_capture_on_commit_callbacks() as queued_mail:
        response = client.post(
            SUBSCRIBERS, action_post(action, select_across=True, readers=readers)
        )
    assert response.status_code == 302
    assert state_of_every_reader() != before
    if action == "resend_confirmation":
        assert len(queued_mail) == 1  # the one pending reader


@pytest.fixture
def unpublished(newsletter):
    """An unsent issue and a welcome email, each with a page address of its own."""
    draft = make_issue(
        newsletter, "Plans for the strike", status=Issue.Status.DRAFT, topic="dockside"
    )
    welcome = make_issue(
        newsletter,
        "Welcome aboard",
        status=Issue.Status.DRAFT,
        kind=Issue.Kind.WELCOME,
        topic="dockside",
    )
    return [draft, welcome]


def test_staff_without_the_view_permission_get_404_for_drafts_and_welcome_emails(
    client, unpublished
):
    client.force_login(staff("nobody-in-particular"))
    for issue in unpublished:
        response = client.get(issue.get_absolute_url())
        assert response.status_code == 404, issue
        assert issue.title.encode() not in response.content


def test_staff_who_may_view_issues_see_drafts_never_cached_for_anyone_else(client, unpublished):
    viewer = staff("viewer")
    viewer.groups.add(Group.objects.get(name="Viewer"))
    client.force_login(viewer)
    cache.clear()
    for issue in unpublished:
        response = client.get(issue.get_absolute_url())
        assert response.status_code == 200
        assert issue.title.encode() in response.content
        assert "no-store" in response["Cache-Control"] or "private" in response["Cache-Control"]
    client.logout()
    client.force_login(staff("other-staff"))
    for issue in unpublished:
        assert client.get(issue.get_absolute_url()).status_code == 404
    client.logout()
    for issue in unpublished:
        assert client.get(issue.get_absolute_url()).status_code == 404
