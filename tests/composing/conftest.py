import pytest

from tests.support.composing import make_issue, make_newsletter


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Uploads and renditions of each test in its own folder."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def newsletter(db):
    return make_newsletter()


@pytest.fixture
def issue(newsletter):
    return make_issue(newsletter)
