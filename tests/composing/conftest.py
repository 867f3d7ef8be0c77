import pytest

from tests.support.factories import make_issue


@pytest.fixture(autouse=True)
def own_media_folder(media_root):
    """Uploads and renditions of each composing test in its own folder."""
    return media_root


@pytest.fixture
def issue(newsletter):
    return make_issue(newsletter, "Issue one")
