"""What the render for sending does to the email's links, per newsletter setting."""

import re

import pytest

from issues.engagement import recorder
from issues.models import Newsletter, Open, TrackedLink
from issues.reports.engagement import issue_engagement
from tests.support.delivery import make_subscribers
from tests.support.engagement import BROWSER, issue_linking_to, send_in_process
from tests.support.forms import as_post_data, submitted_fields

TARGETS = "http://127.0.0.1:9"


@pytest.fixture
def sending(db, settings, smtp_sink, click_buffer):
    settings.SITE_URL = "http://testserver"

    def send(readers=2, **tracking):
        issue = issue_linking_to(TARGETS, sections=3, **tracking)
        make_subscribers(issue.newsletter, readers)
        send_in_process(issue)
        parts = [m.message.get_payload() for m in smtp_sink.messages]
        return issue, [(text.get_content(), html.get_content()) for text, html in parts]

    return send


def test_with_click_tracking_off_links_stay_as_written_and_the_table_still_lists_them(sending):
    issue, mails = sending(track_clicks=False)
    for text, html in mails:
        assert "/c/" not in html + text
        assert f'href="{TARGETS}/paper/0?from=mail&amp;kind=pdf"' in html
        assert f"<{TARGETS}/paper/0?from=mail&kind=pdf>" in text
    assert list(TrackedLink.objects.filter(issue=issue).values_list("position", "is_canary")) == [
        (1, False),
        (2, False),
        (3, False),
    ]


def test_consent_and_browser_links_are_never_tracked_and_utm_is_added_when_asked(sending, client):
    issue, mails = sending(utm_parameters=True)
    text, html = mails[0]
    assert re.search(r'href="http://testserver/unsubscribe/[^"]+"', html)
    assert re.search(r'href="http://testserver/preferences/[^"]+"', html)
    assert f'href="http://testserver{issue.get_absolute_url()}"' in html  # view in browser
    assert re.search(r"Unsubscribe: <http://testserver/unsubscribe/", text)
    tracked = re.findall(r'href="http://testserver(/c/[^"]+)"', html)
    response = client.get(tracked[1], HTTP_USER_AGENT=BROWSER)
    assert response["Location"] == (
        f"{TARGETS}/paper/0?from=mail&kind=pdf"
        "&utm_source=signals&utm_medium=email&utm_campaign=small-models-big-inboxes"
    )
    assert (
        TrackedLink.objects.get(issue=issue, position=1).url
        == f"{TARGETS}/paper/0?from=mail&kind=pdf"
    )


def test_without_open_tracking_there_is_no_pixel_and_no_open_figure(sending):
    issue, mails = sending()
    assert "/o/" not in mails[0][1]
    figures = issue_engagement(issue)
    assert (figures.opens_estimated, figures.unique_openers_estimated) == (None, None)


def test_with_open_tracking_the_pixel_counts_estimated_opens_apart_from_machines(sending, client):
    issue, mails = sending(track_opens=True)
    pixels = [
        re.search(r'<img src="http://testserver(/o/[^"]+)"', html).group(1) for _, html in mails
    ]
    assert len(set(pixels)) == 2
    for path, method in [(pixels[0], "get"), (pixels[0], "get"), (pixels[1], "head")]:
        response = getattr(client, method)(path, HTTP_USER_AGENT=BROWSER)
        assert (response.status_code, response["Content-Type"]) == (200, "image/gif")
    assert client.get(pixels[0][:-8] + "AAAAAAAA.gif").status_code == 404  # forged
    recorder.flush()
    figures = issue_engagement(issue)
    # The same reader's two loads are one open: opens are counted per reader.
    assert (figures.opens_estimated, figures.unique_openers_estimated) == (1, 1)
    assert Open.objects.filter(is_machine=True).count() == 1


def test_editors_set_tracking_in_the_newsletter_admin_and_cannot_take_a_tracked_path(
    admin_client,
):
    page = admin_client.get("/admin/issues/newsletter/add/").content.decode()
    data = as_post_data(submitted_fields(page, "newsletter_form"))
    assert (data.get("track_clicks"), data.get("track_opens")) == ("on", None)  # the defaults
    data |= {"name": "Field Notes", "from_name": "Field Notes", "from_email": "notes@example.org"}
    data |= {"slug": "c", "track_opens": "on", "subscriber_history": "on"}
    refused = admin_client.post("/admin/issues/newsletter/add/", data)
    assert "is taken by the site&#x27;s own addresses" in refused.content.decode()
    data["slug"] = "field-notes"
    assert admin_client.post("/admin/issues/newsletter/add/", data).status_code == 302
    saved = Newsletter.objects.get(slug="field-notes")
    assert (saved.track_clicks, saved.track_opens, saved.utm_parameters) == (True, True, False)
    assert saved.subscriber_history
