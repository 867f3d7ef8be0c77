"""Test helpers for engagement: link targets on loopback, and readers that click like
browsers, scanners and link checkers."""

import re
import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from django.conf import settings

from issues.compose.blocks import get_kind
from issues.delivery.queue import enqueue
from issues.models import Block, Click

from .factories import make_issue, make_newsletter
from .waiting import wait_until

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0"
SCANNER = "Mozilla/5.0 (compatible; Barracuda Sentinel URL Scanner)"


class LinkTargets:
    """Where the issue's links point: a loopback web server noting every path it serves."""

    def __init__(self):
        self.paths: list[str] = []
        targets = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                targets.paths.append(self.path)
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def issue_linking_to(
    base_url, sections=8, title="Small models, big inboxes", **newsletter_settings
):
    """A 25-block issue whose link lists point at ``base_url`` (one link per section, with a
    query string an HTML escape would change); not frozen: sending freezes it."""
    newsletter = make_newsletter(
        **{"slug": "signals", "name": "Signals Weekly", **newsletter_settings}
    )
    issue = make_issue(newsletter, title)
    raw = [("markdown", {"body": "Hello,\n\nFive things worth your time this week."})]
    for n in range(sections):
        raw += [
            ("heading", {"title": f"Thread {n}"}),
            ("markdown", {"body": f"Notes on thread {n}: what changed, and why it matters."}),
            (
                "link_list",
                {"items": f"Paper {n} | {base_url}/paper/{n}?from=mail&kind=pdf | worth it"},
            ),
        ]
    Block.objects.bulk_create(
        Block(issue=issue, position=p, kind=kind, data=get_kind(kind).validate(data))
        for p, (kind, data) in enumerate(raw, start=1)
    )
    return issue


def tracked_links(message) -> tuple[list[str], list[str]]:
    """(tracked hrefs of the HTML part in order, tracked URLs of the text part) of a mail."""
    text, html = message.get_payload()
    prefix = re.escape(settings.SITE_URL + "/c/")
    hrefs = re.findall(rf'href="({prefix}[^"]+)"', html.get_content())
    plain = re.findall(rf"<({prefix}[^>]+)>", text.get_content())
    return [h.replace("&amp;", "&") for h in hrefs], plain


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def request(url, *, method="GET", agent=BROWSER, follow=True):
    """(status, Location header) of one request; ``follow`` lets it go on to the target."""
    handlers = [] if follow else [NoRedirect()]
    opener = urllib.request.build_opener(*handlers)
    req = urllib.request.Request(url, method=method, headers={"User-Agent": agent})
    try:
        with opener.open(req, timeout=10) as response:
            return response.status, response.headers.get("Location"), response.url
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Location"), url


def send_in_process(issue):
    """Send ``issue`` to its readers with the worker's own functions, in this process: plan,
    then the sender loop over the configured SMTP server. Returns the dispatch."""
    from issues.delivery import plan_dispatch, run_sender
    from issues.delivery.lifecycle import frozen_snapshot
    from issues.models import Dispatch

    dispatch = Dispatch.objects.create(issue=issue, snapshot=frozen_snapshot(issue))
    plan_dispatch(dispatch)
    run_sender(dispatch.pk)
    return dispatch


def links_by_reader(sink) -> dict[str, list[str]]:
    """Each recipient's tracked links (canary first), from the mail they received."""
    return {m.rcpt_tos[0]: tracked_links(m.message)[0] for m in sink.messages}


def pixels_by_reader(sink) -> dict[str, str]:
    """Each recipient's open pixel URL, from the mail they received (open tracking on)."""
    prefix = re.escape(settings.SITE_URL + "/o/")
    return {
        m.rcpt_tos[0]: re.search(
            rf'src="({prefix}[^"]+)"', m.message.get_payload()[1].get_content()
        )[1]
        for m in sink.messages
    }


def buffered(buffer) -> int:
    return buffer.client().xlen("superfast:engagement:events")


def flush_and_wait(buffer, expected_rows):
    """Ask the worker to flush (as beat does) until the buffer is empty and rows are in."""

    def done():
        enqueue("issues.tasks.flush_engagement")
        empty = buffer.client().xlen("superfast:engagement:events") == 0
        return empty and Click.objects.count() >= expected_rows

    wait_until(done, timeout=60, what="the click buffer flushed", interval=0.5)
