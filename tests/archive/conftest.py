import pytest

from tests.support.archive import fresh_archive_pages
from tests.support.factories import make_issue, make_newsletter


@pytest.fixture(autouse=True)
def empty_page_cache(settings):
    """Each test starts with no cached pages, and leaves none behind.

    The freshness window is off, so a test sees a change at once; one test measures it.
    """
    with fresh_archive_pages(settings):
        yield


@pytest.fixture(autouse=True)
def own_media_folder(media_root):
    """Generated sharing cards land in this test's own media folder."""
    return media_root


@pytest.fixture
def newsletter(db):
    """The archive's newsletter, with a description its pages show."""
    return make_newsletter(
        "harbour-notes",
        "Harbour Notes",
        description="A weekly letter about ports, ships and the people in them.",
    )


@pytest.fixture
def sent_issue(newsletter):
    return make_issue(newsletter, "Storm over the quay", days_ago=7)
