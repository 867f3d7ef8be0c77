"""What engagement keeps about one subscriber, for the audience's privacy flows.

Registered with ``subscribers.services.register_personal_data`` from the issues app's
``ready``: the audience asks, and never imports this. Only newsletters with per-subscriber
history link a click or open to the subscriber; elsewhere rows carry a salted per-issue
hash. Forgetting a person (erasure, or asking for no tracking) removes both: the linked
rows, and the hashed ones, found by hashing their id with each salt of the issues they
were sent.
"""

from django.db.models import Q

from ..models import Click, Delivery, IssueSalt, Newsletter, Open
from .recorder import reader_hash


class EngagementHistory:
    name = "engagement"

    def notices(self, subscriber) -> list[str]:
        if subscriber.no_tracking:
            return [
                "You asked for no tracking: links in our emails still work, and nothing about "
                "what you open or click is recorded."
            ]
        newsletters = Newsletter.objects.filter(
            subscriptions__subscriber=subscriber, subscriptions__status="active"
        ).order_by("name")
        notes = []
        for newsletter in newsletters:
            if newsletter.subscriber_history:
                notes.append(
                    f"{newsletter.name} keeps which links you click"
                    + (" and which issues you open" if newsletter.track_opens else "")
                    + " in its emails, linked to you. Your data download includes it."
                )
            elif newsletter.track_clicks or newsletter.track_opens:
                notes.append(
                    f"{newsletter.name} counts clicks"
                    + (" and opens" if newsletter.track_opens else "")
                    + " per issue without recording who made them."
                )
        return notes

    def export(self, subscriber) -> dict:
        clicks = Click.objects.filter(subscriber=subscriber).select_related("issue", "link")
        opens = Open.objects.filter(subscriber=subscriber).select_related("issue")
        return {
            "clicks": [
                {
                    "issue": str(click.issue),
                    "url": click.link.url if click.link else None,
                    "at": click.at.isoformat(),
                }
                for click in clicks.order_by("at")
            ],
            "opens": [
                {"issue": str(o.issue), "at": o.at.isoformat()} for o in opens.order_by("at")
            ],
        }

    def forget(self, subscriber) -> None:
        issues = Delivery.objects.filter(subscriber=subscriber).values("issue_id")
        hashed = Q(subscriber=subscriber)
        for issue_id, salt in IssueSalt.objects.filter(issue_id__in=issues).values_list(
            "issue_id", "salt"
        ):
            hashed |= Q(issue_id=issue_id, reader=reader_hash(salt, subscriber.pk))
        Click.objects.filter(hashed).delete()
        Open.objects.filter(hashed).delete()
