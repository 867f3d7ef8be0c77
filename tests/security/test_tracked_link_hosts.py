"""Tracked links answered for any Host header: the redirect middleware ran before host
validation. A request for a host the site does not serve now gets 400 and counts nothing."""

import pytest

from issues.engagement import recorder
from issues.engagement.views import link_tables
from issues.models import Click, Open
from tests.support.delivery import make_subscribers
from tests.support.engagement import (
    BROWSER,
    buffered,
    issue_linking_to,
    links_by_reader,
    pixels_by_reader,
    send_in_process,
)
from tests.support.subscribers import path_of

pytestmark = pytest.mark.django_db(transaction=True)

SITE = "news.example.org"


@pytest.fixture
def production_hosts(settings):
    settings.DEBUG = False
    settings.ALLOWED_HOSTS = [SITE]
    settings.SITE_URL = f"https://{SITE}"


def test_a_tracked_link_or_pixel_for_another_host_gets_400_and_records_nothing(
    client, smtp_sink, click_buffer, production_hosts
):
    issue = issue_linking_to("https://papers.example.org", sections=2, track_opens=True)
    (reader,) = make_subscribers(issue.newsletter, 1)
    send_in_process(issue)
    link_tables.clear()
    link = path_of(links_by_reader(smtp_sink)[reader.email][1])
    pixel = path_of(pixels_by_reader(smtp_sink)[reader.email])
    for host in ["evil.example", f"{SITE}.evil.example", "127.0.0.1"]:
        for path in (link, pixel):
            response = client.get(path, HTTP_HOST=host, HTTP_USER_AGENT=BROWSER, secure=True)
            assert response.status_code == 400, (host, path)
            assert not response.has_header("Location")
    assert buffered(click_buffer) == 0
    recorder.flush()
    assert not Click.objects.exists() and not Open.objects.exists()

    # The site's own host: the same link redirects and counts.
    response = client.get(link, HTTP_HOST=SITE, HTTP_USER_AGENT=BROWSER, secure=True)
    assert (response.status_code, response["Location"]) == (
        302,
        "https://papers.example.org/paper/0?from=mail&kind=pdf",
    )
    assert (
        client.get(pixel, HTTP_HOST=SITE, HTTP_USER_AGENT=BROWSER, secure=True).status_code == 200
    )
    recorder.flush()
    assert (Click.objects.count(), Open.objects.count()) == (1, 1)
