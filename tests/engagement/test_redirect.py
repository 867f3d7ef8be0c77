"""The redirect under attack: forged, tampered, mixed and open-redirect URLs go nowhere."""

import pytest

from issues.engagement import recorder
from issues.engagement.links import CANARY_POSITION
from issues.models import Click, TrackedLink
from tests.support.delivery import make_subscribers
from tests.support.engagement import (
    BROWSER,
    buffered,
    issue_linking_to,
    links_by_reader,
    send_in_process,
)

TARGETS = "http://127.0.0.1:9"  # never requested: the test client does not follow redirects


@pytest.fixture
def sent(db, settings, smtp_sink, click_buffer):
    """Two sent issues of one newsletter, three readers each; their links by reader."""
    settings.SITE_URL = "http://testserver"
    first = issue_linking_to(TARGETS, sections=3)
    readers = make_subscribers(first.newsletter, 3)
    send_in_process(first)
    links_a = links_by_reader(smtp_sink)
    smtp_sink.handler.received.clear()
    second = first.newsletter.issues.create(title="The week after")
    second.blocks.create(kind="markdown", data={"body": f"[More]({TARGETS}/more)"}, position=1)
    send_in_process(second)
    links_b = links_by_reader(smtp_sink)
    return readers, links_a, links_b, first


def path(url):
    return url.removeprefix("http://testserver")


def assert_nowhere(response):
    assert response.status_code == 404
    assert "Location" not in response.headers


def test_a_reader_s_link_redirects_to_exactly_the_stored_url(client, sent):
    readers, links, _, issue = sent
    response = client.get(path(links[readers[0].email][2]))
    assert response.status_code == 302
    assert response["Location"] == f"{TARGETS}/paper/1?from=mail&kind=pdf"
    assert response["Cache-Control"] == "private, no-store"
    assert TrackedLink.objects.get(issue=issue, position=2).url == response["Location"]


def test_tampered_unknown_and_mixed_tokens_answer_404_without_a_location(
    client, sent, click_buffer
):
    readers, links_a, links_b, _ = sent
    url = path(links_a[readers[0].email][1])
    prefix, link, reader = url.rsplit("/", 2)
    issue_part, position, signature = link.split(".")
    other_reader = path(links_a[readers[1].email][1]).rsplit("/", 1)[1]
    flipped = signature[:-1] + ("A" if signature[-1] != "A" else "B")
    reader_id, reader_signature = reader.split(".")
    forged = [
        f"{prefix}/{issue_part}.{position}.{flipped}/{reader}",  # link signature tampered
        f"{prefix}/{issue_part}.{int(position, 36) + 1:x}.{signature}/{reader}",  # other link
        f"{prefix}/{issue_part}.{position}.{signature}/{int(reader_id, 36) + 1}.{reader_signature}",
        f"{prefix}/{issue_part}.{position}.{signature}/{reader_id}.{other_reader.split('.')[1]}",
        f"{prefix}/zzzzzzzz.1.{signature}/{reader}",  # unknown issue
        f"{prefix}/{'9' * 40}.1.{signature}/{reader}",  # absurd number
        f"{prefix}/{issue_part}.{position}.{signature}/",  # no reader part
        f"{prefix}/not-a-token/{reader}",
        f"{prefix}/{issue_part}.{position}.{signature}/{reader}.extra",
        f"{prefix}/ü.1.{signature}/{reader}",
    ]
    for attempt in forged:
        assert_nowhere(client.get(attempt))
    # A link of one issue with a reader part of another: both genuine, never together.
    a_link = path(links_a[readers[0].email][1]).rsplit("/", 1)[0]
    b_reader = path(links_b[readers[0].email][1]).rsplit("/", 1)[1]
    assert_nowhere(client.get(f"{a_link}/{b_reader}"))
    b_link = path(links_b[readers[0].email][1]).rsplit("/", 1)[0]
    assert_nowhere(client.get(f"{b_link}/{reader}"))
    assert buffered(click_buffer) == 0  # nothing forged was counted


def test_nothing_in_the_request_can_choose_the_target(client, sent):
    readers, links, _, _ = sent
    url = path(links[readers[0].email][1])
    for attempt in (
        f"{url}?next=https://evil.example/&url=//evil.example",
        f"{url}?target=https%3A%2F%2Fevil.example",
    ):
        response = client.get(attempt)
        assert response["Location"] == f"{TARGETS}/paper/0?from=mail&kind=pdf"
    for attempt in (
        "/c/https:%2F%2Fevil.example/x",
        "/c//evil.example",
        "/c/%2F%2Fevil.example/1.abc",
        f"{url}/https://evil.example",
        f"{url}%0d%0aLocation:%20https://evil.example",
    ):
        assert_nowhere(client.get(attempt))
    response = client.post(url)
    assert response.status_code == 405 and "Location" not in response.headers


def test_each_click_is_stored_once_even_when_a_flush_is_repeated_and_odd_entries_are_skipped(
    client, sent, click_buffer
):
    readers, links, _, _ = sent
    for url in (
        links[readers[0].email][1],
        links[readers[0].email][1],
        links[readers[1].email][CANARY_POSITION],
    ):
        assert client.get(path(url), HTTP_USER_AGENT=BROWSER).status_code == 302
    # A flush that read the entries and died before acknowledging them...
    client_redis = click_buffer.client()
    recorder.ensure_group(client_redis)
    entries = recorder.read(client_redis, ">")
    assert len(entries) == 3
    recorder.store(entries)  # ...even after committing them
    client_redis.xadd(recorder.STREAM, {"k": "c", "d": "not a number"})  # written by hand
    assert recorder.flush() == 4  # the next flush reads them again, skips the odd one
    assert Click.objects.count() == 3
    assert buffered(click_buffer) == 0
    assert list(Click.objects.order_by("id").values_list("is_machine", "machine_reason")) == [
        (False, ""),
        (False, ""),
        (True, "canary"),
    ]


def test_a_web_process_has_its_click_buffer_client_before_the_first_click():
    """Made on the first click, the client's import (about 120 ms) held up that click and
    the clicks queued behind it, in every web process after each start."""
    import subprocess
    import sys

    from tests.support.processes import ROOT, child_env

    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from django.core.wsgi import get_wsgi_application; "
            "get_wsgi_application(); print('redis' in sys.modules)",
        ],
        env=child_env(
            DEBUG="1",
            DJANGO_SETTINGS_MODULE="superfast.settings",
            REDIS_URL="redis://127.0.0.1:1/0",  # never connected to: the client is only made
        ),
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert loaded.stdout.strip() == "True", loaded.stderr
