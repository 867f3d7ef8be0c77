"""Web pages served on loopback for the server-side fetcher and link previews: a page with
metadata, an arXiv-like abstract page, redirects, cookies, a huge body and a slow one."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ARTICLE = b"""<!doctype html>
<html><head>
<meta charset="utf-8">
<title>Fallback title | Example News</title>
<meta property="og:title" content="Small models learn to read tables">
<meta property="og:description" content="A 3B model matches   GPT-4 on
  spreadsheet questions, with a trick anyone can copy.">
<!-- <meta property="og:title" content="commented out"> -->
<script>var s = '<meta property="og:title" content="in a script">';</script>
</head><body><h1>Not the title</h1></body></html>"""

PLAIN = b"""<!doctype html><html><head><title>  Only a
title &amp; nothing else </title>
<meta name="description" content="The meta description."></head><body></body></html>"""

ARXIV_ABS = b"""<!doctype html><html><head><title>[2401.00001] A paper</title>
<meta name="citation_title" content="Attention Is Still All You Need">
<meta name="citation_author" content="Vaswani, Ashish">
<meta name="citation_author" content="Shazeer, Noam">
<meta property="og:title" content="Attention Is Still All You Need (og)">
</head><body></body></html>"""


class LoopbackPages:
    """A tiny web server on a free loopback port; ``requests`` notes (path, headers)."""

    def __init__(self):
        self.requests: list[tuple[str, dict]] = []
        self.stopping = threading.Event()
        pages = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                pages.requests.append((self.path, dict(self.headers)))
                route = getattr(
                    pages,
                    "page_"
                    + self.path.strip("/").split("?")[0].replace("-", "_").replace("/", "_"),
                    None,
                )
                if route is None:
                    self.answer(404, b"not here")
                else:
                    route(self)

            def answer(self, status, body, content_type="text/html; charset=utf-8", **headers):
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                for name, value in headers.items():
                    self.send_header(name.replace("_", "-"), value)
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()

    def stop(self):
        self.stopping.set()
        self.server.shutdown()
        self.server.server_close()

    def paths(self):
        return [path for path, _ in self.requests]

    # Routes: /article is page_article, /abs/2401.00001 is page_abs_2401.00001 (see below).
    def page_article(self, handler):
        handler.answer(200, ARTICLE)

    def page_plain(self, handler):
        handler.answer(200, PLAIN)

    def page_image(self, handler):
        handler.answer(200, b"\x89PNG\r\n", content_type="image/png")

    def page_picture(self, handler):
        """A real picture (a pasted draft's image, fetched and stored like an upload)."""
        from tests.support.composing import image_bytes

        handler.answer(200, image_bytes((800, 420)), content_type="image/png")

    def page_cookie(self, handler):
        handler.answer(302, b"", Location="/echo", Set_Cookie="session=secret; Path=/")

    def page_echo(self, handler):
        handler.answer(200, handler.headers.get("Cookie", "no cookie").encode())

    def page_hop(self, handler):
        handler.answer(302, b"", Location="/hop")

    def page_to_private(self, handler):
        handler.answer(302, b"", Location="http://intranet.example/admin")

    def page_to_metadata(self, handler):
        handler.answer(301, b"", Location="http://169.254.169.254/latest/meta-data/")

    def page_huge(self, handler):
        """Ten megabytes, sent as a stream without a length."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        try:
            for _ in range(160):
                handler.wfile.write(b"<p>" + b"x" * 65533)
        except OSError:
            pass

    def page_slow(self, handler):
        """A byte every tenth of a second, for at most ten seconds."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        try:
            for _ in range(100):
                if self.stopping.is_set():
                    return
                handler.wfile.write(b"x")
                handler.wfile.flush()
                time.sleep(0.1)
        except OSError:
            pass

    def page_pause(self, handler):
        """A byte at once, another after 0.8 s, then silence for at most five seconds."""
        handler.send_response(200)
        handler.send_header("Content-Type", "text/html")
        handler.end_headers()
        try:
            for pause in (0, 0.8):
                time.sleep(pause)
                handler.wfile.write(b"x")
                handler.wfile.flush()
            self.stopping.wait(5)
        except OSError:
            pass

    def __getattr__(self, name):
        if name.startswith("page_abs_"):
            return lambda handler: handler.answer(200, ARXIV_ABS)
        raise AttributeError(name)


def stub_resolver(names: dict[str, str]):
    """A resolver answering ``names`` {host: address} without asking any DNS; any other
    name fails as unknown."""
    import socket

    def resolve(host, port, *args, **kwargs):
        if host not in names:
            raise socket.gaierror(socket.EAI_NONAME, "unknown name")
        address = names[host]
        family = socket.AF_INET6 if ":" in address else socket.AF_INET
        sockaddr = (address, port, 0, 0) if family == socket.AF_INET6 else (address, port)
        return [(family, socket.SOCK_STREAM, 6, "", sockaddr)]

    return resolve
