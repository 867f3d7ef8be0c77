import pytest
from django.core.cache import cache

from tests.support.archive import make_issue, make_newsletter


@pytest.fixture(autouse=True)
def empty_page_cache():
    """Each test starts with no cached pages, and leaves none behind."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def newsletter(db):
    return make_newsletter()


@pytest.fixture
def sent_issue(newsletter):
    return make_issue(newsletter, "Storm over the quay", days_ago=7, topic="dockside")
