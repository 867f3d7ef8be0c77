"""Welcome sequences with a real worker and beat, sending to a real SMTP server."""

import re
from collections import Counter
from datetime import timedelta

from django.urls import reverse
from django.utils import timezone

from issues.models import Delivery, Issue, TrackedLink
from subscribers import services
from subscribers.models import SuppressionEvent
from superfast.celery import app
from tests.support.delivery import make_subscribers
from tests.support.factories import make_newsletter
from tests.support.forms import as_post_data, submitted_fields
from tests.support.processes import task_runs
from tests.support.sequences import welcome_sequence
from tests.support.subscribers import (
    join_directly,
    links_in,
    mails_to,
    post_one_click_unsubscribe,
)
from tests.support.waiting import wait_until

SECONDS = timedelta(seconds=1)
PLAN = "issues.tasks.plan_welcome_steps"  # beat's planning of the steps that came due


def step_mails(sink, title="Welcome"):
    """(step subject, recipient) of every step email received (not the consent mails)."""
    step = re.compile(rf"{title} \d+$")
    return Counter(
        (m.message["Subject"], rcpt)
        for m in sink.messages
        if step.match(m.message["Subject"])
        for rcpt in m.rcpt_tos
    )


def nothing_more_to_come(worker):
    """Beat planned twice more and no welcome email waits to be sent: whatever was due has
    arrived, and a step planned twice would be among what arrived."""

    def settled():
        waiting = Delivery.objects.filter(
            issue__sequence_step__isnull=False,
            status__in=[Delivery.Status.PENDING, Delivery.Status.SENDING],
        )
        return task_runs(worker, PLAN) >= runs + 2 and not waiting.exists()

    runs = task_runs(worker, PLAN)
    wait_until(settled, timeout=60, what="two more plans and no email waiting", interval=0.2)


def test_200_readers_get_each_step_once_in_order_and_a_leaver_gets_no_more(
    start_worker_and_beat, smtp_sink, newsletter
):
    """The leaver confirms first, alone, and leaves once step 1 reached them; then 199
    readers confirm at once (in bulk, as the planner reads them: their confirmation mails
    are not under test) and each gets the three steps once, in order."""
    welcome_sequence(newsletter, 0 * SECONDS, 12 * SECONDS, 14 * SECONDS)
    worker = start_worker_and_beat()
    leaver = join_directly("leaver@example.com", [newsletter])

    first = wait_until(
        lambda: next(
            (m for m in mails_to(smtp_sink, leaver.email) if m.message["Subject"] == "Welcome 1"),
            None,
        ),
        timeout=60,
        what="the first welcome email",
        interval=0.2,
    )
    unsubscribe = links_in(first, "/unsubscribe/")[0]
    assert post_one_click_unsubscribe(unsubscribe).status_code == 200
    # Step 2 comes due for the leaver 12 s after they confirmed: they left well before.
    readers = make_subscribers(newsletter, 199, confirmed_at=timezone.now())
    everyone = {r.email for r in readers}
    expected = 3 * len(readers) + 1

    wait_until(
        lambda: sum(step_mails(smtp_sink).values()) >= expected,
        timeout=180,
        what=f"{expected} welcome emails",
        interval=0.5,
    )
    nothing_more_to_come(worker)
    received = step_mails(smtp_sink)
    assert set(received.values()) == {1}, "someone got a step twice"
    for step in ("Welcome 1", "Welcome 2", "Welcome 3"):
        assert {rcpt for (subject, rcpt) in received if subject == step} == everyone | (
            {leaver.email} if step == "Welcome 1" else set()
        )
    # In order: each reader's steps arrived as the sequence has them.
    order = {}
    for message in smtp_sink.messages:
        subject = message.message["Subject"]
        if re.match(r"Welcome \d+$", subject):
            order.setdefault(message.rcpt_tos[0], []).append(subject)
    assert {tuple(v) for k, v in order.items() if k != leaver.email} == {
        ("Welcome 1", "Welcome 2", "Welcome 3")
    }
    assert order[leaver.email] == ["Welcome 1"]
    assert Delivery.objects.filter(subscriber=leaver).count() == 1


def test_a_paused_sequence_holds_its_emails_until_resumed(
    start_worker_and_beat, smtp_sink, newsletter, admin_client
):
    sequence = welcome_sequence(newsletter, 0 * SECONDS)
    control = reverse("admin:issues_welcomesequence_control", args=[sequence.pk])
    assert admin_client.post(control, {"action": "pause"}).status_code == 302
    # A second newsletter's running sequence shows that beat planned after they confirmed.
    other = make_newsletter("other", "Other")
    welcome_sequence(other, 0 * SECONDS, title="Other")
    readers = [join_directly(f"held{n}@example.com", [newsletter, other]) for n in range(20)]
    app.control.purge()  # the consent mails are not under test
    worker = start_worker_and_beat()

    wait_until(lambda: len(step_mails(smtp_sink, "Other")) >= 20, timeout=90, what="the others")
    assert not step_mails(smtp_sink)
    assert not Delivery.objects.filter(issue__sequence_step__sequence=sequence).exists()

    # While it is paused, one address bounces hard: suppression holds for the sequence too.
    bounced = services.suppress(readers[0], SuppressionEvent.Kind.BOUNCE, reason="550")
    assert admin_client.post(control, {"action": "resume"}).status_code == 302
    wait_until(lambda: len(step_mails(smtp_sink)) >= 19, timeout=90, what="19 held emails")
    nothing_more_to_come(worker)
    received = step_mails(smtp_sink)
    assert set(received.values()) == {1}
    assert {rcpt for (_, rcpt) in received} == {r.email for r in readers} - {bounced.email}


def test_an_edited_step_reaches_only_readers_not_sent_it_and_is_never_published(
    start_worker_and_beat, smtp_sink, newsletter, admin_client, client
):
    sequence = welcome_sequence(newsletter, 0 * SECONDS, title="Hello")
    step = sequence.steps.get()
    early = [join_directly(f"early{n}@example.com", [newsletter]) for n in range(20)]
    app.control.purge()  # the consent mails are not under test
    worker = start_worker_and_beat()
    wait_until(lambda: len(step_mails(smtp_sink, "Hello")) >= 20, timeout=60, what="first 20")

    link_table = TrackedLink.objects.filter(issue_id=step.issue_id).values_list("position", "url")
    links_sent = set(link_table.all())
    # The editor rewrites the email in the issue editor, posting the form as a browser does.
    change = reverse("admin:issues_issue_change", args=[step.issue_id])
    page = admin_client.get(change)
    assert "Send now" not in page.content.decode()
    fields = submitted_fields(page.content.decode(), "issue_form")
    fields = [
        (name, "Quokkas say hello from the second version." if name.endswith("body") else value)
        for name, value in fields
    ]
    saved = admin_client.post(change, {**as_post_data(fields), "_continue": "Save"})
    assert saved.status_code == 302, saved.content[:500]

    late = [join_directly(f"late{n}@example.com", [newsletter]) for n in range(20)]
    wait_until(lambda: len(step_mails(smtp_sink, "Hello")) >= 40, timeout=60, what="next 20")
    nothing_more_to_come(worker)
    received = step_mails(smtp_sink, "Hello")
    assert set(received.values()) == {1}
    second_version = {
        m.rcpt_tos[0]
        for m in smtp_sink.messages
        if m.message["Subject"] == "Hello 1" and "Quokkas say hello" in m.message.as_string()
    }
    assert second_version == {r.email for r in late}
    # The links the first readers hold still lead where they did.
    assert links_sent and links_sent <= set(link_table.all())  # read again
    assert not second_version & {r.email for r in early}

    # Published nowhere: archive, feeds, sitemap, search, its own would-be page.
    issue = Issue.objects.get(pk=step.issue_id)
    assert issue.status == Issue.Status.DRAFT
    for url in ("/archive/", "/feed/", "/feed/atom/", "/sitemap.xml", "/search/?q=Quokkas"):
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.content.decode()
        assert "from the second version" not in body, url
        assert "Hello 1" not in body, url
        assert issue.slug not in body, url
    assert client.get(issue.get_absolute_url()).status_code == 404
    # And the email itself points to no public page.
    message = next(m for m in smtp_sink.messages if m.message["Subject"] == "Hello 1")
    assert issue.get_absolute_url() not in message.message.as_string()
    assert re.search(r"/unsubscribe/", message.message["List-Unsubscribe"])
