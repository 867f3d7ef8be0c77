"""Readers' pseudonyms end when an issue's counts are final: the salt that turns a subscriber
into their per-issue pseudonym is deleted, and the links in inboxes keep working.

Found in review: every click stored ``sha256(salt:subscriber id)`` with the salt kept for
good beside it (it also signed the links, so it could never go), while the preferences
page said clicks were counted "without recording who made them".
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from issues.engagement import pseudonyms, recorder
from issues.models import LATE_READER, Click, Dispatch, IssueSalt, Open
from issues.reports.engagement import issue_engagement
from subscribers import tokens
from superfast.celery import app
from tests.support.delivery import make_subscribers
from tests.support.engagement import (
    BROWSER,
    issue_linking_to,
    links_by_reader,
    pixels_by_reader,
    send_in_process,
)
from tests.support.subscribers import path_of

pytestmark = pytest.mark.django_db(transaction=True)

TARGET = "https://papers.example.org"


def visit(client, url):
    """A reader's browser following a tracked link (or loading the pixel), through the site."""
    return client.get(path_of(url), HTTP_USER_AGENT=BROWSER)


def figures(issue):
    report = issue_engagement(issue)
    links = [(link.position, link.clicks, link.unique) for link in report.links]
    return report.human_clicks, report.unique_clickers, report.unique_openers_estimated, links


def secrets_of_issue(issue) -> list[str]:
    """Every value the issue's key row holds: whatever could salt a reader's hash."""
    keys = IssueSalt.objects.filter(issue=issue).values().get()
    return [str(value) for value in keys.values() if value]


def test_after_the_salt_is_dropped_no_click_can_be_matched_and_links_still_count(
    client, smtp_sink, click_buffer
):
    issue = issue_linking_to(TARGET, sections=3, track_opens=True)
    ann, bob = make_subscribers(issue.newsletter, 2)
    send_in_process(issue)
    links, pixels = links_by_reader(smtp_sink), pixels_by_reader(smtp_sink)
    for reader, position in [(ann, 1), (bob, 1), (bob, 2)]:
        assert visit(client, links[reader.email][position]).status_code == 302
    assert visit(client, pixels[ann.email]).status_code == 200
    recorder.flush()
    ann_reader = Click.objects.get(link__position=1, reader__in=own_hashes(issue, ann)).reader
    before = figures(issue)
    assert before[:3] == (3, 2, 1)

    # The hourly beat task, once the counts are final: not a day before.
    assert app.conf.beat_schedule["drop-reader-salts"]["task"] == "issues.tasks.drop_reader_salts"
    finished = Dispatch.objects.get(issue=issue).finished_at
    assert pseudonyms.drop_final_salts(now=finished + timedelta(days=29)) == 0
    assert pseudonyms.drop_final_salts(now=finished + timedelta(days=30, seconds=1)) == 1
    assert IssueSalt.objects.get(issue=issue).reader_salt == ""
    # Nothing the database still holds turns Ann into the pseudonym of her rows.
    stored = set(Click.objects.values_list("reader", flat=True))
    stored |= set(Open.objects.values_list("reader", flat=True))
    assert ann_reader in stored
    for secret in secrets_of_issue(issue):
        for reader in (ann, bob):
            assert pseudonyms.reader_hash(secret, reader.pk) not in stored

    # The links already in inboxes still answer, and still count, as clicks and opens.
    response = visit(client, links[ann.email][2])
    assert (response.status_code, response["Location"]) == (
        302,
        f"{TARGET}/paper/1?from=mail&kind=pdf",
    )
    assert visit(client, links[bob.email][1]).status_code == 302
    assert visit(client, pixels[bob.email]).status_code == 200
    recorder.flush()
    clicks, unique, openers, links_after = figures(issue)
    # Who made a late click is unknown, so it never adds a unique reader: those were final.
    assert (clicks, unique, openers) == (5, 2, 1)
    assert links_after == [(1, 3, 2), (2, 2, 1), (3, 0, 0)]
    late = Click.objects.filter(at__gt=timezone.now() - timedelta(minutes=1), reader=LATE_READER)
    assert late.count() == 2 and Open.objects.filter(reader=LATE_READER).count() == 1


def own_hashes(issue, reader) -> list[str]:
    salt = IssueSalt.objects.get(issue=issue).reader_salt
    return [pseudonyms.reader_hash(salt, reader.pk)]


def test_the_preferences_page_says_what_is_kept_and_for_how_long(client, smtp_sink, settings):
    settings.ENGAGEMENT_READER_SALT_DAYS = 30
    settings.DELIVERY_RETENTION_DAYS = 180
    issue = issue_linking_to(TARGET, sections=1, track_opens=True)
    (reader,) = make_subscribers(issue.newsletter, 1)
    page = client.get(path_of(tokens.preferences_url(reader.pk))).content.decode()
    assert "without recording who made them" not in page
    assert "Signals Weekly records which links you click in its emails and when you open" in page
    assert "under a code that differs in every issue and is kept apart from your address" in page
    assert "30 days after an issue was last sent, its key is deleted" in page
    assert "stay only in anonymous counts" in page
    assert "whether your mail server accepted them, for 180 days after each issue is sent" in page

    settings.ENGAGEMENT_READER_SALT_DAYS = 0  # kept for good: and the page says so
    page = client.get(path_of(tokens.preferences_url(reader.pk))).content.decode()
    assert "This site keeps that key for good." in page
    assert "its key is deleted" not in page


def test_a_send_after_the_drop_starts_a_new_salt_that_counts_only_its_own_readers(
    client, smtp_sink, click_buffer
):
    """A welcome email goes on being sent (and a send to "the rest" may come late): readers
    sent it after the drop are counted again, those sent before stay late."""
    issue = issue_linking_to(TARGET, sections=2)
    (early,) = make_subscribers(issue.newsletter, 1, prefix="early")
    send_in_process(issue)
    long_ago = timezone.now() - timedelta(days=31)
    Dispatch.objects.filter(issue=issue).update(finished_at=long_ago)  # a month passes
    assert pseudonyms.drop_final_salts() == 1
    later = make_subscribers(issue.newsletter, 2, prefix="later")
    send_in_process(issue)
    links = links_by_reader(smtp_sink)
    for reader in [early, *later, later[0]]:
        assert visit(client, links[reader.email][1]).status_code == 302
    recorder.flush()
    keys = IssueSalt.objects.get(issue=issue)
    assert keys.reader_salt and keys.reader_salt_since is not None
    readers = list(Click.objects.order_by("pk").values_list("reader", flat=True))
    assert readers[0] == LATE_READER
    assert readers[1:] == [
        pseudonyms.reader_hash(keys.reader_salt, r.pk) for r in [*later, later[0]]
    ]
    assert figures(issue)[:2] == (4, 2)
