"""Editors find, suppress, import and export subscribers in the admin."""

import csv
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from subscribers import services
from subscribers.imports import import_csv
from subscribers.models import Subscriber, SuppressionEvent
from tests.support.subscribers import finished_import, wait_for_mails

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/subscribers/subscriber/"


def run_action(client, action, subscribers, reason=None):
    """Pick subscribers on the changelist, choose an action, press Go."""
    data = {"action": action, "_selected_action": [s.pk for s in subscribers]}
    if reason is not None:
        data["reason"] = reason
    return client.post(CHANGELIST, data, follow=True)


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw-42-x")
    client.force_login(user)
    return user


@pytest.fixture
def audience(newsletter):
    import_csv(
        b'email,name\nada@example.org,Ada\ngrace@example.org,Grace\nhopper@example.org,"@risky"\n',
        newsletter,
    )
    services.subscribe("pending@example.org", [newsletter])
    services.unsubscribe(Subscriber.objects.get(email="grace@example.org"))
    return Subscriber.objects.all()


def test_changelist_shows_counts_per_status_search_and_filters(client, editor, audience):
    page = client.get(CHANGELIST)
    assert page.status_code == 200
    text = page.content.decode()
    assert "<strong>Active</strong>: 2" in text
    assert "<strong>Pending confirmation</strong>: 1" in text
    assert "<strong>Unsubscribed</strong>: 1" in text

    found = client.get(CHANGELIST, {"q": "grace"}).content.decode()
    assert "grace@example.org" in found and "ada@example.org" not in found
    pending = client.get(CHANGELIST, {"status__exact": "pending"}).content.decode()
    assert "pending@example.org" in pending and "ada@example.org" not in pending
    assert client.get(CHANGELIST, {"source__exact": "import"}).status_code == 200


def test_suppress_and_unsuppress_actions_record_the_reason(client, editor, audience, newsletter):
    ada = Subscriber.objects.get(email="ada@example.org")
    run_action(client, "suppress_selected", [ada], reason="asked by phone")
    ada.refresh_from_db()
    assert ada.status == "unsubscribed"
    assert ada.suppression_events.get().reason == "asked by phone"
    assert not services.recipients(newsletter.pk).filter(pk=ada.pk).exists()

    refused = run_action(client, "unsuppress_selected", [ada])
    assert "Give a reason" in refused.content.decode()
    run_action(client, "unsuppress_selected", [ada], reason="typo fixed")
    ada.refresh_from_db()
    assert ada.status == "active"
    assert ada.suppression_events.filter(kind=SuppressionEvent.Kind.UNSUPPRESS).exists()


@pytest.mark.django_db(transaction=True)
def test_resend_confirmation_action_mails_pending_subscribers_only(client, editor, audience, mail):
    run_action(client, "resend_confirmation", Subscriber.objects.all())
    services.subscribe("witness@example.org", [audience.first().subscriptions.get().newsletter])
    wait_for_mails(mail, "witness@example.org")
    # The first mail to pending@ is the confirmation from subscribing; the second, resent.
    assert sorted(m.rcpt_tos[0] for m in mail.messages) == [
        "pending@example.org",
        "pending@example.org",
        "witness@example.org",
    ]


def test_import_page_reports_rejected_lines(client, editor, newsletter, worker):
    page = client.get(CHANGELIST + "import/")
    assert page.status_code == 200
    upload = SimpleUploadedFile(
        "list.csv", b"email;name\nnew@example.org;New\nbroken;Broken\n", "text/csv"
    )
    response = client.post(CHANGELIST + "import/", {"file": upload, "newsletter": newsletter.pk})
    job_url = response.url
    figures = finished_import(client, job_url)
    assert (figures["imported"], figures["rejected"], figures["percent"]) == (1, 1, 100.0)
    text = client.get(job_url).content.decode()
    assert "1 imported" in text
    assert "broken" in text and "invalid address" in text
    assert Subscriber.objects.filter(email="new@example.org", status="active").exists()


def test_export_link_exports_the_filtered_list_escaped(client, editor, audience):
    response = client.get(CHANGELIST + "export/", {"status__exact": "active"})
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    rows = list(csv.DictReader(io.StringIO(body)))
    assert sorted(r["email"] for r in rows) == ["ada@example.org", "hopper@example.org"]
    assert {r["name"] for r in rows} == {"Ada", "'@risky"}


def test_subscriber_added_by_an_editor_records_admin_as_the_consent_source(client, editor):
    response = client.post(
        "/admin/subscribers/subscriber/add/",
        {
            "email": " walkin@EXAMPLE.org ",
            "name": "Walk In",
            "status": "pending",
            "source": "form",
            **{
                f"{prefix}-{field}": value
                for prefix in ("subscriptions", "suppression_events", "consent_events")
                for field, value in (("TOTAL_FORMS", 0), ("INITIAL_FORMS", 0))
            },
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    subscriber = Subscriber.objects.get(email="walkin@example.org")
    assert subscriber.source == "admin"
    assert list(subscriber.consent_events.values_list("action", "source")) == [
        ("subscribe", "admin")
    ]


def test_unsuppressing_a_pending_subscriber_changes_nothing(client, editor, audience):
    pending = Subscriber.objects.get(email="pending@example.org")
    run_action(client, "unsuppress_selected", [pending], reason="oops")
    pending.refresh_from_db()
    assert pending.status == "pending"
    assert not pending.suppression_events.exists()
