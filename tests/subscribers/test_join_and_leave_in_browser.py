"""A stranger joins, confirms, manages and leaves, in a real browser (headless Chromium)."""

import pytest
from django.conf import settings as django_settings
from django.template.loader import render_to_string
from django.test import Client

from subscribers import services
from subscribers.models import Subscriber
from tests.support.factories import make_newsletter
from tests.support.subscribers import links_in, path_of, wait_for_mails

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def mailed_link(sink, containing, count, base_url):
    """The first ``containing`` link in the ``count``-th mail to the visitor, on ``base_url``.

    The worker writes links with its own SITE_URL; the browser follows them to this server.
    """
    message = wait_for_mails(sink, "visitor@example.org", count)[count - 1]
    return base_url + path_of(links_in(message, containing)[0])


def test_subscribe_confirm_preferences_unsubscribe_in_chromium(
    live_server, page, mail, settings, artifacts_dir
):
    settings.SITE_URL = live_server.url
    weekly = make_newsletter()
    notes = make_newsletter(slug="field-notes", name="Field Notes")
    shot = lambda name: page.screenshot(  # noqa: E731
        path=artifacts_dir / f"subscribers-{name}.png", full_page=True
    )

    page.goto(f"{live_server.url}/subscribe/?newsletter=weekly")
    assert page.locator("select[name=newsletter]").input_value() == "weekly"
    honeypot = page.locator(".sf-hp").bounding_box()
    assert honeypot["x"] + honeypot["width"] <= 0  # off screen: people never fill it
    page.fill("input[name=email]", "visitor@example.org")
    page.fill("input[name=name]", "Vera Visitor")
    shot("1-subscribe")
    page.click("form.sf-subscribe button[type=submit]")
    page.wait_for_selector("text=Check your inbox")
    shot("2-check-inbox")

    page.goto(mailed_link(mail, "/subscribe/confirm/", 1, live_server.url))
    assert Subscriber.objects.get().status == "pending"
    shot("3-confirm")
    page.click("text=Confirm my subscription")
    page.wait_for_selector("text=You are subscribed!")
    shot("4-confirmed")
    assert list(services.recipients(weekly.pk).values_list("email", flat=True)) == [
        "visitor@example.org"
    ]

    page.goto(mailed_link(mail, "/preferences/", 2, live_server.url))
    page.check(f"input[name=newsletters][value='{notes.pk}']")
    page.fill("input[name=name]", "Vera V.")
    page.click("text=Save preferences")
    page.wait_for_selector("text=Your preferences are saved")
    shot("5-preferences")
    assert services.recipients(notes.pk).count() == 1
    assert Subscriber.objects.get().name == "Vera V."

    page.goto(mailed_link(mail, "/unsubscribe/", 2, live_server.url))
    page.wait_for_selector("text=Unsubscribe from The Weekly?")
    shot("6-unsubscribe")
    page.click("button:has-text('Unsubscribe')")
    page.wait_for_selector("text=You are unsubscribed")
    shot("7-unsubscribed")
    assert not services.recipients(weekly.pk).exists()
    assert services.recipients(notes.pk).count() == 1


def test_subscribe_form_include_works_on_any_page(client):
    """What the home page embeds: the include alone, with a preselected newsletter."""
    weekly = make_newsletter()
    notes = make_newsletter(slug="field-notes", name="Field Notes")
    html = render_to_string(
        "subscribers/_subscribe_form.html", {"newsletters": [weekly, notes], "newsletter": notes}
    )
    assert 'action="/subscribe/"' in html
    assert '<option value="field-notes" selected>' in html
    assert 'name="website"' in html
    single = render_to_string("subscribers/_subscribe_form.html", {"newsletters": [weekly]})
    assert '<input type="hidden" name="newsletter" value="weekly">' in single

    response = client.post("/subscribe/", {"email": "x@example.org", "newsletter": "field-notes"})
    assert response.status_code == 200
    assert Subscriber.objects.get().subscriptions.get().newsletter == notes


def test_editor_imports_a_csv_and_sees_counts_in_the_admin(
    live_server, page, artifacts_dir, django_user_model, tmp_path, worker
):
    make_newsletter()
    editor = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw")
    session = Client()
    session.force_login(editor)
    cookie = session.cookies[django_settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": django_settings.SESSION_COOKIE_NAME, "value": cookie, "url": live_server.url}]
    )

    csv_file = tmp_path / "list.csv"
    csv_file.write_text("email;name\nada@example.org;Ada\ngrace@example.org;=cmd()\nbroken;X\n")
    page.goto(f"{live_server.url}/admin/subscribers/subscriber/import/")
    page.set_input_files("input[name=file]", str(csv_file))
    page.select_option("select[name=newsletter]", label="The Weekly")
    page.click("input[value=Import]")
    page.wait_for_selector("#import-progress")  # the job's page, polling its progress
    page.wait_for_selector("#import-summary", timeout=60_000)
    assert "2 imported" in page.text_content("#import-summary")
    assert "invalid address" in page.text_content("table.import-rejections")
    page.screenshot(path=artifacts_dir / "subscribers-admin-import.png", full_page=True)

    page.goto(f"{live_server.url}/admin/subscribers/subscriber/")
    assert "Active: 2" in page.text_content(".status-counts")
    page.screenshot(path=artifacts_dir / "subscribers-admin-list.png", full_page=True)
