"""The security tests' own fixtures: an issue of the newsletter, and a superuser's client for
the admin's issue form (the newsletters, mail worker and click buffer are shared:
tests/conftest.py)."""

import pytest
from django.contrib.auth.models import User

from tests.support.factories import make_issue


@pytest.fixture
def issue(newsletter):
    return make_issue(newsletter, "Issue one")


@pytest.fixture
def editor_client(client):
    client.force_login(User.objects.create_superuser("boss", "boss@example.org", "pw-for-tests"))
    return client
