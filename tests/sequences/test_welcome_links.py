"""A welcome email is frozen again after each edit while readers hold its links: every web
process answers each of its links, old and new, and the email is named without a number."""

from datetime import timedelta

from django.core.management import call_command
from django.urls import reverse

from issues.compose.blocks import get_kind
from issues.engagement import tokens
from issues.engagement.views import link_tables
from issues.models import Block, IssueSalt, TrackedLink
from issues.sequences import refreeze_step_email
from issues.sequences.steps import standing_dispatch
from tests.support.forms import as_post_data, submitted_fields
from tests.support.sequences import welcome_sequence


def click_path(issue, position):
    key = tokens.key_of(IssueSalt.objects.get(issue=issue))
    link = tokens.link_token(key, issue.pk, position)
    return f"/c/{link}/{tokens.reader_token(key, tokens.NO_TRACKING)}"


def test_a_link_added_to_a_live_welcome_email_redirects_on_a_process_that_cached_its_table(
    client, newsletter
):
    step = welcome_sequence(newsletter, timedelta(0)).steps.get()
    standing_dispatch(step)  # frozen and going out
    first = TrackedLink.objects.get(issue=step.issue, position=1)
    answer = client.get(click_path(step.issue, 1))  # this process now holds the table
    assert (answer.status_code, answer["Location"]) == (302, first.target)
    assert link_tables.tables.get(step.issue.pk)

    Block.objects.create(
        issue=step.issue,
        position=99,
        kind="link_list",
        data=get_kind("link_list").validate(
            {"items": "The new guide | https://example.org/new-guide | added later"}
        ),
    )
    assert refreeze_step_email(step.issue)
    added = TrackedLink.objects.get(issue=step.issue, url="https://example.org/new-guide")

    answer = client.get(click_path(step.issue, added.position))
    assert (answer.status_code, answer["Location"]) == (302, added.target)
    assert client.get(click_path(step.issue, 1))["Location"] == first.target


def test_a_welcome_email_is_named_without_a_number_in_admin_messages_and_issue_report(
    admin_client, newsletter, capsys
):
    step = welcome_sequence(newsletter, timedelta(0), title="Welcome aboard").steps.get()
    change = reverse("admin:issues_issue_change", args=[step.issue_id])
    fields = submitted_fields(admin_client.get(change).content.decode(), "issue_form")
    saved = admin_client.post(change, as_post_data(fields), follow=True)
    shown = [str(message) for message in saved.context["messages"]]
    assert any("Welcome aboard 1" in message for message in shown), shown
    assert not any("#1" in message for message in shown), shown

    call_command("issue_report", str(step.issue_id))
    first_line = capsys.readouterr().out.splitlines()[0]
    assert first_line.startswith("Welcome aboard 1 ("), first_line
