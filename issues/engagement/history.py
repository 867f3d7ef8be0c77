"""What the issues app keeps about one subscriber, for the audience's privacy flows.

Registered with ``subscribers.services.register_personal_data`` from the issues app's
``ready``: the audience asks, and never imports this. Three kinds of rows name a person:

- their deliveries (which emails were sent to them, and what the ESP said of each), kept
  until retention rolls the issue's ledger up (``DELIVERY_RETENTION_DAYS``);
- clicks and opens linked to them, only where a newsletter keeps per-subscriber history;
- their quiz votes from the email, linked or under the same pseudonym, as clicks are;
- every other click and open, under a per-issue pseudonym that can be worked out from their
  subscriber id while the issue's reader salt lasts (``pseudonyms``).

The download lists all three, in the reader's words. Forgetting a person (erasure, or
asking for no tracking) *detaches* their clicks and opens instead of deleting them: the
rows lose every link to the person and take one random pseudonym per (person, issue), so
every report keeps its totals and unique counts. (Erasure deletes the deliveries with the
subscriber.)
"""

from django.conf import settings
from django.db.models import Case, CharField, Q, Value, When
from django.db.models.functions import Cast, Concat

from ..models import LATE_READER, Click, Delivery, IssueSalt, Newsletter, Open, QuizVote
from .attribution import issue_of_campaign
from .pseudonyms import random_pseudonym, reader_hash, salt_days

DETACHED_EVENT = "detached:"  # the event id of a detached row: this prefix and its own pk


def own_rows(subscriber) -> Q:
    """The clicks and opens that are this person's: linked to them, or under the
    pseudonym their subscriber id gives with a salt that still exists."""
    found = Q(subscriber=subscriber)
    delivered = Delivery.objects.filter(subscriber=subscriber).values("issue_id")
    salts = (
        IssueSalt.objects.filter(issue_id__in=delivered)
        .exclude(reader_salt="")
        .values_list("issue_id", "reader_salt")
    )
    for issue_id, salt in salts:
        found |= Q(issue_id=issue_id, reader=reader_hash(salt, subscriber.pk))
    return found


def own_votes(mine: Q):
    """This person's quiz votes from the email: the same pseudonym (or link) as their clicks."""
    return QuizVote.objects.filter(mine, channel=QuizVote.Channel.EMAIL)


def when(value) -> str | None:
    return value.isoformat() if value else None


def salt_lifetime() -> str:
    days = salt_days()
    if days <= 0:
        return "This site keeps that key for good."
    return (
        f"{days} days after an issue was last sent, its key is deleted: from then on those "
        "records cannot be linked to you by anyone."
    )


def ledger_lifetime() -> str:
    """How long deliveries name the reader (retention never rolls up welcome emails)."""
    days = settings.DELIVERY_RETENTION_DAYS
    if days <= 0:
        return "until you delete your data"
    return (
        f"for {days} days after each issue is sent, then only totals per issue remain "
        "(welcome emails: until you delete your data)"
    )


class EngagementHistory:
    name = "emails"

    def notices(self, subscriber) -> list[str]:
        notes = [
            "We keep which of our emails were sent to you and whether your mail server "
            f"accepted them, {ledger_lifetime()}."
        ]
        if subscriber.no_tracking:
            return notes + [
                "You asked for no tracking: links in our emails still work, and nothing about "
                "what you open or click is recorded. What was recorded before stays only in "
                "anonymous counts: it was detached from you."
            ]
        newsletters = Newsletter.objects.filter(
            subscriptions__subscriber=subscriber, subscriptions__status="active"
        ).order_by("name")
        tracking = False
        for newsletter in newsletters:
            opens = " and when you open them (their images load)" if newsletter.track_opens else ""
            if newsletter.subscriber_history:
                tracking = True
                notes.append(
                    f"{newsletter.name} keeps which links you click in its emails{opens}, "
                    "and your votes in its quizzes, linked to your address. Your data "
                    "download lists them."
                )
            elif newsletter.track_clicks or newsletter.track_opens:
                tracking = True
                what = "which links you click in its emails" if newsletter.track_clicks else ""
                what = " and ".join(filter(None, [what, opens.removeprefix(" and ")]))
                notes.append(
                    f"{newsletter.name} records {what}, under a code that differs in every "
                    "issue and is kept apart from your address. Our key for an issue turns "
                    "your subscriber number into that code, which is how we count how many "
                    f"different readers clicked. {salt_lifetime()}"
                )
        if tracking:
            notes.append(
                "If you delete your data or ask for no tracking, your past clicks and opens "
                "stay only in anonymous counts: each loses every link to you."
            )
        return notes

    def export(self, subscriber) -> dict:
        deliveries = (
            Delivery.objects.filter(subscriber=subscriber)
            .select_related("issue__newsletter")
            .order_by("finished_at", "pk")
        )
        mine = own_rows(subscriber)
        clicks = Click.objects.filter(mine).select_related("issue__newsletter", "link")
        opens = Open.objects.filter(mine).select_related("issue__newsletter")
        return {
            "received": [
                {
                    **about(delivery.issue),
                    "status": delivery.get_status_display(),
                    "sent_at": when(delivery.finished_at),
                    "delivered_at": when(delivery.delivered_at),
                    "bounced_at": when(delivery.bounced_at),
                    "complained_at": when(delivery.complained_at),
                }
                for delivery in deliveries
            ],
            "clicks": [
                {
                    **about(click.issue),
                    "link": click.link.url if click.link else "(a link we no longer know)",
                    "at": when(click.at),
                    **counted(click),
                }
                for click in clicks.order_by("at", "pk")
            ],
            "opens": [
                {**about(opened.issue), "at": when(opened.at), **counted(opened)}
                for opened in opens.order_by("at", "pk")
            ],
            "quiz_votes": [
                {**about(vote.issue), "quiz": vote.quiz, "headline": vote.pick, "at": when(vote.at)}
                for vote in own_votes(mine).select_related("issue__newsletter").order_by("at", "pk")
            ],
        }

    def forget(self, subscriber) -> None:
        """Detach: one random pseudonym per issue for all this person's rows in it, no
        subscriber, an event id that is the row's own (the old one could name the ESP
        message). A late row stays late, counted as no unique reader."""
        mine = own_rows(subscriber)
        issues = set(Click.objects.filter(mine).values_list("issue_id", flat=True))
        issues |= set(Open.objects.filter(mine).values_list("issue_id", flat=True))
        votes = own_votes(mine)
        for issue_id in issues | set(votes.values_list("issue_id", flat=True)):
            pseudonym = random_pseudonym()
            # A vote keeps counting, one per (person, quiz) as before, naming nobody.
            votes.filter(issue_id=issue_id).update(reader=pseudonym, subscriber=None)
            for model in (Click, Open):
                model.objects.filter(mine, issue_id=issue_id).update(
                    reader=Case(
                        When(reader=LATE_READER, then=Value(LATE_READER)),
                        default=Value(pseudonym),
                    ),
                    subscriber=None,
                    event_id=Concat(Value(DETACHED_EVENT), Cast("pk", CharField())),
                )

    def campaign_name(self, campaign: str) -> str | None:
        """The email an unsubscribe link came from, as the reader knows it."""
        issue = issue_of_campaign(campaign)
        return f"{issue.newsletter.name}: {issue.title}" if issue else None


def about(issue) -> dict:
    return {"newsletter": issue.newsletter.name, "email": issue.title}


def counted(row) -> dict:
    return {"counted_as": "a machine (a link scanner)" if row.is_machine else "a person"}
