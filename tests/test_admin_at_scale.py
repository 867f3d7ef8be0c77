"""The admin's busiest pages cost the same few queries for ten readers or a million.

Editors open the subscriber list (filtered, searched), the issue list, a sent issue's
delivery page and report, and the newsletter's dashboard as a logged-in superuser (real
requests through the admin). Each page's queries are counted with a small newsletter and
again once a bigger one has gone out: the counts are equal, so nothing on the page runs
once per row or counts rows it does not need. The subscriber search is a prefix of the
address, any case, answered from an index (EXPLAIN of the admin's own query says so), and
a list too big to count shows PostgreSQL's estimate, labelled "about". ``bench/admin_pages``
times the same pages at a million subscribers and ten million deliveries.
"""

import csv
import io
import re

import pytest
from django.db import connection, reset_queries
from django.test.utils import CaptureQueriesContext

from issues.delivery.esp_events import record_event
from issues.models import Delivery, Issue
from subscribers import csv_io
from subscribers.models import Subscriber, Subscription, Tag
from superfast.admin_pages import admin_url
from tests.support.delivery import make_subscribers
from tests.support.engagement import send_in_process
from tests.support.factories import make_issue, make_newsletter
from tests.support.statistics import analyze

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/subscribers/subscriber/"
# The most queries any of the pages may make (session, user, the page's own few).
MAX_QUERIES = {
    "subscribers": 12,
    "subscribers_active": 12,
    "subscribers_newsletter": 12,
    "subscribers_search": 12,
    "issues": 10,
    "delivery": 12,
    "report": 16,
    # The active readers and their change lead the page: the planner's estimate (EXPLAIN),
    # then a COUNT only when that is small.
    "dashboard": 14,
}


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw-42-x")
    client.force_login(user)
    return user


def sent_newsletter(smtp_sink, slug: str, readers: int) -> Issue:
    """A newsletter of ``readers`` readers and an issue sent to them all, the worker's way."""
    issue = make_issue(make_newsletter(slug), f"{slug} this week", frozen=True)
    make_subscribers(issue.newsletter, readers, prefix=f"{slug}-reader")
    send_in_process(issue)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    return issue


def pages(issue: Issue) -> dict[str, str]:
    return {
        "subscribers": CHANGELIST,
        "subscribers_active": f"{CHANGELIST}?status__exact=active",
        "subscribers_newsletter": (
            f"{CHANGELIST}?subscriptions__newsletter__id__exact={issue.newsletter_id}"
        ),
        "subscribers_search": f"{CHANGELIST}?q={issue.newsletter.slug.upper()}-READER1",
        "issues": "/admin/issues/issue/",
        "delivery": f"/admin/issues/issue/{issue.pk}/delivery/",
        "report": f"/admin/issues/issue/{issue.pk}/engagement/",
        "dashboard": f"/admin/issues/newsletter/{issue.newsletter_id}/dashboard/",
    }


def queries_per_page(client, django_assert_max_num_queries, issue) -> dict[str, int]:
    counts = {}
    for name, url in pages(issue).items():
        with django_assert_max_num_queries(MAX_QUERIES[name]) as queries:
            response = client.get(url)
        assert response.status_code == 200, url
        counts[name] = len(queries)
    return counts


def test_each_page_costs_the_same_few_queries_at_10_and_at_200_readers(
    client, editor, smtp_sink, django_assert_max_num_queries
):
    small = sent_newsletter(smtp_sink, "small", 10)
    make_issue(small.newsletter, "Next week")  # a draft
    at_10 = queries_per_page(client, django_assert_max_num_queries, small)

    large = sent_newsletter(smtp_sink, "large", 200)
    at_200 = queries_per_page(client, django_assert_max_num_queries, large)

    assert at_200 == at_10
    delivery = client.get(pages(large)["delivery"]).content.decode()
    assert re.search(r"\b200\b", delivery)  # the page still tells how many went out
    issue_list = client.get(pages(large)["issues"]).content.decode()
    # Sent issues: what their dispatch planned (one row each); the draft: today's audience.
    assert issue_list.count('<td class="field-recipient_count">200</td>') == 1
    assert issue_list.count('<td class="field-recipient_count">10</td>') == 2


SEARCHED = [
    "Ada.Lovelace@Example.org",
    "ada@example.net",
    "adam@example.com",
    "bada@example.org",
    "grace@ada.example",
]


def listed_emails(response) -> list[str]:
    return re.findall(r'class="field-email"><a [^>]*>([^<]+)</a>', response.content.decode())


def test_search_finds_addresses_starting_with_the_term_in_any_case(client, editor):
    Subscriber.objects.bulk_create(Subscriber(email=email) for email in SEARCHED)

    for term in ["ada", "ADA", "aDa"]:
        found = client.get(CHANGELIST, {"q": term})
        assert listed_emails(found) == [
            "Ada.Lovelace@Example.org",
            "ada@example.net",
            "adam@example.com",
        ]
    assert listed_emails(client.get(CHANGELIST, {"q": "ada@"})) == ["ada@example.net"]
    assert listed_emails(client.get(CHANGELIST, {"q": "GRACE@ADA"})) == ["grace@ada.example"]


def page_query(client, params) -> str:
    """The SQL of the query that fetched the rows the changelist shows."""
    with CaptureQueriesContext(connection) as queries:
        assert client.get(CHANGELIST, params).status_code == 200
    (sql,) = [
        q["sql"]
        for q in queries.captured_queries
        if q["sql"].startswith('SELECT "subscribers_subscriber"."id"')
        and 'ORDER BY "subscribers_subscriber"."email"' in q["sql"]
    ]
    return sql


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


@pytest.mark.slow  # 20,000 readers
def test_search_and_ordering_of_the_changelist_are_answered_by_indexes(client, editor):
    Subscriber.objects.bulk_create(
        (
            Subscriber(email=f"reader{n}@example{n % 7}.org", name=f"Reader {n}")
            for n in range(20_000)
        ),
        batch_size=5000,
    )
    analyze("subscribers_subscriber")

    search = page_query(client, {"q": "READER1234"})
    assert "READER1234%" in search and "%READER1234" not in search  # a prefix, not a substring
    if connection.vendor != "postgresql":  # SQLite has no operator classes, no such index
        return
    searched = explain(search)
    assert "Index Scan on subscriber_email_prefix" in searched  # bitmap, ORed with the name
    assert "Seq Scan on subscribers_subscriber" not in searched

    listed = explain(page_query(client, {}))
    assert "Index Scan using subscriber_email_order" in listed
    assert "Seq Scan on subscribers_subscriber" not in listed

    by_status = explain(page_query(client, {"status__exact": "active"}))
    assert "Seq Scan on subscribers_subscriber" not in by_status


def test_a_list_too_big_to_count_shows_the_estimate_without_counting(
    client, editor, settings, newsletter_with_readers
):
    settings.ADMIN_EXACT_COUNT_LIMIT = 5
    analyze("subscribers_subscriber")

    with CaptureQueriesContext(connection) as queries:
        page = client.get(CHANGELIST).content.decode()

    if connection.vendor == "postgresql":
        assert re.search(r'class="estimated-count"[^>]*>about 40 subscribers', page)
        assert "<strong>Active</strong>: about " in page
        assert "<strong>Pending confirmation</strong>: about " in page
        # No one has complained: the planner's floor of one row is not shown as one reader.
        assert "<strong>Complained</strong>: about 0" in page
        assert not [q for q in queries.captured_queries if "COUNT(" in q["sql"].upper()]
    else:  # no planner estimate to read: SQLite counts
        assert "40 subscribers" in page and "about" not in page


def test_a_dashboard_too_big_to_count_leads_with_the_estimate_without_counting(
    client, editor, settings, newsletter_with_readers
):
    """The dashboard's lead figure, its active subscribers, is the issue list's audience:
    counted below ``ADMIN_EXACT_COUNT_LIMIT``, estimated above it. Counting a million
    readers joined to their subscriptions took 330 ms to 1.4 s a page load."""
    settings.ADMIN_EXACT_COUNT_LIMIT = 5
    analyze()

    with CaptureQueriesContext(connection) as queries:
        page = client.get(admin_url(newsletter_with_readers, "dashboard")).content.decode()

    lead = re.search(r'id="active-subscribers">([^<]+)</span> active (\w+)', page)
    if connection.vendor == "postgresql":
        assert re.fullmatch(r"about [\d,]+", lead.group(1)), lead.group(1)
        assert lead.group(2) == "subscribers"
        readers = 'COUNT(*) AS "__count" FROM "subscribers_subscriber"'
        assert not [q for q in queries.captured_queries if readers in q["sql"]]
    else:  # no planner estimate to read: SQLite counts
        assert lead.groups() == ("30", "subscribers")


def test_a_small_list_is_counted_exactly(client, editor, newsletter_with_readers):
    page = client.get(CHANGELIST).content.decode()
    assert "40 subscribers" in page and "estimated-count" not in page
    assert "<strong>Active</strong>: 30" in page
    assert "<strong>Pending confirmation</strong>: 10" in page


@pytest.fixture
def newsletter_with_readers():
    issue = make_issue(frozen=True)
    make_subscribers(issue.newsletter, 30)
    make_subscribers(issue.newsletter, 10, prefix="waiting", status="pending")
    return issue.newsletter


def test_a_big_draft_audience_is_estimated_on_the_issue_list(
    client, editor, settings, newsletter_with_readers
):
    settings.ADMIN_EXACT_COUNT_LIMIT = 5
    analyze()
    page = client.get("/admin/issues/issue/").content.decode()
    recipients = re.search(r'<td class="field-recipient_count">([^<]+)</td>', page).group(1)
    if connection.vendor == "postgresql":
        assert recipients.startswith("about ")
    else:
        assert recipients == "30"
    assert Subscription.objects.count() == 40


def sent_with_three_refused(smtp_sink, slug: str, readers: int):
    """An issue sent in process to ``readers`` new readers, the first three refused outright
    by the mail server: the issue, its dispatch, and its sent rows in order."""
    issue = make_issue(make_newsletter(slug), slug.title(), frozen=True)
    subscribers = make_subscribers(issue.newsletter, readers, prefix=slug)
    for refused in subscribers[:3]:
        smtp_sink.replies[refused.email] = "550 5.1.1 No such user"
    dispatch = send_in_process(issue)
    return issue, dispatch, dispatch.deliveries.filter(status=Delivery.Status.SENT).order_by("pk")


def test_dashboard_counts_as_sent_what_left_including_later_bounces_not_failures(
    client, editor, smtp_sink
):
    issue, dispatch, left = sent_with_three_refused(smtp_sink, "counted", 20)
    record_event(left[0].message_id, "bounced", "mailbox full for good")  # left, then bounced
    record_event(left[1].message_id, "rejected", "policy")  # the ESP never let it out

    dashboard = client.get(f"/admin/issues/newsletter/{issue.newsletter_id}/dashboard/")
    report = client.get(f"/admin/issues/issue/{issue.pk}/engagement/")

    sent_on_dashboard = re.search(r"Counted</span></a></td>\s*<td>(\d+)</td>", dashboard.text)
    assert sent_on_dashboard.group(1) == "16"  # 20 readers, 3 refused, 1 rejected
    assert '<dd id="figure-sent">16</dd>' in report.text  # the report counts the rows


def test_filters_across_relations_list_each_match_once_without_distinct(client, editor):
    weekly = make_newsletter("weekly")
    notes = make_newsletter("notes")
    both = make_subscribers(weekly, 3, prefix="both")
    make_subscribers(notes, 2, prefix="notes-only")
    Subscription.objects.bulk_create(Subscription(subscriber=s, newsletter=notes) for s in both)
    tagged, other = Tag.objects.create(name="press"), Tag.objects.create(name="other")
    for subscriber in both[:2]:
        subscriber.tags.add(tagged, other)

    with CaptureQueriesContext(connection) as queries:
        by_newsletter = client.get(CHANGELIST, {"subscriptions__newsletter__id__exact": notes.pk})
    newsletter_sql = [q["sql"] for q in queries.captured_queries]  # the next request resets them
    by_tag = client.get(CHANGELIST, {"tags__id__exact": tagged.pk})

    assert sorted(listed_emails(by_newsletter)) == [
        *(f"both{n}@example.com" for n in range(3)),
        *(f"notes-only{n}@example.com" for n in range(2)),
    ]
    assert "5 subscribers" in by_newsletter.text
    assert sorted(listed_emails(by_tag)) == ["both0@example.com", "both1@example.com"]
    assert "2 subscribers" in by_tag.text
    # No DISTINCT over the list's rows (EXISTS's own "SELECT DISTINCT 1" costs nothing).
    assert newsletter_sql
    assert not [sql for sql in newsletter_sql if 'DISTINCT "subscribers_subscriber".' in sql]


EXPORT = f"{CHANGELIST}export/"


def exported(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


def test_a_filtered_export_lists_each_match_once_without_distinct(client, editor):
    weekly = make_newsletter("weekly")
    notes = make_newsletter("notes")
    both = make_subscribers(weekly, 3, prefix="both")
    make_subscribers(notes, 2, prefix="notes-only")
    Subscription.objects.bulk_create(
        Subscription(subscriber=s, newsletter=notes, status="active") for s in both
    )
    press, other = Tag.objects.create(name="press"), Tag.objects.create(name="other")
    for subscriber in both[:2]:
        subscriber.tags.add(press, other)

    reset_queries()  # the request resets the log: capture it from its start
    with CaptureQueriesContext(connection) as queries:
        rows = exported(client.get(EXPORT, {"subscriptions__newsletter__id__exact": notes.pk}))
    sql = [q["sql"] for q in queries.captured_queries]  # the next request resets them
    by_tag = exported(client.get(EXPORT, {"tags__id__exact": press.pk, "q": "BOTH"}))

    columns = ["email", "name", "status", "source", "newsletters", "tags", "created_at"]
    assert list(rows[0]) == columns  # the columns the export always had
    assert {**rows[0], "created_at": "…"} == {
        "email": "both0@example.com",
        "name": "Reader 0",
        "status": "active",
        "source": "form",
        "newsletters": "notes weekly",
        "tags": "other;press",  # by name, ";"-separated, as the import reads them
        "created_at": "…",
    }
    assert [(r["email"], r["newsletters"], r["tags"]) for r in rows] == [
        ("both0@example.com", "notes weekly", "other;press"),
        ("both1@example.com", "notes weekly", "other;press"),
        ("both2@example.com", "notes weekly", ""),
        ("notes-only0@example.com", "notes", ""),
        ("notes-only1@example.com", "notes", ""),
    ]
    assert [r["email"] for r in by_tag] == ["both0@example.com", "both1@example.com"]
    assert any('FROM "subscribers_subscriber"' in s for s in sql)
    assert not [s for s in sql if 'DISTINCT "subscribers_subscriber".' in s]


def stop_downloading(response):
    """Leave a download half read, as a reader cancelling it does: its cursor closes now,
    inside the test's transaction, not whenever the garbage collector gets to it."""
    response._iterator.close()  # the test client's wrapper: closes the response's resources


LIST_TABLES = ("subscribers_subscription", "subscribers_subscriber")


@pytest.fixture
def statistics_left_small():
    """ANALYZE's figures outlive the test's rolled-back rows: the rows go, and the tables are
    analyzed again, or pages of later tests would take a few readers for twenty thousand."""
    yield
    with connection.cursor() as cursor:
        for table in LIST_TABLES:
            cursor.execute(f"DELETE FROM {table}")
    # The deletes' deferred foreign-key checks, now: the statistics of empty tables would
    # have them scan every dead row once per row deleted.
    connection.check_constraints()
    analyze(*LIST_TABLES)


@pytest.mark.slow  # 20,000 readers
def test_the_export_streams_its_first_rows_before_reading_the_whole_list(
    client, editor, monkeypatch, statistics_left_small
):
    """The export's query needs no sort or de-duplication of the whole list (its cursor's
    plan walks the address index), and rows leave a chunk at a time."""
    monkeypatch.setattr(csv_io, "EXPORT_CHUNK_SIZE", 10)
    newsletter = make_newsletter()
    make_subscribers(newsletter, 20_000)  # nearly the whole list reads it, as usual
    make_subscribers(make_newsletter("other"), 50, prefix="elsewhere")
    analyze(*LIST_TABLES)

    for params in ({}, {"subscriptions__newsletter__id__exact": newsletter.pk}):
        response = client.get(EXPORT, params)
        with CaptureQueriesContext(connection) as queries:
            lines = iter(response.streaming_content)
            first = [next(lines) for _ in range(3)]  # the header and two readers
        assert first[0].startswith(b"email,") and len(first) == 3
        (listing,) = [  # on PostgreSQL in a server-side cursor: DECLARE … CURSOR FOR SELECT
            q["sql"].partition(" CURSOR FOR ")[2] or q["sql"]
            for q in queries.captured_queries
            if 'SELECT "subscribers_subscriber"."id"' in q["sql"]
        ]
        # Only the first chunk's tags and newsletters have been fetched so far.
        prefetched = [
            len(ids.split(","))
            for q in queries.captured_queries
            for ids in re.findall(r" IN \(([^()]*)\)", q["sql"])
        ]
        assert prefetched and max(prefetched) <= 10
        stop_downloading(response)
        if connection.vendor == "postgresql":
            plan = explain(f"DECLARE export CURSOR FOR {listing}")
            assert "Index Scan using subscriber_email_order" in plan, plan
            for full_pass in ("Sort", "Unique", "HashAggregate"):
                assert f"-> {full_pass}" not in plan and not plan.startswith(full_pass), plan


TAGS = "/admin/subscribers/tag/"


def tag_list(client) -> tuple[str, list[str]]:
    reset_queries()  # the request resets the log: capture it from its start
    with CaptureQueriesContext(connection) as queries:
        page = client.get(TAGS)
    assert page.status_code == 200
    return page.text, [q["sql"] for q in queries.captured_queries]


def tagged(count: int, readers: list[Subscriber], start: int = 0) -> list[Tag]:
    """``count`` tags, the n-th carried by the first n % 4 + 1 readers."""
    tags = Tag.objects.bulk_create(Tag(name=f"tag {n:02}") for n in range(start, start + count))
    Subscriber.tags.through.objects.bulk_create(
        Subscriber.tags.through(tag=tag, subscriber=reader)
        for n, tag in enumerate(tags, start)
        for reader in readers[: n % 4 + 1]
    )
    return tags


def member_cells(page: str, tag: Tag) -> tuple[str, str]:
    row = re.search(rf'tags__id__exact={tag.pk}">([^<]+)</a>.*?</tr>', page, re.S)
    active = re.search(r'<td class="field-active_count">([^<]+)</td>', row.group(0))
    return row.group(1), active.group(1)


def test_the_tag_list_counts_only_the_members_of_the_tags_on_its_page(client, editor, monkeypatch):
    from subscribers.admin import TagAdmin

    monkeypatch.setattr(TagAdmin, "list_per_page", 10)
    newsletter = make_newsletter()
    readers = [*make_subscribers(newsletter, 2), *make_subscribers(newsletter, 2, "p", "pending")]
    first = tagged(3, readers)
    few_page, few = tag_list(client)
    tagged(27, readers, start=3)
    many_page, many = tag_list(client)

    assert len(many) == len(few)
    assert [member_cells(few_page, tag) for tag in first] == [("1", "1"), ("2", "2"), ("3", "2")]
    assert [member_cells(many_page, tag) for tag in first] == [("1", "1"), ("2", "2"), ("3", "2")]
    assert "tag 10" not in many_page  # the second page
    # Memberships are read for the page's ten tags only, never for every tag.
    memberships = [sql for sql in many if "subscribers_subscriber_tags" in sql]
    assert memberships
    for sql in memberships:
        (ids,) = re.findall(r'"tag_id" IN \(([^()]*)\)', sql)
        assert len(ids.split(",")) == 10, sql


def test_big_tags_show_estimates_without_counting_their_members(client, editor, settings):
    settings.ADMIN_EXACT_COUNT_LIMIT = 5
    newsletter = make_newsletter()
    readers = [*make_subscribers(newsletter, 6), *make_subscribers(newsletter, 2, "p", "pending")]
    big, small = Tag.objects.create(name="big"), Tag.objects.create(name="small")
    Subscriber.tags.through.objects.bulk_create(
        [
            *(Subscriber.tags.through(tag=big, subscriber=reader) for reader in readers),
            Subscriber.tags.through(tag=small, subscriber=readers[0]),
        ]
    )
    analyze("subscribers_subscriber_tags", "subscribers_subscriber")

    page, queries = tag_list(client)

    if connection.vendor == "postgresql":
        assert member_cells(page, big) == ("about 8", "about 6")
        assert member_cells(page, small) == ("about 1", "about 1")
        assert not [sql for sql in queries if "COUNT(" in sql.upper() and "_tags" in sql]
    else:  # no planner statistics to read: SQLite counts
        assert member_cells(page, big) == ("8", "6")


@pytest.mark.slow  # a send to 2,000 readers
def test_a_sent_issue_says_how_many_it_went_to_from_the_few_rows_that_did_not_leave(
    client, editor, smtp_sink
):
    issue, dispatch, left = sent_with_three_refused(smtp_sink, "counted", 2000)
    record_event(left[0].message_id, "bounced", "mailbox full for good")  # left, then bounced
    record_event(left[1].message_id, "rejected", "policy")  # the ESP never let it out
    analyze("issues_delivery", "issues_dispatch")

    reset_queries()  # the request resets the log: capture it from its start
    with CaptureQueriesContext(connection) as queries:
        page = client.get(f"/admin/issues/issue/{issue.pk}/change/")
    ledger = [q["sql"] for q in queries.captured_queries if 'FROM "issues_delivery"' in q["sql"]]

    banner = re.search(r'<div class="sf-sent-banner".*?</div>', page.text, re.S).group(0)
    assert "to 1996 subscribers." in banner  # 2000 readers, 3 refused, 1 rejected
    assert len(ledger) == 1, ledger
    if connection.vendor == "postgresql":
        plan = explain(ledger[0])
        assert "delivery_not_left" in plan, plan
        assert "Seq Scan on issues_delivery" not in plan, plan


def rows_read(sql: str) -> int:
    """How many ledger rows the statement's scans of ``issues_delivery`` returned, as
    PostgreSQL ran it (``EXPLAIN ANALYZE``)."""
    import json

    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, FORMAT JSON) {sql}")
        plan = cursor.fetchone()[0]
    plan = json.loads(plan) if isinstance(plan, str) else plan

    def walk(node) -> int:
        own = node.get("Actual Rows", 0) * node.get("Actual Loops", 1)
        read = own if node.get("Relation Name") == "issues_delivery" else 0
        return read + sum(walk(child) for child in node.get("Plans", []))

    return walk(plan[0]["Plan"])


@pytest.mark.slow  # a send to 2,000 readers
def test_the_pages_of_a_sent_issue_read_only_the_rows_that_did_not_plainly_go_out(
    client, editor, smtp_sink
):
    """At a million readers, a page reading each of an issue's rows took 0.7-1.7 s right
    after the send. The delivery page, its report and the engagement report read the
    few rows that failed, bounced or drew an ESP event, and take the rest from the plan."""
    issue, dispatch, left = sent_with_three_refused(smtp_sink, "few", 2000)
    record_event(left[0].message_id, "bounced", "mailbox full for good")
    record_event(left[1].message_id, "complained", "")
    record_event(left[2].message_id, "delivered", "")
    analyze("issues_delivery", "issues_dispatch")

    pages = {
        "delivery": f"/admin/issues/issue/{issue.pk}/delivery/",
        "delivery report": f"/admin/issues/issue/{issue.pk}/report/",
        "engagement": f"/admin/issues/issue/{issue.pk}/engagement/",
    }
    for name, url in pages.items():
        reset_queries()
        with CaptureQueriesContext(connection) as queries:
            page = client.get(url)
        assert page.status_code == 200, name
        ledger = [q["sql"] for q in queries.captured_queries if '"issues_delivery"' in q["sql"]]
        assert ledger, name
        if connection.vendor == "postgresql":
            read = {sql: rows_read(sql) for sql in ledger}
            assert sum(read.values()) <= 20, (name, read)  # 4 failed, 3 ESP events: not 2,000

    from issues.reports import delivery as delivery_reports
    from issues.reports.engagement import issue_engagement

    figures = delivery_reports.report(issue)
    # A bounce reported after the message left keeps it sent: one "sent" for every page.
    assert figures["counts"]["Sent"] == 1997
    assert figures["counts"]["Failed"] == 3  # the three refused; the bounce is counted apart
    assert sum(n for _, n in figures["failures"]) == 4  # the reasons name the bounce too
    assert figures["events"] == {"bounced": 1, "complained": 1, "delivered": 1}
    progress = delivery_reports.progress(dispatch)
    assert (progress["sent"], progress["failed"], progress["pending"]) == (1997, 3, 0)
    engagement = issue_engagement(issue)
    assert (engagement.sent, engagement.bounced, engagement.complained) == (1997, 1, 1)
    assert engagement.delivered == 1
