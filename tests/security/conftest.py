"""The subscriber tests' fixtures (a newsletter or two, a mail worker, empty rate limits),
an issue of the newsletter and a superuser's client for the admin's issue form."""

import pytest
from django.contrib.auth.models import User

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
