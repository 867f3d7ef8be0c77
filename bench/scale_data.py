"""A newsletter at scale, written fast: set-based SQL (``INSERT … SELECT generate_series``).

``fill_scale(subscribers, issues)`` gives one newsletter ``subscribers`` readers (most
active, some pending, unsubscribed, bounced or complained; one in fifty tagged, one in a
hundred also reading a second newsletter), ``issues`` sent issues each delivered to every
reader (so ``subscribers × issues`` delivery rows: 1M × 10 = 10M), a draft, a handful of
links and clicks per issue, and fresh planner statistics. Rows are made in the database,
never in Python: a million subscribers take seconds, ten million deliveries a few minutes.
Run it inside a configured Django, on an empty database of its own
(``bench.support.ensure_database`` and ``reset_data``).
"""

from dataclasses import dataclass

# Out of every 100 readers: what the changelist filters find.
STATUS_SHARES = [("active", 90), ("pending", 4), ("unsubscribed", 4), ("bounced", 1)]
STATUS_REST = "complained"
CLICKS_PER_ISSUE = 20_000
LINKS_PER_ISSUE = 10
TAGGED_EVERY = 50
NOTES_EVERY = 100  # readers of the second newsletter


@dataclass(frozen=True)
class ScaleData:
    newsletter_id: int
    issue_ids: list[int]  # sent, oldest first
    draft_id: int
    tag_id: int  # carried by one reader in TAGGED_EVERY
    subscribers: int
    deliveries: int


def status_case(column: str) -> str:
    """SQL giving a status from ``column % 100`` in the shares above."""
    branches, upper = [], 0
    for status, share in STATUS_SHARES:
        upper += share
        branches.append(f"WHEN {column} %% 100 < {upper} THEN '{status}'")
    return f"CASE {' '.join(branches)} ELSE '{STATUS_REST}' END"


def fill_scale(subscribers: int = 1_000_000, issues: int = 10, log=print) -> ScaleData:
    from django.db import connection, transaction
    from django.utils import timezone

    from issues.models import Issue, Newsletter
    from subscribers.models import Tag

    newsletter = Newsletter.objects.create(
        slug="scale", name="Scale", from_name="Scale", from_email="scale@example.org"
    )
    now = timezone.now()
    sent = [
        Issue.objects.create(
            newsletter=newsletter,
            number=n,
            title=f"Week {n}",
            subject=f"Week {n}",
            slug=f"week-{n}",
            status=Issue.Status.SENT,
            published_at=now - timezone.timedelta(days=7 * (issues - n + 1)),
        )
        for n in range(1, issues + 1)
    ]
    draft = Issue.objects.create(
        newsletter=newsletter, number=issues + 1, title="Next week", subject="Next week"
    )
    # A second, smaller newsletter: with one only, the admin offers no newsletter filter.
    notes = Newsletter.objects.create(
        slug="scale-notes", name="Scale notes", from_name="Scale", from_email="notes@example.org"
    )
    tag = Tag.objects.create(name="early readers")
    with connection.cursor() as cursor:
        cursor.execute("SET synchronous_commit = off")
        log(f"subscribers: {subscribers}")
        cursor.execute(
            "INSERT INTO subscribers_subscriber (email, name, status, source, created_at, "
            "confirmed_at, soft_bounces, no_tracking) "
            f"SELECT 'reader' || n || '@example' || (n %% 97) || '.org', 'Reader ' || n, "
            f"{status_case('n')}, 'import', %s - n * interval '1 second', "
            "%s - n * interval '1 second', 0, false FROM generate_series(1, %s) n",
            [now, now, subscribers],
        )
        cursor.execute(
            "INSERT INTO subscribers_subscription (subscriber_id, newsletter_id, status, "
            "created_at, confirmed_at, confirmation_nonce, pending_name, welcome_due) "
            "SELECT id, %s, CASE WHEN status IN ('active', 'pending', 'unsubscribed') "
            "THEN status ELSE 'active' END, created_at, confirmed_at, '', '', false "
            "FROM subscribers_subscriber",
            [newsletter.pk],
        )
        cursor.execute(
            "INSERT INTO subscribers_subscription (subscriber_id, newsletter_id, status, "
            "created_at, confirmed_at, confirmation_nonce, pending_name, welcome_due) "
            "SELECT id, %s, 'active', created_at, confirmed_at, '', '', false "
            "FROM subscribers_subscriber WHERE id %% %s = 0",
            [notes.pk, NOTES_EVERY],
        )
        cursor.execute(
            "INSERT INTO subscribers_subscriber_tags (subscriber_id, tag_id) "
            "SELECT id, %s FROM subscribers_subscriber WHERE id %% %s = 0",
            [tag.pk, TAGGED_EVERY],
        )
    for issue in sent:
        with transaction.atomic():
            fill_issue(issue, now)
        log(f"deliveries of issue {issue.number}: {subscribers}")
    with connection.cursor() as cursor:
        # Fresh statistics and visibility maps, as autovacuum would leave a live database.
        cursor.execute("VACUUM ANALYZE")
    return ScaleData(
        newsletter_id=newsletter.pk,
        issue_ids=[issue.pk for issue in sent],
        draft_id=draft.pk,
        tag_id=tag.pk,
        subscribers=subscribers,
        deliveries=subscribers * issues,
    )


def fill_issue(issue, now) -> None:
    """One sent issue: its dispatch, a delivery per reader, its links and some clicks."""
    from django.db import connection

    from issues.models import Dispatch, TrackedLink

    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")
        cursor.execute("SELECT count(*) FROM subscribers_subscriber")
        (planned,) = cursor.fetchone()
        dispatch = Dispatch.objects.create(
            issue=issue,
            status=Dispatch.Status.DONE,
            started_at=now,
            finished_at=now,
            planned_count=planned,
        )
        # 98% sent (some delivered, a few bounced or complained later), 2% failed.
        cursor.execute(
            "INSERT INTO issues_delivery (dispatch_id, issue_id, subscriber_id, status, "
            "attempts, claim_token, last_error, message_id, esp_event, finished_at, "
            "delivered_at, bounced_at, complained_at) "
            "SELECT %s, %s, id, CASE WHEN id %% 50 = 0 THEN 'failed' ELSE 'sent' END, 1, '', "
            "CASE WHEN id %% 50 = 0 THEN '550 no such user' ELSE '' END, "
            "CASE WHEN id %% 50 = 0 THEN '' ELSE %s || '.' || id || '@example.org' END, "
            "CASE WHEN id %% 3 = 0 THEN 'delivered' ELSE '' END, %s, "
            "CASE WHEN id %% 3 = 0 THEN %s::timestamptz END, "
            "CASE WHEN id %% 1000 = 1 THEN %s::timestamptz END, "
            "CASE WHEN id %% 5000 = 2 THEN %s::timestamptz END "
            "FROM subscribers_subscriber",
            [dispatch.pk, issue.pk, f"i{issue.pk}", now, now, now, now],
        )
    links = TrackedLink.objects.bulk_create(
        TrackedLink(
            issue=issue,
            position=n,
            url=f"https://example.org/{n}",
            target=f"https://example.org/{n}",
        )
        for n in range(LINKS_PER_ISSUE)
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO issues_click (issue_id, link_id, reader, at, is_machine, "
            "machine_reason, source, event_id) "
            "SELECT %s, (%s::bigint[])[1 + n %% %s], md5((n %% 7000)::text), %s, n %% 10 = 0, '', "
            "'redirect', 'scale-' || %s || '-' || n FROM generate_series(1, %s) n",
            [issue.pk, [link.pk for link in links], len(links), now, issue.pk, CLICKS_PER_ISSUE],
        )
