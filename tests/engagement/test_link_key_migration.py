"""Links already in inboxes keep working when the link key is split from the reader salt.

Before migration 0017 an issue's one salt both salted readers' hashes and, hashed once
more (``sha256(b"superfast.engagement.tokens:" + salt)``), signed its tracked links.
"""

import hashlib

import pytest

from issues.engagement import tokens
from issues.engagement.views import link_tables

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = [("issues", "0016_ledger_outcome_indexes")]
AFTER = [("issues", "0017_separate_link_key_from_reader_salt")]


def test_a_link_signed_before_the_split_still_redirects_after_it(client, migrate):
    old = migrate(BEFORE)
    newsletter = old.get_model("issues", "Newsletter").objects.create(
        slug="signals", name="Signals", from_name="Signals", from_email="s@example.org"
    )
    issue = old.get_model("issues", "Issue").objects.create(
        newsletter=newsletter, title="Old", slug="old", number=1
    )
    old.get_model("issues", "TrackedLink").objects.create(
        issue=issue, position=1, url="https://example.org/a", target="https://example.org/a"
    )
    salt = "9f" * 32
    old.get_model("issues", "IssueSalt").objects.create(issue=issue, salt=salt)
    old_key = hashlib.sha256(b"superfast.engagement.tokens:" + salt.encode()).digest()
    in_inbox = f"/c/{tokens.link_token(old_key, issue.pk, 1)}/{tokens.reader_token(old_key, 0)}"

    new = migrate(AFTER)
    keys = new.get_model("issues", "IssueSalt").objects.get(issue_id=issue.pk)
    assert keys.reader_salt == salt  # the readers' hashes so far stay countable
    assert bytes.fromhex(keys.link_key) == old_key
    link_tables.clear()
    response = client.get(in_inbox, HTTP_USER_AGENT="Mozilla/5.0")
    assert (response.status_code, response["Location"]) == (302, "https://example.org/a")
