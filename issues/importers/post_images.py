"""Where an imported post's pictures come from: the export, or (asked) the web.

An export that carries its pictures (Ghost's zip keeps ``content/images/…``) gives them
from the file. Substack's and Buttondown's exports carry none: their posts point at the
platform's image host. Left as they are, those pictures keep loading from the old
platform, which may delete them once the newsletter has moved; ``--fetch-images`` (the
admin's "Fetch remote images" box) downloads each one through the one server-side fetcher
(``fetcher.fetch``: public addresses only, after DNS and on every redirect, a deadline, no
cookies), read up to the size an upload may be. The bytes then go through the image
block's own upload checks and storage (``html_blocks.stored_image``), exactly as a file an
editor uploads: a page that is not a picture, or a picture too large, is refused there.
A picture that cannot be had keeps its remote address, and the report says why.
"""

import socket
from urllib.parse import urlsplit

from ..compose.images import MAX_UPLOAD_BYTES
from .exports import Export
from .fetcher import FetchError, Resolver, fetch
from .html_blocks import ImageUnavailable


class PostImages:
    """The ``image_source`` of ``build_blocks`` for one export: bytes of a picture, or None
    (left remote, nothing to say), or ``ImageUnavailable`` (left remote, with why)."""

    def __init__(
        self, export: Export, *, fetch_remote: bool = False, resolver: Resolver = socket.getaddrinfo
    ):
        self.export = export
        self.fetch_remote = fetch_remote
        self.resolver = resolver
        self.fetched = 0

    def __call__(self, url: str) -> bytes | None:
        carried = self.export.image(url)
        if carried is not None or not self.fetch_remote or not web_address(url):
            return carried
        try:
            answer = fetch(
                url, resolver=self.resolver, max_bytes=MAX_UPLOAD_BYTES, accept="image/*"
            )
        except FetchError as error:
            raise ImageUnavailable(f"not fetched: {error}") from error
        if answer.status != 200:
            raise ImageUnavailable(f"not fetched: the server answered {answer.status}")
        self.fetched += 1
        return answer.body


def web_address(url: str) -> bool:
    """Only web addresses are fetched (the rest is the export's, or left out)."""
    return urlsplit(url.strip()).scheme.lower() in ("http", "https")
