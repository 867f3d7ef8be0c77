"""Every path through a send ends in a true state: a Hypothesis state machine over the real
delivery functions.

The machine starts sends (to everyone, a tag, a segment, with a subject test, to the rest),
steers them as the admin's controls do (pause, resume, cancel, retry failed), runs what a
worker runs (due tasks, one batch, a batch with a control pressed while it is in flight),
lets time pass on a controlled clock with beat's sweep (a subject test's four hours, a dead
worker's lease, a retry's backoff), kills a worker holding a claim, makes the SMTP sink
refuse a reader for a while or for good, and corrects the web version. The task bodies run
in this process against the test's database; mail goes to a real SMTP server on loopback.

After every step:
- nobody gets the issue twice, and the sink holds exactly the readers the ledger says were sent;
- the issue is published exactly when someone got it (its web page answers then, and only then);
- once nothing is sending, "Send to the rest…" counts exactly the readers who did not get it
  (and is offered until a send to everyone has finished);
- each dispatch's progress JSON, the delivery report and the "sent" figure agree with the ledger;
- no dispatch stays live with nothing left to do.
At the end of each run every send still going is let finish, and must.

``make check``/``make test`` run a bounded number of examples (about half a minute on the
shared machine); ``make soak`` sets ``SUPERFAST_SOAK=1`` for a long run.
"""

import os
from collections import Counter
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.test import Client, TestCase
from django.utils import timezone
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from issues import delivery
from issues.compose.corrections import correct_web_version
from issues.delivery import message, sender
from issues.delivery.queue import PLAN
from issues.delivery.subject_tests import validate_setup
from issues.models import Delivery, Dispatch, Issue, SubjectTest
from issues.models.delivery import LIVE_DISPATCH
from issues.reports.delivery import progress, report
from issues.reports.sent import sent_per_issue
from subscribers.models import Segment, Subscriber, Tag
from subscribers.services import add_tag
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue
from tests.support.tasks import Clock, InProcessQueue

Status = Delivery.Status
READERS = 10
BATCH = 3
LEASE_SECONDS = 45
MAX_ATTEMPTS = 3
TRANSIENT = "451 4.7.1 Greylisted, try again later"
PERMANENT = "550 5.1.1 No such user here"
CONTROLS = {
    "pause": delivery.pause,
    "resume": delivery.resume,
    "cancel": delivery.cancel,
    "retry": delivery.retry_failed,
}

if os.environ.get("SUPERFAST_SOAK"):
    RUN = hypothesis_settings(max_examples=400, stateful_step_count=60, deadline=None)
else:
    RUN = hypothesis_settings(
        max_examples=int(os.environ.get("LIFECYCLE_EXAMPLES", "15")),
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


def committed():
    """Run what the code defers to its transaction's commit (enqueueing the plan, the
    senders after a verdict) at the end of the block: the test's transaction never commits."""
    return TestCase.captureOnCommitCallbacks(execute=True)


@pytest.fixture
def audience(db):
    """Ten readers (tag "early" on 0-4, tag "late" on 3-7), a segment of those not
    tagged "early", and a subscriber who never confirmed."""
    issue = make_issue(frozen=True, sections=2)
    readers = make_subscribers(issue.newsletter, READERS)
    make_subscribers(issue.newsletter, 1, prefix="unconfirmed", status="pending")
    early, late = Tag.objects.create(name="early"), Tag.objects.create(name="late")
    add_tag(Subscriber.objects.filter(pk__in=[r.pk for r in readers[:5]]), early)
    add_tag(Subscriber.objects.filter(pk__in=[r.pk for r in readers[3:8]]), late)
    not_early = Segment.objects.create(name="Not early")
    not_early.tags_none.add(early)
    return issue, [r.email for r in readers], [early, late], not_early


def test_every_path_through_a_send_ends_in_a_true_state(audience, smtp_sink, settings, monkeypatch):
    issue, emails, tags, segment = audience
    django_settings = settings
    django_settings.SEND_BATCH_SIZE = BATCH
    django_settings.SEND_PARALLEL_TASKS = 2
    django_settings.SEND_LEASE_SECONDS = LEASE_SECONDS
    django_settings.SEND_MAX_ATTEMPTS = MAX_ATTEMPTS
    django_settings.SEND_RETRY_BASE_SECONDS = 60
    django_settings.SEND_RATE_PER_SECOND = 0
    django_settings.SEND_AUTOPAUSE_WINDOW = 4
    # The archive's one-second memory of what is public is a documented lag, not the
    # lifecycle's: the machine reads the page as it is at each step.
    django_settings.ARCHIVE_FRESHNESS_SECONDS = 0
    clock = Clock(timezone.now())
    monkeypatch.setattr(timezone, "now", clock)
    queue = InProcessQueue(clock).install(monkeypatch)

    class SendingLifecycle(RuleBasedStateMachine):
        def __init__(self):
            super().__init__()
            self.savepoint = transaction.atomic()
            self.savepoint.__enter__()
            queue.tasks.clear()
            smtp_sink.handler.received.clear()
            smtp_sink.replies.clear()
            # Ids of rolled-back runs come again (SQLite): nothing cached may outlive a run.
            message._message_cache.clear()
            cache.clear()
            # The test group of a subject test is drawn by the database's random(): seeded, a
            # run replays the same way, and Hypothesis can shrink what it found.
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT setseed(0.5)")
            self.checked = None
            self.look()

        def teardown(self):
            try:
                self.let_every_send_finish()
            finally:
                transaction.set_rollback(True)
                self.savepoint.__exit__(None, None, None)

        # What the machine looks at: read once after each step (the invariant below), so
        # choosing the next rule costs no query.

        def look(self):
            self.issue = Issue.objects.get(pk=issue.pk)
            self.dispatches = list(Dispatch.objects.filter(issue=issue))  # latest first
            self.latest = self.dispatches[0] if self.dispatches else None
            live = [d for d in self.dispatches if d.status in LIVE_DISPATCH]
            self.live = live[0] if live else None
            self.sending = self.live if self.live and self.live.status == "sending" else None
            self.rows = list(
                Delivery.objects.filter(issue=issue).values_list(
                    "dispatch_id", "status", "subscriber__email", "bounced_at"
                )
            )

        def in_flight(self) -> bool:
            return any(status == Status.SENDING for _, status, _, _ in self.rows)

        def received(self) -> Counter:
            return Counter(r for m in smtp_sink.messages for r in m.rcpt_tos)

        # Sends, as the confirmation page starts them.

        def start(self, planned_at_once, **audience_and_test):
            """Confirm a send; a worker plans it at once, or later (a cancel may come first)."""
            with committed():
                delivery.start_dispatch(self.issue, **audience_and_test)
            if planned_at_once:
                with committed():
                    queue.run_next(PLAN)

        @precondition(lambda self: self.live is None and self.issue.status != Issue.Status.SENT)
        @rule(at_once=st.booleans())
        def send_to_everyone(self, at_once):
            """Send now… to everyone."""
            self.start(at_once)

        @precondition(lambda self: self.live is None and self.issue.status == Issue.Status.SENT)
        @rule(at_once=st.booleans())
        def send_to_the_rest(self, at_once):
            """Send to the rest… once some readers have it: everyone not sent it yet."""
            self.start(at_once)

        @precondition(lambda self: self.live is None)
        @rule(which=st.sampled_from([0, 1]), at_once=st.booleans())
        def send_to_a_tag(self, which, at_once):
            self.start(at_once, tag=tags[which])

        @precondition(lambda self: self.live is None)
        @rule(at_once=st.booleans())
        def send_to_a_segment(self, at_once):
            self.start(at_once, segment=segment)

        @precondition(lambda self: self.live is None)
        @rule(percent=st.sampled_from([20, 50]), to_tag=st.booleans(), at_once=st.booleans())
        def subject_test(self, percent, to_tag, at_once):
            setup = validate_setup(
                self.issue,
                [self.issue.subject, "B: another way"],
                percent,
                timedelta(hours=4),
                "clicks",
            )
            self.start(at_once, subject_test=setup, **({"tag": tags[1]} if to_tag else {}))

        # The delivery page's controls.

        @precondition(lambda self: self.latest is not None)
        @rule(action=st.sampled_from(sorted(CONTROLS)))
        def control(self, action):
            with committed():
                CONTROLS[action](self.latest)

        # A worker.

        @rule()
        def worker_runs_due_tasks(self):
            with committed():
                queue.run_due()

        @precondition(lambda self: self.sending is not None)
        @rule()
        def worker_sends_one_batch(self):
            with committed():
                delivery.send_next_batch(self.sending)

        @precondition(lambda self: self.sending is not None)
        @rule(action=st.sampled_from(sorted(CONTROLS)))
        def control_while_a_batch_is_in_flight(self, action):
            """A batch is claimed, the editor presses a control, the batch is sent and marked."""
            claim = sender.claim

            def claim_then_press(dispatch):
                claimed = claim(dispatch)
                CONTROLS[action](Dispatch.objects.get(pk=dispatch.pk))
                return claimed

            with committed(), pytest.MonkeyPatch.context() as patch:
                patch.setattr(sender, "claim", claim_then_press)
                delivery.send_next_batch(self.sending)

        @precondition(lambda self: self.sending is not None)
        @rule(size=st.integers(1, BATCH))
        def worker_dies_holding_a_claim(self, size):
            """A worker claims a batch and is killed before it sends anything."""
            delivery.claim_batch(self.sending.pk, size)

        @rule(seconds=st.sampled_from([1, LEASE_SECONDS + 1, 10 * 60, 4 * 3600 + 1]))
        def time_passes_and_beat_sweeps(self, seconds):
            clock.advance(seconds)
            with committed():
                delivery.sweep(clock())

        # The reader's mail server.

        @initialize(
            readers=st.sets(st.integers(0, READERS - 1), max_size=READERS),
            reply=st.sampled_from([TRANSIENT, PERMANENT]),
        )
        def mail_server_refuses_from_the_start(self, readers, reply):
            """Most runs start with some readers refused: failures then meet every move."""
            self.mail_server_refuses(readers, reply)

        @rule(
            readers=st.sets(st.integers(0, READERS - 1), min_size=1, max_size=READERS),
            reply=st.sampled_from([TRANSIENT, PERMANENT]),
        )
        def mail_server_refuses(self, readers, reply):
            """Some readers' mail server refuses them for a while (4xx) or for good (5xx)."""
            for reader in readers:
                smtp_sink.replies[emails[reader]] = reply

        @precondition(lambda self: bool(smtp_sink.replies))
        @rule(data=st.data())
        def mail_server_accepts_again(self, data):
            del smtp_sink.replies[data.draw(st.sampled_from(sorted(smtp_sink.replies)))]

        # After sending.

        @precondition(lambda self: self.issue.status == Issue.Status.SENT)
        @rule()
        def correct_the_web_version(self):
            sent = self.issue.snapshot
            email = (sent.email_html, sent.text, sent.subject)
            corrected = correct_web_version(self.issue)
            assert (corrected.email_html, corrected.text, corrected.subject) == email
            assert corrected.web_updated_at is not None

        # What must hold after every step.

        @invariant()
        def after_every_step(self):
            self.look()
            self.nobody_gets_the_issue_twice()
            self.published_exactly_when_someone_got_it()
            state = (self.rows, [(d.pk, d.status, d.planned_count) for d in self.dispatches])
            if state != self.checked:  # pages are read again only when the ledger moved
                self.the_web_page_is_up_exactly_when_published()
                self.the_rest_is_everyone_who_did_not_get_it()
                self.figures_agree_with_the_ledger()
                self.checked = state
            self.no_dispatch_stays_live_with_nothing_left()

        def nobody_gets_the_issue_twice(self):
            received = self.received()
            assert all(n == 1 for n in received.values()), received.most_common(3)
            sent_to = {
                email for _, status, email, bounced in self.rows if status == "sent" or bounced
            }
            assert set(received) == sent_to

        def published_exactly_when_someone_got_it(self):
            someone = bool(self.received())
            assert (self.issue.status == Issue.Status.SENT) == someone, self.issue.status
            assert (self.issue.published_at is not None) == someone
            if self.issue.status == Issue.Status.DRAFT:
                assert self.live is None

        def the_web_page_is_up_exactly_when_published(self):
            """What "View in your browser" opens, as a reader's browser asks for it."""
            answer = Client().get(self.issue.get_absolute_url()).status_code
            assert answer == (200 if self.issue.status == Issue.Status.SENT else 404)

        def the_rest_is_everyone_who_did_not_get_it(self):
            if self.issue.status != Issue.Status.SENT or self.live is not None or self.in_flight():
                return  # a claimed row may be in a mail server's hands until its lease ends
            not_yet = set(emails) - set(self.received())
            assert delivery.recipient_count(self.issue) == len(not_yet)
            if not any(
                d.status == Dispatch.Status.DONE and not (d.segment_id or d.tag_id)
                for d in self.dispatches
            ):
                assert delivery.sent_to_part_only(self.issue), "the rest is not offered"

        def figures_agree_with_the_ledger(self):
            by_dispatch = {d.pk: Counter() for d in self.dispatches}
            for dispatch_id, status, _, _ in self.rows:
                by_dispatch[dispatch_id][status] += 1
            for dispatch in self.dispatches:
                rows = by_dispatch[dispatch.pk]
                if dispatch.status != Dispatch.Status.PLANNING:
                    assert dispatch.planned_count == sum(rows.values()), (dispatch.status, rows)
            if self.latest is None or self.latest.status == Dispatch.Status.PLANNING:
                return
            rows = by_dispatch[self.latest.pk]
            shown = progress(self.latest)  # what the delivery page polls
            assert (
                shown["planned"],
                shown["sent"],
                shown["failed"],
                shown["pending"],
                shown["cancelled"],
                shown["held"],
            ) == (
                sum(rows.values()),
                rows[Status.SENT],
                rows[Status.FAILED],
                rows[Status.PENDING] + rows[Status.SENDING],
                rows[Status.CANCELLED],
                rows[Status.HELD],
            ), (self.latest.status, rows)
            test = shown["subject_test"]
            if test and test["status"] == SubjectTest.Status.TESTING:
                assert test["held"] == rows[Status.HELD]
            all_rows = Counter(status for _, status, _, _ in self.rows)
            assert report(self.issue)["counts"] == {s.label: all_rows[s.value] for s in Status}
            assert sent_per_issue([issue.pk])[issue.pk] == len(self.received())

        def no_dispatch_stays_live_with_nothing_left(self):
            # Claimed rows of an ended dispatch may still be in flight until their lease ends;
            # none may wait for a send that will never come.
            waiting = {d for d, status, _, _ in self.rows if status in {"pending", "held"}}
            for dispatch in self.dispatches:
                if dispatch.status not in LIVE_DISPATCH:
                    assert dispatch.pk not in waiting, (
                        f"rows waiting in a {dispatch.status} dispatch"
                    )
            if any(task.due <= clock() for task in queue.tasks):
                return  # a worker has yet to run what was queued
            left = {d for d, status, _, _ in self.rows if status in {"pending", "held", "sending"}}
            for dispatch in self.dispatches:
                assert dispatch.status != Dispatch.Status.PLANNING, "planned by nobody"
                if dispatch.status in {Dispatch.Status.SENDING, Dispatch.Status.PAUSED}:
                    assert dispatch.pk in left, f"{dispatch.status} with nothing left to send"

        def let_every_send_finish(self):
            """The mail server recovers, paused sends resume, the clock runs, beat sweeps
            and workers work: every send still going must end."""
            smtp_sink.replies.clear()
            for _ in range(40):
                self.look()
                live = self.live
                if live is None and not self.in_flight():
                    break
                with committed():
                    if live and live.status == Dispatch.Status.PAUSED:
                        delivery.resume(live)
                    clock.advance(6 * 3600)
                    delivery.sweep(clock())
                    queue.run_due()
            self.checked = None
            self.after_every_step()
            assert self.live is None, f"{self.live} never ended"

    run_state_machine_as_test(SendingLifecycle, settings=RUN)
