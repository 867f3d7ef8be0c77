"""The ESP's opens and clicks (anymail's normalized ``tracking`` events), merged with ours.

The merge rule, per kind of event, for one issue: exactly one source counts.

- Clicks: when the issue's links were rewritten (our click tracking was on when it was
  sent: its link table has the canary), our redirect saw every click; an ESP that also
  tracks clicks wraps our tracked URL in its own, so its "clicked" event is the same click
  seen twice and is not counted. Otherwise the ESP's click is stored, matched to the link
  table by URL.
- An ESP's click is judged by our machine rules when the ESP passes the reader's user
  agent; without one (some ESPs never pass it) nothing tells a person from a gateway, so it
  is kept out of people's figures and counted apart, as "reported by the ESP"
  (``MachineReason.UNJUDGED``).
- Opens: when the newsletter's own pixel is on, the ESP's "opened" is the same open (both
  images load together) and is not counted; otherwise it is stored as an estimate.

ESP events count once however often the webhook is retried (``event_id``, keyed with the
issue's reader salt so that it names no message once the salt is gone), follow the
newsletter's privacy settings like our own, and record nothing for a reader who asked for
no tracking.
"""

from anymail.signals import EventType
from django.utils import timezone

from ..models import Click, Delivery, Open, TrackedLink
from .machines import SCANNER_AGENTS, MachineReason, request_reason
from .pseudonyms import Pseudonyms


def record_esp_engagement(event, esp_name: str, message_id: str) -> bool:
    """Store an ESP's open or click on the issue of the delivery ``message_id`` names;
    True when it was counted (False: a duplicate of ours, unknown, or not to be kept)."""
    delivery = (
        Delivery.objects.filter(message_id=message_id)
        .select_related("issue__newsletter", "subscriber")
        .first()
    )
    if delivery is None or delivery.subscriber.no_tracking:
        return False
    issue, newsletter = delivery.issue, delivery.issue.newsletter
    pseudonyms = Pseudonyms([issue.pk])
    if not pseudonyms.tracks(issue.pk):
        return False
    key = event.event_id or f"{message_id}:{event.event_type}:{event.timestamp}"
    agent = event.user_agent or ""
    at = event.timestamp or timezone.now()
    reader = pseudonyms.of(issue.pk, delivery.subscriber_id, delivery.finished_at or at)
    common = {
        "issue": issue,
        "reader": reader,
        "variant": delivery.variant,
        "subscriber_id": delivery.subscriber_id if newsletter.subscriber_history else None,
        "at": at,
        "is_machine": bool(agent and SCANNER_AGENTS.search(agent)),
        "event_id": pseudonyms.event_id(issue.pk, f"{esp_name}:{key}"),
    }
    if event.event_type == EventType.OPENED:
        if newsletter.track_opens:
            return False
        rows = Open.objects.bulk_create(
            [Open(source=Open.Source.ESP, **common)], ignore_conflicts=True
        )
        return bool(rows and rows[0].pk)
    if event.event_type == EventType.CLICKED:
        links = TrackedLink.objects.filter(issue=issue)
        if links.filter(is_canary=True).exists():
            return False
        link = links.filter(url=event.click_url or "").first()
        reason = request_reason("GET", agent, False) if agent.strip() else MachineReason.UNJUDGED
        common["is_machine"] = bool(reason)
        return insert_once(
            Click(source=Click.Source.ESP, link=link, machine_reason=reason, **common)
        )
    return False


def insert_once(row: Click | Open) -> bool:
    """Insert unless this event was stored already (a webhook retried); True if inserted."""
    model = type(row)
    if model.objects.filter(event_id=row.event_id).exists():
        return False
    model.objects.bulk_create([row], ignore_conflicts=True)  # a concurrent retry adds nothing
    return True
