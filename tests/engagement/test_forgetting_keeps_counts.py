"""Erasure, a reader's "no tracking", and the admin's delete detach clicks and opens: past
reports keep every figure, and nothing left in the database leads back to the person.

Found in review: each erasure deleted the reader's rows, so an issue's report drifted down
(196 → 195 clicks) every time someone left, while unsubscribes were kept, detached.
"""

import pytest
from django.apps import apps
from django.db import models
from django.db.models.functions import Cast

from issues.engagement import pseudonyms, recorder
from issues.engagement.variants import variant_engagement
from issues.models import Click, Delivery, IssueSalt, Open
from issues.reports.engagement import issue_engagement
from subscribers import tokens
from subscribers.models import Subscriber
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
# (reader index, link position) clicks: repeats, several links, and the canary (a machine).
CLICKS = [(0, 1), (0, 1), (0, 2), (1, 1), (1, 3), (2, 2), (2, 2), (3, 1), (3, 0), (4, 3)]


def everything_a_report_says(issue):
    report = issue_engagement(issue)
    return {
        "clicks": report.human_clicks,
        "unique clickers": report.unique_clickers,
        "machine clicks": report.machine_clicks,
        "opens": report.opens_estimated,
        "unique openers": report.unique_openers_estimated,
        "links": [(link.position, link.clicks, link.unique) for link in report.links],
        "variants": variant_engagement(issue),
    }


def rows_of(issue, reader) -> dict[type, set[int]]:
    """The pks of the reader's clicks and opens, found as the database stands before."""
    mine = pseudonyms.reader_hash(IssueSalt.objects.get(issue=issue).reader_salt, reader.pk)
    return {
        model: set(model.objects.filter(reader=mine).values_list("pk", flat=True))
        for model in (Click, Open)
    }


def text_columns():
    """Every (model, text column) of every table: where a value could be found again."""
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if isinstance(field, (models.CharField, models.TextField, models.JSONField)):
                yield model, field.attname


def as_text(model, column):
    return model.objects.annotate(column_text=Cast(column, models.TextField()))


def anywhere_else(value: str, rows: dict[type, set[int]]) -> list[str]:
    """Where ``value`` appears in the database apart from the ``rows`` themselves."""
    found = []
    for model, column in text_columns():
        hits = as_text(model, column).filter(column_text__contains=value)
        hits = hits.exclude(pk__in=rows.get(model, ()))
        if hits.exists():
            found.append(f"{model.__name__}.{column}")
    return found


@pytest.mark.parametrize("history", [False, True], ids=["aggregate", "with-history"])
def test_no_tracking_erasure_and_the_admins_delete_keep_every_figure(
    client, admin_client, smtp_sink, click_buffer, history
):
    issue = issue_linking_to(TARGET, sections=3, track_opens=True, subscriber_history=history)
    readers = make_subscribers(issue.newsletter, 5)
    keeper, quiet, eraser, deleted, _ = readers
    send_in_process(issue)
    links, pixels = links_by_reader(smtp_sink), pixels_by_reader(smtp_sink)
    for n, position in CLICKS:
        response = client.get(path_of(links[readers[n].email][position]), HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 302
    for reader in readers[:4] + [quiet]:  # the quiet reader opens twice
        response = client.get(path_of(pixels[reader.email]), HTTP_USER_AGENT=BROWSER)
        assert response.status_code == 200
    recorder.flush()
    before = everything_a_report_says(issue)
    # Reader 3's click came with the canary, in one burst: a machine's. The quiet reader's
    # two opens are one reader's.
    assert (before["clicks"], before["unique clickers"], before["opens"]) == (8, 4, 4)
    kept = {reader: rows_of(issue, reader) for reader in readers}
    if history:
        assert Click.objects.filter(subscriber=quiet).count() == 2

    # The quiet reader ticks "no tracking" on their preferences page.
    preferences = path_of(tokens.preferences_url(quiet.pk))
    form = {"action": "save", "name": quiet.name, "newsletters": [issue.newsletter_id]}
    assert client.post(preferences, {**form, "no_tracking": "on"}).status_code == 200
    assert Subscriber.objects.get(pk=quiet.pk).no_tracking
    # The eraser deletes their data there; an editor deletes another reader in the admin.
    erase = {"action": "erase", "confirm_erase": "1"}
    assert client.post(path_of(tokens.preferences_url(eraser.pk)), erase).status_code == 200
    assert not Subscriber.objects.filter(pk=eraser.pk).exists()
    delete = f"/admin/subscribers/subscriber/{deleted.pk}/delete/"
    assert admin_client.post(delete, {"post": "yes"}).status_code == 302
    assert not Subscriber.objects.filter(pk=deleted.pk).exists()

    assert everything_a_report_says(issue) == before
    assert rows_of(issue, keeper) == kept[keeper]  # the others' rows are as they were
    message_ids = set(Delivery.objects.values_list("message_id", flat=True)) - {""}
    salt = IssueSalt.objects.get(issue=issue).reader_salt
    for person in (quiet, eraser, deleted):
        rows = kept[person]
        pseudonym = None
        for model, pks in rows.items():
            assert model.objects.filter(pk__in=pks).count() == len(pks)  # detached, not deleted
            for row in model.objects.filter(pk__in=pks).values():
                # Every column, one by one: nothing in it points at the person.
                assert row["subscriber_id"] is None
                assert row["reader"] != pseudonyms.reader_hash(salt, person.pk)
                assert pseudonym in (None, row["reader"])  # one pseudonym per issue
                pseudonym = row["reader"]
                for column, value in row.items():
                    assert str(person.pk) != str(value) or column in ("id", "link_id", "issue_id")
                    assert person.email not in str(value)
                    assert not any(mid and mid in str(value) for mid in message_ids)
        # The pseudonym is no one else's, and no other table holds it.
        others = {model: set(pks) for model, pks in rows.items()}
        assert anywhere_else(pseudonym, others) == []
        assert pseudonym not in {pseudonyms.reader_hash(salt, r.pk) for r in readers}
