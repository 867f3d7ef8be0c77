"""The admin under its Content-Security-Policy, in Chromium: nothing it needs is blocked, and
nothing an issue holds runs on the admin's origin (issue 18).

Violations are caught two ways: a ``securitypolicyviolation`` listener in every page the
admin's scripts run in, and Chromium's own console report ("Refused to ... Content Security
Policy"), which also covers frames where no script runs.
"""

import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.test import Client
from django.urls import reverse
from playwright.sync_api import expect

from issues.models import Issue, Newsletter, PlatformImport, Snapshot, WelcomeSequence
from subscribers.models import ImportJob, Segment
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import add_block
from tests.support.factories import make_issue

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LISTEN = """
window.__violations = [];
document.addEventListener('securitypolicyviolation', function (event) {
  window.__violations.push(event.violatedDirective + ' ' + event.blockedURI);
});
"""
# Requests that only a script of the issue's could make.
HOSTILE_WEB_HTML = (
    "<p>An imported post.</p>"
    "<script>fetch('/pwned/inline-script/')</script>"
    "<img src=x onerror=\"fetch('/pwned/onerror/')\">"
    "<a id=hostile-link href=\"javascript:fetch('/pwned/javascript-url/')\">Read on</a>"
    "<form action='/pwned/form/'><button id=hostile-submit>Go</button></form>"
)


class Watched:
    """The page's CSP violations, from its listener and from Chromium's console."""

    def __init__(self, page):
        self.page = page
        self.console = []
        self.requests = []
        page.add_init_script(LISTEN)
        page.on("console", self.on_console)
        page.on("request", lambda request: self.requests.append(request.url))

    def on_console(self, message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            self.console.append(message.text)

    def violations(self):
        listened = self.page.evaluate("window.__violations || []")
        return listened + self.console

    def visit(self, url):
        self.page.goto(url)
        self.page.wait_for_load_state("networkidle")
        assert self.violations() == [], url


@pytest.fixture
def house(live_server, settings):
    """The demo newsletter (its sent issue with images, quiz and sponsor, its draft), a
    dispatch in progress, a welcome sequence and an import."""
    settings.SITE_URL = live_server.url
    call_command("load_demo", stdout=io.StringIO())
    newsletter = Newsletter.objects.get()
    publisher = Client()
    publisher.force_login(make_editor_once())
    dispatched = make_issue(newsletter, title="On its way")
    add_block(dispatched, "markdown", {"body": "Going out now."})
    publisher.post(reverse("admin:issues_issue_send", args=[dispatched.pk]))
    welcome = Issue.objects.create(newsletter=newsletter, title="Welcome", kind=Issue.Kind.WELCOME)
    sequence = WelcomeSequence.objects.create(newsletter=newsletter)
    sequence.steps.create(issue=welcome, position=1, delay=timedelta(days=2))
    Segment.objects.create(name="Regulars", newsletter=newsletter)
    return {
        "sent": Issue.objects.get(status=Issue.Status.SENT),
        "draft": Issue.objects.get(title="Next week (draft)"),
        "dispatched": dispatched,
        "newsletter": newsletter,
        "sequence": sequence,
    }


def make_editor_once():
    from django.contrib.auth.models import User

    return User.objects.filter(username="editor").first() or make_editor(User)


def test_the_admin_pages_superfast_adds_run_without_a_single_violation(
    live_server, page, house, artifacts_dir
):
    make_editor_once()
    watched = Watched(page)
    log_into_admin(page, live_server.url)
    base = live_server.url + "/admin/"
    draft, sent = house["draft"], house["sent"]

    # The block editor: add a block, and the live preview (a srcdoc frame) shows it.
    watched.visit(f"{base}issues/issue/{draft.pk}/change/")
    page.locator(".sf-live-status", has_text="Up to date.").wait_for()
    page.click("button.sf-add-markdown")
    page.locator('textarea[name$="-markdown__body"]').last.fill("Typed under the policy.")
    frame = page.frame_locator(".sf-live-frame")
    frame.locator("text=Typed under the policy.").wait_for()
    assert watched.violations() == []
    page.screenshot(path=artifacts_dir / "admin-csp-editor.png")

    # Previews: every frame draws, sandboxed.
    watched.visit(f"{base}issues/issue/{sent.pk}/preview/")
    for frame_id in ("preview-email-desktop", "preview-web"):
        page.frame_locator(f"#{frame_id}").locator("text=Small models, big week").first.wait_for()
    assert watched.violations() == []

    # Sending: the confirmation counts the audience as it changes (a script file now).
    watched.visit(f"{base}issues/issue/{draft.pk}/send/")
    assert page.locator("#id_audience option").count() > 1
    with page.expect_navigation():
        page.select_option("#id_audience", index=1)
    watched.visit(f"{base}issues/issue/{house['dispatched'].pk}/delivery/")
    expect(page.locator("#progress-status")).not_to_be_empty()

    # Moving in: the import's page follows the worker's counts as they move.
    job = PlatformImport.objects.create(
        platform="substack",
        newsletter=house["newsletter"],
        stored="imports/none.zip",
        status=PlatformImport.Status.RUNNING,
        posts_total=500,
        readers_total=100_000,
    )
    watched.visit(f"{base}issues/importedpost/import/{job.pk}/")
    PlatformImport.objects.filter(pk=job.pk).update(posts_done=120, readers_done=20_000)
    expect(page.locator("#import-posts-done")).to_have_text("120")
    expect(page.locator("#import-readers-done")).to_have_text("20,000")  # as readers read it
    expect(page.locator("#import-readers-total")).to_have_text("100,000")
    assert page.eval_on_selector("#import-posts-bar", "bar => [bar.value, bar.max]") == [120, 500]
    page.screenshot(path=artifacts_dir / "moving-in-progress.png")

    for path in (
        "issues/importedpost/import/",
        f"issues/issue/{sent.pk}/engagement/",
        f"issues/newsletter/{house['newsletter'].pk}/dashboard/",
        f"issues/issue/{sent.pk}/report/",
        f"issues/issue/{draft.pk}/history/",
        "issues/issue/",
        f"issues/welcomesequence/{house['sequence'].pk}/change/",
        "subscribers/subscriber/",
        "subscribers/subscriber/import/",
    ):
        watched.visit(base + path)
    page.set_input_files("#id_file", files=[csv_file()])
    page.select_option("#id_newsletter", index=1)
    with page.expect_navigation():
        page.click("input[type=submit]")
    page.wait_for_load_state("networkidle")
    assert ImportJob.objects.exists()
    assert watched.violations() == []


def csv_file():
    return {"name": "readers.csv", "mimeType": "text/csv", "buffer": b"email\nann@example.org\n"}


def test_scripts_in_an_issue_run_nowhere_on_the_admins_origin(live_server, page, house):
    """A snapshot imported from another platform holds what the sanitizer never saw."""
    sent = house["sent"]
    Snapshot.objects.filter(issue=sent).update(web_html=HOSTILE_WEB_HTML)
    make_editor_once()
    watched = Watched(page)
    log_into_admin(page, live_server.url)
    base = f"{live_server.url}/admin/issues/issue/{sent.pk}/"
    page.goto(base + "preview/")
    page.frame_locator("#preview-web").locator("text=An imported post.").wait_for()
    page.goto(base + "engagement/")
    page.frame_locator("#click-map").locator("text=An imported post.").wait_for()
    for alone in ("preview/web/", "engagement/click-map/"):  # opened alone, not framed
        page.goto(base + alone)
        page.locator("text=An imported post.").wait_for()
        page.click("#hostile-link", timeout=2000)
        page.click("#hostile-submit", timeout=2000)
    page.wait_for_load_state("networkidle")
    assert [url for url in watched.requests if "/pwned/" in url] == []
