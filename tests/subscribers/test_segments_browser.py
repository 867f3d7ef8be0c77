"""An editor builds a segment in Chromium, watches its count change, and picks it to send."""

import pytest
from playwright.sync_api import expect

from issues.models import Dispatch
from subscribers import services
from subscribers.models import Segment, Subscriber, Tag
from tests.support.admin import log_into_admin, make_editor
from tests.support.delivery import make_subscribers
from tests.support.factories import make_issue

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_segment_count_follows_the_form_and_the_send_page_names_the_segment(
    live_server, page, django_user_model, artifacts_dir
):
    issue = make_issue(frozen=True)
    readers = make_subscribers(issue.newsletter, 40)
    researchers = Tag.objects.create(name="researchers")
    services.add_tag(Subscriber.objects.filter(pk__in=[r.pk for r in readers[:12]]), researchers)
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)

    # Tagging from the list: tick two readers, choose the action, name a new tag.
    page.goto(f"{live_server.url}/admin/subscribers/subscriber/?q=reader3")
    page.locator("input.action-select").nth(0).check()
    page.locator("input.action-select").nth(1).check()
    page.select_option("select[name=action]", "add_tag_to_selected")
    page.click("button[name=index]")
    page.wait_for_selector("#tag-action-form")
    page.fill("#id_new_tag", "night owls")
    page.screenshot(path=artifacts_dir / "tag-action.png", full_page=True)
    page.click("input[name=apply]")
    page.wait_for_selector("text=Tagged 2 subscribers “night owls”.")
    assert Subscriber.objects.filter(tags__name="night owls").count() == 2

    page.goto(f"{live_server.url}/admin/subscribers/segment/add/")
    expect(page.locator("#segment-count")).to_have_text("40")
    page.fill("#id_name", "Researchers")
    page.select_option("#id_newsletter", str(issue.newsletter.pk))
    # The tag picker is the admin's autocomplete: type, then choose the match.
    page.locator("#id_tags_any + .select2").click()
    page.keyboard.type("resea")
    page.locator(".select2-results__option", has_text="researchers").click()
    expect(page.locator("#segment-count")).to_have_text("12")
    page.check("#id_never_clicked")
    problem = page.locator("#segment-count-problem")
    expect(page.locator("#segment-count")).to_have_text("–")
    assert problem.is_visible()
    assert "does not keep per-subscriber click history" in problem.text_content()
    page.uncheck("#id_never_clicked")
    expect(page.locator("#segment-count")).to_have_text("12")
    assert problem.is_hidden()
    page.screenshot(path=artifacts_dir / "segment-live-count.png", full_page=True)
    page.click("input[name=_save]")
    page.wait_for_selector("text=was added successfully")
    segment = Segment.objects.get()

    page.goto(f"{live_server.url}/admin/issues/issue/{issue.pk}/send/")
    assert page.locator("#recipient-count").text_content() == "40"
    page.select_option("#id_audience", f"segment:{segment.pk}")  # the page recounts at once
    page.wait_for_selector("input[value='Yes, send to 12 recipients in the segment “Researchers”']")
    page.screenshot(path=artifacts_dir / "send-to-segment.png", full_page=True)
    assert page.locator("#recipient-count").text_content() == "12"
    assert not Dispatch.objects.exists()
