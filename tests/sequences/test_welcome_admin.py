"""The welcome sequence in the admin: set up as an editor's browser posts it, guarded."""

from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse

from issues.models import Issue, SequenceStep, WelcomeSequence
from tests.support.admin import STAFF_PASSWORD, log_into_admin, make_editor, staff
from tests.support.forms import as_post_data, submitted_fields
from tests.support.sequences import welcome_sequence

ADD = reverse("admin:issues_welcomesequence_add")


def browser_form(client, url, form_id="welcomesequence_form", **values):
    """The page's form as the browser posts it, with ``values`` typed into its fields."""
    fields = dict(as_post_data(submitted_fields(client.get(url).content.decode(), form_id)))
    return {**fields, **values}


def test_an_editor_sets_up_a_sequence_and_composes_its_email_in_the_issue_editor(
    admin_client, newsletter
):
    form = browser_form(
        admin_client,
        ADD,
        newsletter=str(newsletter.pk),
        **{"steps-0-title": "Welcome aboard", "steps-0-delay": "0", "steps-0-position": "1"},
    )
    response = admin_client.post(ADD, form)
    assert response.status_code == 302, response.content.decode()[:2000]
    sequence = WelcomeSequence.objects.get(newsletter=newsletter)
    change = reverse("admin:issues_welcomesequence_change", args=[sequence.pk])
    form = browser_form(
        admin_client,
        change,
        **{"steps-1-title": "Two days in", "steps-1-delay": "2 days", "steps-1-position": "2"},
    )
    assert admin_client.post(change, form).status_code == 302
    first, second = sequence.steps.select_related("issue")
    assert [s.delay.total_seconds() for s in (first, second)] == [0, 172800]
    assert {s.issue.kind for s in (first, second)} == {Issue.Kind.WELCOME}
    page = admin_client.get(change).content.decode()
    assert "2 days" in page and "Two days in (edit)" in page

    # Welcome emails are not issues: no issue number taken, not in the issue list by default.
    issue = Issue.objects.create(newsletter=newsletter, title="The first real issue")
    assert issue.number == 1
    issues = admin_client.get(reverse("admin:issues_issue_changelist")).content.decode()
    assert "The first real issue" in issues and "Welcome aboard" not in issues
    welcome = admin_client.get(reverse("admin:issues_issue_changelist") + "?kind=welcome")
    assert "Welcome aboard" in welcome.content.decode()

    # Its editor page offers no "Send now": the sequence sends it; sending it is refused.
    editor = admin_client.get(reverse("admin:issues_issue_change", args=[first.issue_id]))
    assert "Send now" not in editor.content.decode()
    assert change in editor.content.decode()
    send = reverse("admin:issues_issue_send", args=[first.issue_id])
    assert admin_client.post(send).status_code == 404
    with pytest.raises(CommandError, match="welcome sequence"):
        call_command("send_issue", str(first.issue_id))


def test_hostile_delays_and_a_nameless_step_are_refused_and_nothing_is_saved(
    admin_client, newsletter
):
    for delay in ("-5", "2 fortnights", "400 days", "", "1 day; drop table", "1e9"):
        form = browser_form(
            admin_client,
            ADD,
            newsletter=str(newsletter.pk),
            **{"steps-0-title": "Welcome", "steps-0-delay": delay, "steps-0-position": "1"},
        )
        response = admin_client.post(ADD, form)
        assert response.status_code == 200, delay
        assert "errorlist" in response.content.decode(), delay
    form = browser_form(
        admin_client,
        ADD,
        newsletter=str(newsletter.pk),
        **{"steps-0-title": "", "steps-0-delay": "1 day", "steps-0-position": "1"},
    )
    assert "Name the new step" in admin_client.post(ADD, form).content.decode()
    assert not WelcomeSequence.objects.exists()
    assert not SequenceStep.objects.exists()
    assert not Issue.objects.exists()


def test_pausing_needs_change_and_send_permissions_and_a_post(client, newsletter):
    sequence = welcome_sequence(newsletter)
    control = reverse("admin:issues_welcomesequence_control", args=[sequence.pk])
    staff("viewer", "view_welcomesequence")
    staff("changer", "view_welcomesequence", "change_welcomesequence")
    staff("publisher", "view_welcomesequence", "change_welcomesequence", "send_issue")

    for username in ("viewer", "changer"):
        client.login(username=username, password=STAFF_PASSWORD)
        assert client.post(control, {"action": "pause"}).status_code == 403, username
        page = client.get(reverse("admin:issues_welcomesequence_change", args=[sequence.pk]))
        assert "Pause the sequence" not in page.content.decode()
        listing = client.get(reverse("admin:issues_welcomesequence_changelist"))
        assert "pause_selected" not in listing.content.decode()
    sequence.refresh_from_db()
    assert not sequence.is_paused

    client.login(username="publisher", password=STAFF_PASSWORD)
    assert client.get(control).status_code == 405
    assert client.post(control, {"action": "explode"}).status_code == 403
    assert client.post(control, {"action": "pause"}).status_code == 302
    sequence.refresh_from_db()
    assert sequence.is_paused
    listing = client.get(reverse("admin:issues_welcomesequence_changelist"))
    assert "resume_selected" in listing.content.decode()


@pytest.mark.django_db(transaction=True)
def test_the_sequence_page_in_a_browser(
    live_server, page, artifacts_dir, django_user_model, newsletter
):
    from datetime import timedelta

    welcome_sequence(newsletter, timedelta(0), timedelta(days=2), timedelta(days=7))
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    page.goto(f"{live_server.url}{reverse('admin:issues_welcomesequence_changelist')}")
    page.get_by_role("link", name=newsletter.name, exact=True).click()
    page.click("text=Pause the sequence")
    # The click posts and redirects: wait for the page it lands on before reading it.
    page.wait_for_selector("text=Paused: no welcome email goes out")
    assert page.locator("text=Resume the sequence").is_visible()
    assert "7 days" in page.content() or "1 week" in page.content()
    page.screenshot(path=artifacts_dir / "welcome-sequence.png", full_page=True)


def test_restoring_an_earlier_version_of_a_welcome_email_is_what_readers_get_next(
    admin_client, newsletter
):
    from issues.sequences.steps import standing_dispatch

    sequence = welcome_sequence(newsletter, timedelta(0))
    step = sequence.steps.get()
    standing_dispatch(step)  # as the first time it came due: frozen and going out
    change = reverse("admin:issues_issue_change", args=[step.issue_id])

    def save_body(text):
        fields = submitted_fields(admin_client.get(change).content.decode(), "issue_form")
        fields = [(n, text if n.endswith("body") else v) for n, v in fields]
        saved = admin_client.post(change, {**as_post_data(fields), "_continue": "Save"})
        assert saved.status_code == 302, saved.content.decode()[:2000]

    def going_out():
        step.dispatch.snapshot.refresh_from_db()
        return step.dispatch.snapshot.email_html

    save_body("Wombats dig the first version.")
    first = step.issue.revisions.order_by("number").last().number
    save_body("Quokkas smile in the second version.")
    assert "Quokkas smile" in going_out()

    restore = reverse("admin:issues_issue_restore", args=[step.issue_id, first])
    assert admin_client.post(restore).status_code == 302
    assert "Wombats dig" in going_out() and "Quokkas" not in going_out()


def test_a_deleted_step_sends_nothing_more_and_an_email_never_sent_goes_with_it(
    admin_client, newsletter
):
    from issues import sequences
    from issues.models import Delivery
    from tests.support.subscribers import join_directly

    sequence = welcome_sequence(newsletter, timedelta(0), timedelta(days=2))
    first, second = sequence.steps.all()
    readers = [join_directly(f"held{n}@example.org", [newsletter]) for n in range(3)]
    sequences.plan_sequence(sequence.pk)  # step 1 came due: its rows wait for a sender
    assert first.issue.deliveries.filter(status="pending").count() == len(readers)

    change = reverse("admin:issues_welcomesequence_change", args=[sequence.pk])
    form = browser_form(admin_client, change, **{"steps-0-DELETE": "on", "steps-1-DELETE": "on"})
    response = admin_client.post(change, form)
    assert response.status_code == 302, response.context["errors"]
    assert not sequence.steps.exists()
    # The one that went out to readers stays, its rows cancelled; the other is gone.
    assert set(Issue.objects.filter(kind=Issue.Kind.WELCOME)) == {first.issue}
    statuses = set(first.issue.deliveries.values_list("status", flat=True))
    assert statuses == {Delivery.Status.CANCELLED}
    assert first.issue.dispatches.get().status == "cancelled"
    assert sequences.plan_due_steps() == {}
