"""Unsubscribed because of this issue: the link in each issue's email says which issue it was.

Real sends (admin, worker, SMTP sink), then readers leave the way mail clients and people
do: the one-click POST of ``List-Unsubscribe``, or the footer link's page and its button.
"""

import pytest
from django.core import signing
from django.test import Client

from issues.engagement.attribution import campaign_of, unsubscribed_by_issue
from issues.reports.engagement import issue_engagement
from subscribers import tokens
from subscribers.models import ConsentEvent, Subscriber
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue, make_newsletter
from tests.support.reports import (
    footer_unsubscribe_url,
    header_unsubscribe_url,
    received_by,
    send_from_the_admin,
)
from tests.support.subscribers import path_of, post_one_click_unsubscribe, token_in


def test_unsubscribes_through_an_issues_links_are_counted_for_that_issue_only(
    start_worker, smtp_sink, django_user_model
):
    publisher = django_user_model.objects.create_superuser("pub", "pub@example.org", "pw")
    first = make_issue(title="Boring tools, reliable queues", frozen=True)
    readers = make_subscribers(first.newsletter, 60)
    start_worker()
    send_from_the_admin(first, publisher)
    second = make_issue(title="Queues that remember", frozen=True)
    send_from_the_admin(second, publisher)
    first_mail, second_mail = received_by(smtp_sink, first), received_by(smtp_sink, second)
    assert len(first_mail) == len(second_mail) == 60

    # Three leave through the first issue's header (one-click POST, as Gmail sends it).
    for reader in readers[:3]:
        url = header_unsubscribe_url(first_mail[reader.email])
        assert post_one_click_unsubscribe(url).status_code == 200
    # One mail client posts twice: the second POST changes nothing and counts nothing.
    assert post_one_click_unsubscribe(header_unsubscribe_url(first_mail[readers[0].email]))
    # Two leave from the second issue's footer: its page, then its button.
    for reader in readers[3:5]:
        url = path_of(footer_unsubscribe_url(second_mail[reader.email]))
        person = Client()
        assert "Unsubscribe" in person.get(url).text
        assert person.post(url).status_code == 200
    # Someone already gone clicks an older issue's link: nothing new to count.
    assert post_one_click_unsubscribe(header_unsubscribe_url(second_mail[readers[1].email]))

    assert issue_engagement(first).unsubscribed == 3
    assert issue_engagement(second).unsubscribed == 2
    assert unsubscribed_by_issue([first.pk, second.pk]) == {first.pk: 3, second.pk: 2}
    assert Subscriber.objects.filter(status="unsubscribed").count() == 5
    # The audience holds the reference as it came; the sender reads it.
    events = ConsentEvent.objects.filter(action="unsubscribe")
    assert sorted(events.values_list("campaign", flat=True)) == sorted(
        [campaign_of(first)] * 3 + [campaign_of(second)] * 2
    )
    # The reader's own download of their data names the mail they left through.
    download = Client().get(path_of(tokens.preferences_url(readers[0].pk)) + "?download=json")
    [left] = [e for e in download.json()["consent_events"] if e["action"] == "Unsubscribed"]
    assert left["from_email"] == f"{first.newsletter.name}: {first.title}"
    # Each reader's token is still theirs, with the issue signed into it.
    token = token_in(header_unsubscribe_url(first_mail[readers[7].email]))
    assert tokens.read_unsubscribe_link(token) == (
        readers[7].pk,
        first.newsletter_id,
        f"issue:{first.pk}",
    )


@pytest.mark.django_db
def test_a_campaign_cannot_be_moved_or_forged_into_another_link(client):
    from tests.support.subscribers import active_reader

    newsletter = make_newsletter()
    reader = active_reader(newsletter)
    token = tokens.unsubscribe_token(reader.pk, newsletter.pk, "issue:7")
    # Payload readable, not writable: another campaign under the same signature is refused.
    body, signature = token.rsplit(":", 1)
    forged = tokens.unsubscribe_token(reader.pk, newsletter.pk, "issue:8").rsplit(":", 1)[0]
    for bad in (f"{forged}:{signature}", token[:-2] + "xx"):
        assert client.post(f"/unsubscribe/{bad}/").status_code == 400
    # A token the site signed but with a campaign of the wrong shape is refused too.
    odd = signing.dumps([reader.pk, newsletter.pk, "<b>" * 30], salt=tokens.UNSUBSCRIBE_SALT)
    assert client.post(f"/unsubscribe/{odd}/").status_code == 400
    with pytest.raises(ValueError):
        tokens.unsubscribe_token(reader.pk, newsletter.pk, "no spaces allowed")
    reader.refresh_from_db()
    assert reader.status == "active"
    # Links in mail sent before campaigns existed still unsubscribe, attributed to no issue.
    old = signing.dumps([reader.pk, newsletter.pk], salt=tokens.UNSUBSCRIBE_SALT, compress=True)
    assert client.post(f"/unsubscribe/{old}/").status_code == 200
    assert ConsentEvent.objects.get(action="unsubscribe").campaign == ""
