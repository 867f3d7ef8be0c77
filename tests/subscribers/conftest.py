import pytest
from django.core.cache import cache

from tests.support.subscribers import make_newsletter


@pytest.fixture(autouse=True)
def fresh_rate_limits():
    """Rate-limit counters live in the cache; each test starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def newsletter(db):
    return make_newsletter()


@pytest.fixture
def second_newsletter(db):
    return make_newsletter(slug="field-notes", name="Field Notes")
