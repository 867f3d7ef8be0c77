"""Not found and server error pages: in the site's layout, never themselves failing."""

import pytest
from django.db import OperationalError, connections
from django.test import RequestFactory
from django.views.defaults import server_error

from tests.support.factories import make_issue


def test_unknown_address_answers_404_in_the_sites_layout(client, sent_issue):
    response = client.get("/no/such/page/here/")

    assert response.status_code == 404
    html = response.content.decode()
    assert "<title>Page not found · Harbour Notes</title>" in html
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert '<a class="site-name" href="/"><img class="site-icon"' in html
    assert 'height="28">Harbour Notes</a>' in html
    assert '<meta name="robots" content="noindex">' in html
    assert 'action="/search/"' in html and 'href="/archive/"' in html
    assert 'rel="canonical"' not in html


def test_an_issue_that_is_not_public_gets_the_same_404_page(client, newsletter):
    draft = make_issue(newsletter, "Not yet", status="draft")

    response = client.get(draft.get_absolute_url())

    assert response.status_code == 404
    assert "This page is not here" in response.content.decode()


def test_404_page_still_answers_when_the_database_is_down(client, db, monkeypatch):
    def unreachable(*args, **kwargs):
        raise OperationalError("connection refused")

    with monkeypatch.context() as patch:
        patch.setattr(connections["default"], "cursor", unreachable)
        response = client.get("/no/such/page/here/")

    assert response.status_code == 404
    assert "This page is not here" in response.content.decode()


def test_500_page_renders_in_the_layout_without_database_or_request_context():
    # No django_db mark: any database access here fails the test.
    response = server_error(RequestFactory().get("/boom/"))

    assert response.status_code == 500
    html = response.content.decode()
    assert "Something went wrong on our side" in html
    assert '<a class="skip-link" href="#main">Skip to content</a>' in html
    assert 'href="/archive/"' in html


@pytest.mark.django_db
def test_a_failing_view_answers_with_the_500_page(client, monkeypatch):
    def broken(newsletters=None):
        raise RuntimeError("boom")

    monkeypatch.setattr("issues.archive.views.queries.site_name", broken)
    client.raise_request_exception = False

    response = client.get("/archive/")

    assert response.status_code == 500
    assert "Something went wrong on our side" in response.content.decode()
