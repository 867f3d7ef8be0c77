"""Big issues in the admin: the change form posts what the browser posts, at 25 and 100 blocks.

Every POST here is read from the rendered change page as a browser submits the form (no
hand-built data), so the field count and the round trip are the ones editors get.
"""

import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from tests.support.composing import add_seed_shaped_blocks, stream_content
from tests.support.factories import make_issue
from tests.support.forms import as_post_data, submitted_fields

pytestmark = pytest.mark.django_db


def change_url(issue):
    return reverse("admin:issues_issue_change", args=[issue.pk])


def posted_by_browser(client, issue):
    """The change page's form as the browser would submit it, untouched."""
    page = client.get(change_url(issue))
    assert page.status_code == 200
    return submitted_fields(page.content.decode(), "issue_form")


def save(client, issue, fields):
    return client.post(change_url(issue), {**as_post_data(fields), "_continue": "Save"})


def test_rebuilt_25_block_issue_saves_and_keeps_every_edit(admin_client, issue):
    """The report: a real ~25-block issue failed to save (TooManyFieldsSent) and lost its edits."""
    add_seed_shaped_blocks(issue, count=25)
    before = stream_content(issue)

    response = save(admin_client, issue, posted_by_browser(admin_client, issue))

    assert response.status_code == 302, response.content[:300]
    assert stream_content(issue) == before


def test_a_block_posts_only_its_own_kinds_fields(admin_client, issue):
    blocks = add_seed_shaped_blocks(issue, count=25)
    fields = posted_by_browser(admin_client, issue)
    per_block: dict[int, set] = {}
    for name, _ in fields:
        match = re.match(r"blocks-(\d+)-(.+)$", name)
        if match:
            per_block.setdefault(int(match[1]), set()).add(match[2])
    assert sorted(per_block) == list(range(25))  # no empty form posted beside them
    for n, block in enumerate(blocks):
        kinds = {name.split("__")[0] for name in per_block[n] if "__" in name}
        assert kinds <= {block.kind}, f"block {n} ({block.kind}) posts fields of {kinds}"
    assert len(fields) < 25 * 12


def test_100_block_issue_reorders_and_saves_unchanged(admin_client, issue):
    add_seed_shaped_blocks(issue, count=100)
    before = stream_content(issue)
    fields = posted_by_browser(admin_client, issue)
    # The editor swaps the first two blocks: the page's script renumbers the positions.
    swapped = {"blocks-0-position": "2", "blocks-1-position": "1"}
    fields = [(name, swapped.get(name, value)) for name, value in fields]

    response = save(admin_client, issue, fields)

    assert response.status_code == 302, response.content[:300]
    assert stream_content(issue) == [before[1], before[0], *before[2:]]


def queries_to_open_and_save(client, issue):
    with CaptureQueriesContext(connection) as opening:
        fields = posted_by_browser(client, issue)
    # Every block changes: the whole stream is reversed.
    count = sum(1 for name, _ in fields if re.fullmatch(r"blocks-\d+-position", name))
    fields = [
        (name, str(count - int(value) + 1) if name.endswith("-position") else value)
        for name, value in fields
    ]
    with CaptureQueriesContext(connection) as saving:
        assert save(client, issue, fields).status_code == 302
    return len(opening), len(saving)


def test_queries_to_open_and_save_do_not_grow_with_the_blocks(admin_client, newsletter):
    small, big = make_issue(newsletter, "Small"), make_issue(newsletter, "Big")
    add_seed_shaped_blocks(small, count=25)  # one block of each kind
    add_seed_shaped_blocks(big, count=100)
    queries_to_open_and_save(admin_client, small)  # warm caches (content types, sessions)
    assert queries_to_open_and_save(admin_client, big) == queries_to_open_and_save(
        admin_client, small
    )
