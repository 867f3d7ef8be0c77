"""A list too big to count, as the editor sees it in Chromium: every count on the page is
the planner's estimate and says "about", none pretends to be exact."""

import pytest
from django.db import connection

from subscribers.admin import SubscriberAdmin
from tests.support.admin import log_into_admin, make_editor
from tests.support.delivery import make_subscribers
from tests.support.factories import make_newsletter
from tests.support.statistics import analyze

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_an_estimated_subscriber_list_says_about_wherever_it_counts(
    live_server, page, django_user_model, settings, monkeypatch, artifacts_dir
):
    settings.ADMIN_EXACT_COUNT_LIMIT = 5  # forty readers are "too many to count"
    monkeypatch.setattr(SubscriberAdmin, "list_per_page", 25)  # two pages
    newsletter = make_newsletter()
    make_subscribers(newsletter, 30)
    make_subscribers(newsletter, 10, prefix="waiting", status="pending")
    analyze("subscribers_subscriber", "subscribers_subscription")
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    changelist = f"{live_server.url}/admin/subscribers/subscriber/"

    page.goto(changelist)
    page.locator("#action-toggle").check()  # every reader on the page: "select all" is offered
    page.screenshot(path=artifacts_dir / "subscribers-estimated.png", full_page=True)
    if connection.vendor != "postgresql":  # no planner estimates: every count is exact
        assert "about" not in page.text_content("#changelist")
        return
    assert page.locator(".paginator .estimated-count").text_content() == "about 40 subscribers"
    assert page.locator(".status-counts").text_content().count("about") == 5
    assert page.locator(".actions .question").text_content().strip() == (
        "Select all about 40 subscribers"
    )
    # Nothing searched or filtered: the toolbar has no count (the foot of the list has).
    assert page.locator("#changelist-search .quiet").count() == 0
    assert page.get_by_text("Show counts").count() == 0  # no count of every filter's choices

    page.goto(f"{changelist}?q=reader")
    page.screenshot(path=artifacts_dir / "subscribers-estimated-search.png", full_page=True)
    assert page.locator("#changelist-search .quiet").text_content() == (
        "about 40 results (Show all)"
    )
