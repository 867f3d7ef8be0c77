import shutil
import zipfile
from pathlib import Path

import pytest

from tests.support.archive import fresh_archive_pages
from tests.support.factories import make_newsletter

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importers"


@pytest.fixture(autouse=True)
def fresh_pages(settings, media_root):
    with fresh_archive_pages(settings):
        yield


@pytest.fixture
def newsletter(db):
    return make_newsletter("ai-weekly", "AI Weekly")


def zipped(folder: Path, target: Path) -> Path:
    """``folder`` as the platform hands it out: one zip, members named from its root."""
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                archive.write(path, path.relative_to(folder).as_posix())
    return target


@pytest.fixture
def substack_zip(tmp_path):
    return zipped(FIXTURES / "substack", tmp_path / "substack-export.zip")


@pytest.fixture
def buttondown_zip(tmp_path):
    return zipped(FIXTURES / "buttondown", tmp_path / "buttondown-export.zip")


@pytest.fixture
def ghost_json(tmp_path):
    return Path(shutil.copy(FIXTURES / "ghost" / "ai-weekly.ghost.2023-03-01.json", tmp_path))
