"""Through Postmark's batch endpoint: a fake of Postmark's API on loopback takes each claimed
batch in one call (500 messages at most), and each reader's result lands on their row."""

import pytest
from hypothesis import given
from hypothesis import settings as examples
from hypothesis import strategies as st

from bench.fake_postmark import FakePostmark
from issues import delivery
from issues.delivery.transports import postmark_batch
from subscribers.tokens import read_unsubscribe_link
from tests.support.delivery import planned_dispatch
from tests.support.webhooks import WEBHOOK_SECRET, post, postmark

pytestmark = pytest.mark.django_db
LIMIT_BYTES = 60_000  # three of the test issue's messages (about 19 KB of JSON each)


@pytest.fixture
def fake_postmark(settings):
    """The fake API keeping what it accepts; anymail's Postmark settings point at it."""
    fake = FakePostmark(keep=True).start()
    settings.EMAIL_BACKEND = "anymail.backends.postmark.EmailBackend"
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "POSTMARK_SERVER_TOKEN": "test-server-token",
        "POSTMARK_API_URL": f"http://127.0.0.1:{fake.port}/",
        # Long enough for a call of 500 on a busy machine (the fake shares this process):
        # a call timed out is retried, and the fake counts the batch twice.
        "REQUESTS_TIMEOUT": 10,
        "WEBHOOK_SECRET": WEBHOOK_SECRET,  # its tracking webhook, for the event about a row
    }
    settings.SEND_RETRY_BASE_SECONDS = 0  # a retry is due at once: the sender's loop takes it
    yield fake
    fake.stop()


def unsubscribe_link_of(message):
    """The https link of a message's List-Unsubscribe header."""
    headers = {header["Name"]: header["Value"] for header in message["Headers"]}
    return headers["List-Unsubscribe"].split("<", 1)[1].split(">", 1)[0]


def test_a_batch_is_one_call_and_every_reader_gets_one_message_with_their_own_links(
    fake_postmark, client
):
    dispatch = planned_dispatch(30)
    delivery.run_sender(dispatch.pk)

    assert fake_postmark.calls == [("/email/batch", 30)]
    rows = {row.subscriber.email: row for row in dispatch.deliveries.select_related("subscriber")}
    assert sorted(m["To"] for m in fake_postmark.kept) == sorted(rows)
    for message in fake_postmark.kept:
        row = rows[message["To"]]
        assert (row.status, row.message_id) == ("sent", message["MessageID"])
        link = unsubscribe_link_of(message)
        token = link.rsplit("/unsubscribe/", 1)[1].strip("/")
        assert read_unsubscribe_link(token).subscriber_id == row.subscriber_id
        assert link in message["HtmlBody"] and link in message["TextBody"]
        assert "%%" not in message["HtmlBody"] + message["TextBody"]
        headers = {header["Name"]: header["Value"] for header in message["Headers"]}
        assert headers["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert headers["Feedback-ID"].startswith(f"{dispatch.issue_id}:")
        assert {"List-Id", "Message-ID", "Auto-Submitted"} <= set(headers)
        assert message["Metadata"] == {"delivery": str(row.pk)}
        assert message["Subject"] == dispatch.snapshot.subject
    # Postmark's webhooks name its MessageID: the event finds the row.
    row = next(iter(rows.values()))
    post(client, postmark("Delivery", row))
    row.refresh_from_db()
    assert row.esp_event == "delivered"


def test_an_inactive_recipient_fails_with_postmarks_reason_and_the_others_are_sent(
    fake_postmark,
):
    dispatch = planned_dispatch(12)
    inactive = dispatch.deliveries.select_related("subscriber").order_by("id")[4]
    fake_postmark.inactive = {inactive.subscriber.email}
    delivery.run_sender(dispatch.pk)

    inactive.refresh_from_db()
    assert (inactive.status, inactive.attempts) == ("failed", 1)
    assert inactive.last_error.startswith("Postmark 406: You tried to send to recipient(s)")
    assert inactive.finished_at is not None and inactive.message_id == ""
    assert dispatch.deliveries.filter(status="sent").count() == 11
    assert fake_postmark.calls == [("/email/batch", 12)]


def test_a_failed_or_unanswered_batch_call_is_retried_and_nobody_gets_two(fake_postmark, settings):
    settings.ANYMAIL = {**settings.ANYMAIL, "REQUESTS_TIMEOUT": 0.5}  # the stall outlasts it
    dispatch = planned_dispatch(20)
    fake_postmark.failures = [503, "stall"]  # then it answers
    fake_postmark.stall_seconds = 1.0
    delivery.run_sender(dispatch.pk)

    assert sorted(m["To"] for m in fake_postmark.kept) == sorted(
        dispatch.deliveries.values_list("subscriber__email", flat=True)
    )
    assert fake_postmark.calls == [("/email/batch", 20)]
    rows = list(dispatch.deliveries.all())
    assert {(row.status, row.attempts) for row in rows} == {("sent", 3)}
    kept_ids = {m["MessageID"] for m in fake_postmark.kept}
    assert {row.message_id for row in rows} == kept_ids


def test_a_claimed_batch_over_500_goes_in_calls_of_at_most_500(fake_postmark, settings):
    settings.SEND_BATCH_SIZE = 501
    dispatch = planned_dispatch(501)
    delivery.run_sender(dispatch.pk)

    assert fake_postmark.calls == [("/email/batch", 500), ("/email/batch", 1)]
    assert dispatch.deliveries.filter(status="sent").count() == 501
    assert len({m["To"] for m in fake_postmark.kept}) == 501


def test_calls_stay_under_the_body_limit_and_a_failed_call_leaves_the_earlier_ones_sent(
    fake_postmark, monkeypatch
):
    """With the limit at a few messages' bytes (the fake refuses a body over it), a batch
    goes in several calls; the second fails, and only its readers and the rest are retried."""
    monkeypatch.setattr(postmark_batch, "BATCH_BYTES", LIMIT_BYTES)
    fake_postmark.batch_bytes = LIMIT_BYTES
    fake_postmark.failures = [None, 500]
    dispatch = planned_dispatch(10)
    delivery.run_sender(dispatch.pk)

    sizes = [count for _, count in fake_postmark.calls]
    assert sum(sizes) == 10 and len(sizes) >= 3 and max(sizes) < 10
    rows = {row.subscriber.email: row for row in dispatch.deliveries.select_related("subscriber")}
    assert sorted(m["To"] for m in fake_postmark.kept) == sorted(rows)
    first_call = {m["To"] for m in fake_postmark.kept[: sizes[0]]}
    assert {rows[email].attempts for email in first_call} == {1}
    assert {row.attempts for email, row in rows.items() if email not in first_call} == {2}
    assert {row.status for row in rows.values()} == {"sent"}


@examples(max_examples=50, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=6), min_size=1, max_size=4), max_size=1200))
def test_requests_hold_every_entry_once_in_order_within_postmarks_limits(entries):
    """The request bodies, built from each entry's parts in one join, are the entries'
    bytes as a JSON list, cut at most 500 entries and ``BATCH_BYTES`` a request."""
    whole = [b"".join(parts) for parts in entries]
    start, bodies = 0, []
    for end in postmark_batch.request_ends([len(entry) for entry in whole]):
        assert 0 < end - start <= postmark_batch.BATCH_MESSAGES
        bodies.append(postmark_batch.json_list(entries[start:end]))
        assert bodies[-1] == b"[" + b",".join(whole[start:end]) + b"]"
        start = end
    assert start == len(entries)
