import contextlib
import shutil
import zipfile
from pathlib import Path

import pytest

from tests.support.archive import fresh_archive_pages
from tests.support.composing import image_bytes
from tests.support.factories import make_newsletter
from tests.support.pages import LoopbackPages

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


def zip_of(path: Path, members: dict) -> Path:
    """A zip of ``members`` {name: text or bytes}."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


CHART = image_bytes((800, 400))


class ImageHost(LoopbackPages):
    """The old platform's image host: a chart, a page posing as a picture, a huge picture."""

    def page_img_chart(self, handler):
        handler.answer(200, CHART, content_type="image/png")

    def page_img_moved(self, handler):
        handler.answer(302, b"", Location="/img/chart")

    def page_img_fake(self, handler):
        handler.answer(200, b"<html><script>alert(1)</script></html>", content_type="image/png")

    def page_img_huge(self, handler):
        """Says it is 21 MB (an upload may be 20): refused before the body is read."""
        handler.send_response(200)
        handler.send_header("Content-Type", "image/png")
        handler.send_header("Content-Length", str(21 * 1024 * 1024))
        handler.end_headers()
        with contextlib.suppress(OSError):  # the fetcher hangs up on it
            handler.wfile.write(CHART)


@pytest.fixture
def image_host(settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    server = ImageHost()
    yield server
    server.stop()


def export_showing(tmp_path, *sources):
    """A Substack export of one published post showing a picture from each of ``sources``."""
    images = "".join(
        f'<figure><img src="{src}" alt="Picture {n}"><figcaption>Caption {n}</figcaption></figure>'
        for n, src in enumerate(sources)
    )
    return zip_of(
        tmp_path / "export.zip",
        {
            "posts.csv": "post_id,post_date,is_published,type,audience,title,subtitle\n"
            "7.pictures,2023-02-06T14:00:00Z,true,newsletter,everyone,Pictures,\n",
            "posts/7.pictures.html": f"<p>The week in pictures.</p>{images}",
        },
    )
