"""An ESP's open or click names no message: the ESP's event id (or, without one, our
message id) is stored keyed with the issue's reader salt, so once the salt is gone the row
cannot be tied to a delivery, and so to a person, through it."""

from datetime import timedelta

from issues.engagement import pseudonyms
from issues.models import LATE_READER, Click, Delivery, Dispatch, Open
from tests.support.webhooks import LINK, post, postmark, sent_issue


def test_esp_events_name_no_message_count_once_and_still_count_late(client, esp):
    issue, (first, second, _) = sent_issue(track_clicks=False)
    post(client, postmark("Open", first))
    post(client, postmark("Open", first))  # the same webhook, retried
    post(client, postmark("Click", first, OriginalLink=LINK))
    assert (Open.objects.count(), Click.objects.count()) == (1, 1)
    message_ids = set(Delivery.objects.values_list("message_id", flat=True)) - {""}
    assert len(message_ids) == 3
    stored = list(Open.objects.values_list("event_id", flat=True))
    stored += list(Click.objects.values_list("event_id", flat=True))
    # (The test backend's message ids are "1", "2"...: compared as parts, not substrings.)
    assert [e for e in stored if set(e.split(":")) & message_ids] == []

    finished = Dispatch.objects.get(issue=issue).finished_at
    assert pseudonyms.drop_final_salts(now=finished + timedelta(days=31)) == 1
    post(client, postmark("Open", second, ReceivedAt="2026-12-30T11:00:00Z"))
    late = Open.objects.get(reader=LATE_READER)
    assert late.event_id.startswith("esp:late:")
    assert second.message_id not in late.event_id.split(":")
