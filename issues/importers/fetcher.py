"""The one server-side fetcher: every request Superfast makes on an editor's behalf.

A URL an editor pastes (a link preview, a remote image) names a host the editor chose, so a
fetch is a request from inside our network that someone else aimed: it must never reach a
private, loopback, link-local or otherwise internal address (cloud metadata at
169.254.169.254, the Redis on localhost, the office's printers). So:

- only ``http`` and ``https``, without credentials in the URL;
- the host is resolved **once** per hop, every address it resolves to must be public, and
  the connection goes to that resolved address (no second lookup a rebinding DNS could
  answer differently); TLS still checks the certificate against the host name;
- every redirect is checked the same way, at most ``FETCH_MAX_REDIRECTS`` of them;
- one deadline for the whole fetch, redirects included, and a size limit on the body read
  as a stream (cut there, or refused, as the caller asks);
- no cookies (none sent, none kept across redirects), no authentication, no compression
  (a small body cannot unpack into a huge one), and a User-Agent that says who asks.

``FETCH_ALLOW_LOOPBACK`` lets tests fetch pages they serve on loopback; only loopback, and a
production check refuses it. The resolver is a parameter so tests can answer any name with
any address without sending a packet anywhere.
"""

import http.client
import ipaddress
import socket
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from django.conf import settings

Resolver = Callable[..., list]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

REDIRECTS = {301, 302, 303, 307, 308}
CHUNK = 64 * 1024
USER_AGENT = "Superfast/1.0 (newsletter link preview; server-side fetch on an editor's behalf)"
# Public-looking IPv6 prefixes that carry an IPv4 address a gateway would reach for us.
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class FetchError(Exception):
    """The fetch did not give a page; the message says why, in words for the editor."""


class Refused(FetchError):
    """The URL or an address it leads to is one we never fetch."""


@dataclass(frozen=True)
class Fetched:
    status: int
    url: str  # after redirects
    content_type: str  # the media type, lower case, without parameters
    charset: str  # from Content-Type, or ""
    body: bytes
    truncated: bool = False


def address_refusal(ip: IPAddress) -> str:
    """Why Superfast never connects to ``ip`` ("" when it may): only global unicast."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
        if embedded is not None:
            reason = address_refusal(embedded)
            return f"{reason} (inside an IPv6 address)" if reason else ""
    if ip.is_loopback:
        return "" if settings.FETCH_ALLOW_LOOPBACK else "a loopback address"
    for attribute, what in (
        ("is_unspecified", "the unspecified address"),
        ("is_link_local", "a link-local address"),
        ("is_multicast", "a multicast address"),
        ("is_private", "a private address"),
        ("is_reserved", "a reserved address"),
    ):
        if getattr(ip, attribute):
            return what
    if not ip.is_global:  # shared address space (CGNAT, 100.64.0.0/10) and the like
        return "not a public address"
    return ""


def resolve(host: str, port: int, resolver: Resolver) -> str:
    """The one address to connect to: every address ``host`` resolves to must be public."""
    try:
        literal = ipaddress.ip_address(host)  # an address in the URL: no lookup at all
    except ValueError:
        literal = None
    try:
        answers = (
            [(0, socket.SOCK_STREAM, 0, "", (str(literal), port))]
            if literal
            else resolver(host, port, type=socket.SOCK_STREAM)
        )
    except (OSError, UnicodeError) as error:
        raise FetchError(f"{host} could not be resolved") from error
    addresses = []
    for *_, sockaddr in answers:
        ip = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        refusal = address_refusal(ip)
        if refusal:
            raise Refused(f"{host} leads to {refusal} ({ip}), which is never fetched")
        addresses.append(str(ip))
    if not addresses:
        raise FetchError(f"{host} could not be resolved")
    return addresses[0]


class PinnedHTTPConnection(http.client.HTTPConnection):
    """An HTTP connection to an address resolved beforehand; ``Host`` stays the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout)
        self.address = address

    def connect(self) -> None:
        self.sock = self.pinned = socket.create_connection((self.address, self.port), self.timeout)


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """TLS to an address resolved beforehand, the certificate checked against the name."""

    def __init__(self, host: str, port: int, address: str, timeout: float):
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self.address = address

    def connect(self) -> None:
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self.pinned = self._context.wrap_socket(sock, server_hostname=self.host)


def checked_target(url: str) -> tuple[str, str, int, str]:
    """(scheme, host, port, path with query) of a URL we may try, or ``Refused``."""
    parts = urlsplit(url.strip())
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        raise Refused("only http and https links are fetched")
    if parts.username is not None or parts.password is not None:
        raise Refused("links with a user name or password are not fetched")
    try:
        port = parts.port or (443 if scheme == "https" else 80)
    except ValueError as error:
        raise Refused("the link's port is not a number") from error
    if not parts.hostname:
        raise Refused("the link has no host")
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return scheme, parts.hostname, port, path


def fetch(
    url: str,
    *,
    resolver: Resolver = socket.getaddrinfo,
    max_bytes: int | None = None,
    timeout: float | None = None,
    max_redirects: int | None = None,
    truncate: bool = False,
    accept: str = "*/*",
) -> Fetched:
    """GET ``url`` under the rules above. A body over ``max_bytes`` is cut there when
    ``truncate`` (a page's metadata sits at its start), else refused."""
    max_bytes = settings.FETCH_MAX_BYTES if max_bytes is None else max_bytes
    timeout = settings.FETCH_TIMEOUT_SECONDS if timeout is None else timeout
    hops = settings.FETCH_MAX_REDIRECTS if max_redirects is None else max_redirects
    deadline = time.monotonic() + timeout
    for _ in range(hops + 1):
        response, connection = open_once(url, resolver, deadline, accept)
        try:
            location = response.getheader("Location")
            if response.status in REDIRECTS and location:
                url = urljoin(url, location.strip())
                continue
            body, truncated = read_body(response, connection, deadline, max_bytes, truncate)
        finally:
            connection.close()
        content_type = response.getheader("Content-Type") or ""
        media_type, _, parameters = content_type.partition(";")
        charset = ""
        for parameter in parameters.split(";"):
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "charset":
                charset = value.strip().strip("\"'")
        return Fetched(response.status, url, media_type.strip().lower(), charset, body, truncated)
    raise FetchError(f"more than {hops} redirects")


def remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise FetchError("the page took too long to answer")
    return left


def open_once(url: str, resolver: Resolver, deadline: float, accept: str):
    """One request, no redirect followed: (response, connection)."""
    scheme, host, port, path = checked_target(url)
    address = resolve(host, port, resolver)
    kind = PinnedHTTPSConnection if scheme == "https" else PinnedHTTPConnection
    connection = kind(host, port, address, timeout=remaining(deadline))
    try:
        connection.request(
            "GET",
            path,
            headers={
                "User-Agent": USER_AGENT,
                "Accept": accept,
                "Accept-Encoding": "identity",
                "Connection": "close",
            },
        )
        connection.pinned.settimeout(remaining(deadline))
        return connection.getresponse(), connection
    except (OSError, http.client.HTTPException) as error:
        connection.close()
        if isinstance(error, TimeoutError):
            raise FetchError("the page took too long to answer") from error
        raise FetchError(f"{host} could not be reached") from error


def read_body(response, connection, deadline: float, max_bytes: int, truncate: bool):
    """The body read in chunks under the deadline, to ``max_bytes``: (bytes, truncated)."""
    declared = response.getheader("Content-Length")
    if not truncate and declared and declared.isdigit() and int(declared) > max_bytes:
        raise FetchError(f"the page is larger than {max_bytes} bytes")
    chunks, size = [], 0
    try:
        while size <= max_bytes:
            # The connection hands its socket to the response (Connection: close), which
            # reads through it: each read may wait only as long as the fetch has left.
            connection.pinned.settimeout(remaining(deadline))
            chunk = response.read1(CHUNK) if hasattr(response, "read1") else response.read(CHUNK)
            if not chunk:
                return b"".join(chunks), False
            chunks.append(chunk)
            size += len(chunk)
            remaining(deadline)
    except TimeoutError as error:
        raise FetchError("the page took too long to answer") from error
    except (OSError, http.client.HTTPException) as error:
        raise FetchError("the page broke off") from error
    if not truncate:
        raise FetchError(f"the page is larger than {max_bytes} bytes")
    return b"".join(chunks)[:max_bytes], True
