"""The admin pages Superfast adds or overrides, in real Chromium, light and dark: axe-core
finds no critical or serious violation, except the few that come from Django's own admin
markup, each listed below with the reason it is Django's and not ours."""

import json
from datetime import timedelta

import pytest

from issues.delivery import plan_dispatch
from issues.models import Dispatch
from subscribers.models import Segment, Tag
from tests.support.admin import log_into_admin, make_editor
from tests.support.browser import serious_accessibility_violations
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue
from tests.support.sequences import welcome_sequence

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

# What Django's own admin widgets draw, as (axe rule, a part of the CSS selector that only
# that widget's markup has). Nothing of Superfast's may hide behind these.
DJANGO_ADMIN_MARKUP = {
    # autocomplete_fields: the Select2 that Django ships lists the chosen items in a <ul>
    # that axe does not take for a list (the segment pages; the search box it draws without
    # a label is named by superfast/static/superfast/admin.js).
    ("list", ".select2-selection__rendered"),
    # filter_horizontal: SelectFilter2.js puts aria-label on the help icon's <span> (the
    # subscriber page's tags).
    ("aria-prohibited-attr", ".help-tooltip"),
}


def djangos_own(rule, node):
    return any(rule == known and part in node[-1] for known, part in DJANGO_ADMIN_MARKUP)


def admin_pages():
    """One of each admin page Superfast adds or overrides, with what it needs to show."""
    issue = make_issue(frozen=True)
    newsletter = issue.newsletter
    subscribers = make_subscribers(newsletter, 3)
    dispatch = Dispatch.objects.create(issue=issue, snapshot=issue.snapshot)
    plan_dispatch(dispatch)
    tag = Tag.objects.create(name="early")
    segment = Segment.objects.create(name="Early readers", newsletter=newsletter)
    segment.tags_any.add(tag)
    sequence = welcome_sequence(newsletter, timedelta(0), timedelta(days=2))
    return {
        "segments": "/admin/subscribers/segment/",
        "segment": f"/admin/subscribers/segment/{segment.pk}/change/",
        "new segment": "/admin/subscribers/segment/add/",
        "welcome sequence": f"/admin/issues/welcomesequence/{sequence.pk}/change/",
        "subscribers": "/admin/subscribers/subscriber/",
        "subscriber": f"/admin/subscribers/subscriber/{subscribers[0].pk}/change/",
        "import": "/admin/subscribers/subscriber/import/",
        "delivery": f"/admin/issues/issue/{issue.pk}/delivery/",
        "send": f"/admin/issues/issue/{issue.pk}/send/",
        "schedule": f"/admin/issues/issue/{issue.pk}/schedule/",
    }


def test_superfasts_admin_pages_have_no_serious_axe_violation_light_or_dark(
    live_server, page, django_user_model, artifacts_dir
):
    pages = admin_pages()
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    found = {}
    for name, path in pages.items():
        response = page.goto(live_server.url + path)
        assert response.status == 200, name
        for scheme in ("light", "dark"):
            page.emulate_media(color_scheme=scheme)
            page.wait_for_timeout(200)  # the admin's links fade between themes' colours
            for violation in serious_accessibility_violations(page, nodes=None):
                nodes = [n for n in violation["nodes"] if not djangos_own(violation["id"], n)]
                if nodes:
                    found[f"{name} ({scheme}) {violation['id']}"] = nodes
        page.emulate_media(color_scheme="light")
        page.screenshot(path=artifacts_dir / f"admin-{name.replace(' ', '-')}.png", full_page=True)
    (artifacts_dir / "admin-axe.json").write_text(json.dumps(found, indent=1))
    assert not found, json.dumps(found, indent=1)
