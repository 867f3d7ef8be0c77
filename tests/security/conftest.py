"""The security tests' fixtures: the subscriber tests' (a newsletter or two, a mail worker,
empty rate limits), the engagement tests' click buffer, an issue of the newsletter and a
superuser's client for the admin's issue form."""

import pytest
from django.contrib.auth.models import User

from tests.engagement.conftest import click_buffer  # noqa: F401  (a fixture, found by name)
from tests.subscribers.conftest import (  # noqa: F401  (fixtures, found by name)
    fresh_rate_limits,
    mail,
    mail_worker,
    newsletter,
    second_newsletter,
)
from tests.support.composing import make_issue


@pytest.fixture
def issue(newsletter):  # noqa: F811  (the fixture imported above)
    return make_issue(newsletter)


@pytest.fixture
def editor_client(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw-for-tests"))
    return client
