"""Finding 8: CR/LF (and other control characters) in what becomes a mail header."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from issues.models import Issue, Newsletter
from tests.support.composing import change_form_data
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db

INJECTED = "Weekly news\r\nBcc: everyone@example.org"


@pytest.fixture
def editor_client(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw-tests"))
    return client


def field_errors(response, field):
    """The errors the admin shows next to ``field`` (the form as rendered)."""
    form = response.context["adminform"].form
    return form.errors.get(field, [])


@pytest.mark.parametrize("field", ["title", "subject", "preheader"])
def test_issue_fields_refuse_line_breaks_next_to_the_field(editor_client, newsletter, field):
    issue = make_issue(newsletter, subject="Weekly news")
    data = {**change_form_data(issue, []), field: INJECTED}
    response = editor_client.post(reverse("admin:issues_issue_change", args=[issue.pk]), data)
    assert response.status_code == 200
    assert any("line break" in error for error in field_errors(response, field))
    assert "line break" in response.content.decode()
    issue.refresh_from_db()
    assert "\n" not in getattr(issue, field)


@pytest.mark.parametrize("field", ["name", "from_name"])
def test_newsletter_names_refuse_line_breaks_next_to_the_field(editor_client, newsletter, field):
    data = {
        "name": newsletter.name,
        "slug": newsletter.slug,
        "description": "",
        "from_name": newsletter.from_name,
        "from_email": newsletter.from_email,
        "reply_to": "",
        "footer_text": "",
        "brand_color": "#1a73e8",
        "language": "en",
        field: INJECTED,
    }
    url = reverse("admin:issues_newsletter_change", args=[newsletter.pk])
    response = editor_client.post(url, data)
    assert response.status_code == 200
    assert any("line break" in error for error in field_errors(response, field))
    newsletter.refresh_from_db()
    assert "\n" not in getattr(newsletter, field)


def test_other_control_characters_are_refused_and_plain_text_saves(editor_client, newsletter):
    issue = make_issue(newsletter)
    url = reverse("admin:issues_issue_change", args=[issue.pk])
    tab_and_bell = {**change_form_data(issue, []), "subject": "Ring\x07 the bell"}
    assert field_errors(editor_client.post(url, tab_and_bell), "subject")
    fine = {**change_form_data(issue, []), "subject": "Ümlauts, emoji 🚀 and “quotes”"}
    assert editor_client.post(url, fine).status_code == 302
    assert Issue.objects.get(pk=issue.pk).subject == "Ümlauts, emoji 🚀 and “quotes”"
    assert Newsletter.objects.count() == 1


def test_the_subscribe_form_refuses_a_name_with_line_breaks(client, newsletter):
    response = client.post(
        "/subscribe/",
        {"email": "reader@example.net", "name": INJECTED},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert "line break" in response.json()["errors"]["name"][0]["message"]
