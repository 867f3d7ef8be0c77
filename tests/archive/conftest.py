import pytest

from tests.support.archive import fresh_archive_pages, make_issue, make_newsletter


@pytest.fixture(autouse=True)
def empty_page_cache(settings):
    """Each test starts with no cached pages, and leaves none behind.

    The freshness window is off, so a test sees a change at once; one test measures it.
    """
    with fresh_archive_pages(settings):
        yield


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Generated sharing cards land in this test's own media folder."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def newsletter(db):
    return make_newsletter()


@pytest.fixture
def sent_issue(newsletter):
    return make_issue(newsletter, "Storm over the quay", days_ago=7, topic="dockside")
