"""The one send loop (``issues.delivery.transports.send_batch``) over the real SMTP
transport: a refused recipient is that recipient's outcome, a lost connection sends the
rest of the batch back untried, and the next batch goes on over a new connection."""

from django.utils import timezone

from issues.delivery import send_next_batch
from issues.models import Delivery
from tests.support.delivery import planned_dispatch


def hang_up_once_at(sink, address):
    """The sink closes the connection when ``address`` is offered to it, the first time."""
    accept = sink.handler.handle_RCPT
    hung_up = []

    async def handle_RCPT(server, session, envelope, rcpt, options):
        if rcpt == address and not hung_up:
            hung_up.append(rcpt)
            server.transport.close()
            return "421 4.3.2 Closing the connection"
        return await accept(server, session, envelope, rcpt, options)

    sink.handler.handle_RCPT = handle_RCPT


def test_a_connection_lost_mid_batch_sends_the_rest_back_untried_and_the_next_batch_goes_on(
    db, smtp_sink, settings
):
    settings.SEND_RETRY_BASE_SECONDS = 30
    dispatch = planned_dispatch(6)

    rows = list(dispatch.deliveries.select_related("subscriber").order_by("pk"))
    smtp_sink.replies[rows[1].subscriber.email] = "550 5.1.1 No such user"
    hang_up_once_at(smtp_sink, rows[3].subscriber.email)
    before = timezone.now()

    assert send_next_batch(dispatch) == 6

    by_row = {row.pk: row for row in dispatch.deliveries.all()}
    outcome = [(by_row[r.pk].status, by_row[r.pk].attempts) for r in rows]
    assert outcome == [
        ("sent", 1),
        ("failed", 1),  # the recipient refused for good: its own outcome
        ("sent", 1),
        ("pending", 1),  # the connection went with it: tried, to be tried again
        ("pending", 0),  # never tried: no attempt counted
        ("pending", 0),
    ]
    assert "No such user" in by_row[rows[1].pk].last_error
    untried = [by_row[r.pk] for r in rows[4:]]
    assert all(row.next_attempt_at >= before + timezone.timedelta(seconds=29) for row in untried)
    assert [m.rcpt_tos for m in smtp_sink.messages] == [
        [rows[0].subscriber.email],
        [rows[2].subscriber.email],
    ]

    dispatch.deliveries.filter(status=Delivery.Status.PENDING).update(
        next_attempt_at=timezone.now()
    )
    assert send_next_batch(dispatch) == 3  # a new connection for the next batch

    assert dispatch.deliveries.filter(status="sent").count() == 5
    assert len(smtp_sink.messages) == 5
