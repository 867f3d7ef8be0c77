"""The one server-side fetcher refuses every internal address, after DNS and on every
redirect, and bounds time, size and redirects. Refusals are tested with a stub resolver and
a connect that fails the test: no packet goes anywhere. Fetches go to a loopback server,
allowed by FETCH_ALLOW_LOOPBACK (which production refuses)."""

import socket
import time

import pytest

from issues.importers.fetcher import FetchError, Refused, fetch
from tests.support.pages import stub_resolver

REFUSED_ADDRESSES = {
    "loopback": "127.0.0.1",
    "loopback elsewhere in 127/8": "127.45.6.7",
    "IPv6 loopback": "::1",
    "private 10/8": "10.1.2.3",
    "private 172.16/12": "172.20.0.1",
    "private 192.168/16": "192.168.1.1",
    "link-local (cloud metadata)": "169.254.169.254",
    "IPv6 link-local": "fe80::1",
    "IPv6 unique local": "fd00::1",
    "multicast": "224.0.0.1",
    "IPv6 multicast": "ff0e::1",
    "reserved 240/4": "240.0.0.1",
    "broadcast": "255.255.255.255",
    "unspecified": "0.0.0.0",
    "IPv6 unspecified": "::",
    "shared address space (CGNAT)": "100.64.0.1",
    "documentation": "192.0.2.10",
    "benchmarking": "198.18.0.1",
    "IPv4-mapped loopback": "::ffff:127.0.0.1",
    "IPv4-mapped private": "::ffff:10.0.0.1",
    "IPv4-mapped metadata": "::ffff:169.254.169.254",
    "6to4 of a private address": "2002:0a00:0001::1",
    "NAT64 of loopback": "64:ff9b::7f00:1",
}


@pytest.fixture
def no_connections(monkeypatch):
    """Any attempt to open a connection fails the test."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the fetcher tried to connect: {args}")

    monkeypatch.setattr(socket, "create_connection", refuse)


@pytest.mark.parametrize("address", REFUSED_ADDRESSES.values(), ids=REFUSED_ADDRESSES.keys())
def test_every_internal_address_is_refused_after_dns_resolution(address, no_connections):
    with pytest.raises(Refused, match="never fetched"):
        fetch(
            "https://news.example.org/story", resolver=stub_resolver({"news.example.org": address})
        )


def test_a_name_with_one_private_address_among_public_ones_is_refused(no_connections):
    def resolver(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.7", port)),
        ]

    with pytest.raises(Refused):
        fetch("http://rebind.example/", resolver=resolver)


def test_a_public_address_is_allowed_and_connected_to_as_resolved(monkeypatch):
    """The connection goes to the address the one lookup gave (no second lookup)."""
    lookups, connections = [], []

    def resolver(host, port, *args, **kwargs):
        lookups.append(host)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.215.14", port))]

    def connect(address, timeout=None, *args):
        connections.append(address)
        raise ConnectionRefusedError  # stop here: no packet leaves

    monkeypatch.setattr(socket, "create_connection", connect)
    with pytest.raises(FetchError, match="could not be reached"):
        fetch("http://news.example.org/story", resolver=resolver)
    assert lookups == ["news.example.org"]
    assert connections == [("93.184.215.14", 80)]


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://news.example.org/",
        "gopher://news.example.org/",
        "javascript:alert(1)",
        "http://user:secret@news.example.org/",
        "http:///no-host",
    ],
)
def test_only_http_and_https_without_credentials_are_fetched(url, no_connections):
    with pytest.raises(Refused):
        fetch(url, resolver=stub_resolver({}))


def test_loopback_is_refused_unless_the_test_setting_allows_it(settings, no_connections):
    settings.FETCH_ALLOW_LOOPBACK = False
    with pytest.raises(Refused, match="loopback"):
        fetch("http://127.0.0.1:9/", resolver=socket.getaddrinfo)
    settings.FETCH_ALLOW_LOOPBACK = True
    with pytest.raises(Refused, match="private"):  # the setting opens loopback, nothing else
        fetch("http://10.0.0.1/", resolver=socket.getaddrinfo)


def test_fetches_a_page_with_status_final_url_type_and_bytes(pages):
    page = fetch(pages.url + "/article")
    assert (page.status, page.url, page.content_type, page.charset) == (
        200,
        pages.url + "/article",
        "text/html",
        "utf-8",
    )
    assert page.body.startswith(b"<!doctype html>")
    headers = pages.requests[-1][1]
    assert headers["User-Agent"].startswith("Superfast/")
    assert headers["Host"] == f"127.0.0.1:{pages.port}"
    assert "Authorization" not in headers and "Cookie" not in headers


def test_connects_to_the_resolved_address_and_sends_the_name_as_host(pages):
    page = fetch(
        f"http://news.example.org:{pages.port}/article",
        resolver=stub_resolver({"news.example.org": "127.0.0.1"}),
    )
    assert page.status == 200
    assert pages.requests[-1][1]["Host"] == f"news.example.org:{pages.port}"


def test_a_redirect_to_a_private_address_is_refused(pages):
    resolver = stub_resolver({"loop.example": "127.0.0.1", "intranet.example": "10.0.0.5"})
    with pytest.raises(Refused, match="private"):
        fetch(f"http://loop.example:{pages.port}/to-private", resolver=resolver)
    with pytest.raises(Refused, match="link-local"):
        fetch(f"http://loop.example:{pages.port}/to-metadata", resolver=resolver)
    assert pages.paths() == ["/to-private", "/to-metadata"]  # nothing followed


def test_redirects_are_limited(pages):
    with pytest.raises(FetchError, match="more than 5 redirects"):
        fetch(pages.url + "/hop")
    assert pages.paths() == ["/hop"] * 6


def test_cookies_are_neither_sent_nor_kept_across_redirects(pages):
    page = fetch(pages.url + "/cookie")
    assert page.url == pages.url + "/echo"
    assert page.body == b"no cookie"


def test_a_body_over_the_size_limit_is_refused_or_cut(pages):
    with pytest.raises(FetchError, match="larger than 100000 bytes"):
        fetch(pages.url + "/huge", max_bytes=100_000)
    page = fetch(pages.url + "/huge", max_bytes=100_000, truncate=True)
    assert len(page.body) == 100_000 and page.truncated


def test_a_slow_page_is_given_up_at_the_deadline(pages):
    started = time.monotonic()
    with pytest.raises(FetchError, match="too long"):
        fetch(pages.url + "/slow", timeout=0.5)
    assert time.monotonic() - started < 2


def test_a_page_that_falls_silent_is_given_up_at_the_deadline_not_a_read_timeout_later(pages):
    started = time.monotonic()
    with pytest.raises(FetchError, match="too long"):
        fetch(pages.url + "/pause", timeout=1.0)
    assert time.monotonic() - started < 1.5  # not 0.8 s + another whole timeout


def test_a_closed_port_is_an_error_not_a_crash(settings):
    settings.FETCH_ALLOW_LOOPBACK = True
    closed = socket.socket()
    closed.bind(("127.0.0.1", 0))
    port = closed.getsockname()[1]
    closed.close()
    with pytest.raises(FetchError, match="could not be reached"):
        fetch(f"http://127.0.0.1:{port}/")
