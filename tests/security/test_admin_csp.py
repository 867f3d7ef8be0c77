"""Every admin page has a Content-Security-Policy, and every page of issue content a sandbox.

The admin had no policy at all (the middleware skipped it on purpose), and the web preview
served issue HTML on the admin's origin unsandboxed (issue 18). The test is generated from
the URLconf: every admin URL is requested as a superuser over a realistic house (the demo
newsletter, a dispatch, a welcome sequence, an import, revisions), so a URL added later is
checked without anyone remembering to; a URL whose arguments the test cannot fill fails.
"""

import io
import re
from datetime import timedelta

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, reverse

from issues.archive.redirects import add_redirect
from issues.delivery.snapshot import freeze_snapshot
from issues.models import (
    Dispatch,
    ImportedPost,
    Issue,
    LibraryBlock,
    Newsletter,
    PlatformImport,
    SequenceStep,
    WelcomeSequence,
)
from subscribers.models import ErasedAddress, ImportJob, Segment, Subscriber, Tag
from tests.support.composing import add_block, change_form_data
from tests.support.factories import make_issue

pytestmark = pytest.mark.django_db

# Rendered only where issue HTML is: the editor's form shows the Markdown, escaped.
MARKER_SOURCE = "**Sandboxed marker**"
MARKER_RENDERED = "<strong>Sandboxed marker</strong>"
# The admin URLs whose pages are issue content (the rest may only link or frame them).
ISSUE_CONTENT = {
    "issues_issue_preview_channel",
    "issues_issue_live_preview",
    "issues_issue_click_map",
}


def admin_routes(patterns=None, prefix=""):
    """(route, name) of every admin URL pattern, from the URLconf itself."""
    for pattern in admin.site.get_urls() if patterns is None else patterns:
        if isinstance(pattern, URLResolver):
            yield from admin_routes(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern.name


@pytest.fixture
def superuser_client(client):
    user = User.objects.create_superuser("boss", "boss@example.org", "pw-for-tests")
    client.force_login(user)
    client.user = user
    return client


@pytest.fixture
def house(superuser_client, tmp_path, settings):
    """The demo newsletter and its issues, each with the marker, sent, drafted, dispatched;
    a welcome sequence, an import, a segment, a tag, an erased address, two revisions."""
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo", stdout=io.StringIO())
    newsletter = Newsletter.objects.get()
    sent = Issue.objects.get(status=Issue.Status.SENT)
    draft = Issue.objects.exclude(status=Issue.Status.SENT).get()
    for issue in (sent, draft):
        add_block(issue, "markdown", {"body": MARKER_SOURCE})
    freeze_snapshot(sent)
    revised = make_issue(newsletter, title="Revised")
    add_block(revised, "markdown", {"body": MARKER_SOURCE})
    change = reverse("admin:issues_issue_change", args=[revised.pk])
    for title in ("Revised, first take", "Revised, second take"):
        revised.title = title
        blocks = list(revised.blocks.order_by("position"))
        assert superuser_client.post(change, change_form_data(revised, blocks)).status_code == 302
    dispatched = Issue.objects.create(newsletter=newsletter, title="Dispatched")
    add_block(dispatched, "markdown", {"body": MARKER_SOURCE})
    superuser_client.post(reverse("admin:issues_issue_send", args=[dispatched.pk]))
    sequence = WelcomeSequence.objects.create(newsletter=newsletter)
    welcome = Issue.objects.create(newsletter=newsletter, title="Welcome", kind=Issue.Kind.WELCOME)
    add_block(welcome, "markdown", {"body": MARKER_SOURCE})
    SequenceStep.objects.create(sequence=sequence, issue=welcome, delay=timedelta(days=1))
    csv = SimpleUploadedFile("readers.csv", b"email,name\nann@example.org,Ann\n")
    superuser_client.post(
        reverse("admin:subscribers_subscriber_import"), {"file": csv, "newsletter": newsletter.pk}
    )
    Segment.objects.create(name="Regulars", newsletter=newsletter)
    Tag.objects.create(name="vip")
    ErasedAddress.objects.create(email_hash="0" * 64)
    return {
        "issue": sent,
        "newsletter": newsletter,
        "libraryblock": LibraryBlock.objects.first(),
        "redirect": add_redirect("/p/old-post", "/archive/"),
        "importedpost": ImportedPost.objects.create(
            platform="substack", external_id="1.old-post", issue=sent, old_path="/p/old-post"
        ),
        "dispatch": Dispatch.objects.get(),
        "welcomesequence": sequence,
        "subscriber": Subscriber.objects.first(),
        "segment": Segment.objects.get(),
        "tag": Tag.objects.get(),
        "erasedaddress": ErasedAddress.objects.get(),
        "user": superuser_client.user,
        "group": Group.objects.create(name="Editors"),
        "job": ImportJob.objects.latest("pk"),
        "platform_import": PlatformImport.objects.create(
            platform="substack", newsletter=newsletter, stored="imports/gone.zip"
        ),
        "revision": revised.revisions.order_by("number").first(),
        "draft": revised,
    }


def urls_for(route, name, house):
    """Every URL a route stands for in the house, or a failure naming what is missing."""
    model = route.split("/")[1] if route.count("/") > 1 else ""
    found = house.get(model)
    pk = found.pk if found is not None else None
    arguments = set(re.findall(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>", route))
    names = {group for pair in arguments for group in pair if group}
    if name in (None, "view_on_site"):  # Django's redirects to the change page and sites
        return []
    if name == "app_list":
        return [
            reverse("admin:app_list", args=[label]) for label in ("auth", "subscribers", "issues")
        ]
    kwargs = {}
    for argument in names:
        if argument in ("object_id", "pk", "id"):
            if pk is None:
                pytest.fail(f"The house has no {model} for {route}: add one to the fixture.")
            kwargs[argument] = pk
        elif argument == "job_id":
            kwargs[argument] = house["job"].pk
        elif argument == "import_id":
            kwargs[argument] = house["platform_import"].pk
        elif argument == "number":
            kwargs[argument] = house["revision"].number
        elif argument != "channel":
            pytest.fail(f"{route} takes {argument}: teach urls_for() a realistic value.")
    if name == "issues_issue_compare":
        kwargs["pk"] = house["draft"].pk
    if "channel" in names:
        return [
            reverse(f"admin:{name}", kwargs={**kwargs, "channel": c})
            for c in ("web", "email", "text")
        ]
    return [reverse(f"admin:{name}", kwargs=kwargs)]


def sandbox_tokens(policy):
    first = policy.split(";")[0].split()
    return first[0], set(first[1:])


def test_every_admin_page_has_a_policy_and_every_page_of_issue_content_a_sandbox(
    superuser_client, house
):
    checked = []
    for route, name in admin_routes():
        for url in urls_for(route, name, house):
            response = superuser_client.get(url)
            policy = response.headers.get("Content-Security-Policy", "")
            body = response.content.decode(errors="replace") if not response.streaming else ""
            checked.append((url, response.status_code))
            assert policy, f"{url} ({response.status_code}) has no Content-Security-Policy"
            if name in ISSUE_CONTENT or MARKER_RENDERED in body:
                directive, allowed = sandbox_tokens(policy)
                assert directive == "sandbox", f"{url} shows issue content unsandboxed: {policy}"
                assert not allowed & {"allow-scripts", "allow-same-origin"}, url
                assert "script-src 'none'" in policy
            else:
                assert (
                    "script-src 'self'" in policy
                    and "'unsafe-inline'" not in policy.split("script-src")[1].split(";")[0]
                ), url
    pages = [url for url, status in checked if status == 200]
    print(f"{len(checked)} admin URLs requested, {len(pages)} answered 200")
    assert len(pages) > 60  # the house is realistic: most pages answer with content
    shown = {url for url, status in checked if status == 200 and "/preview/" in url}
    assert len(shown) == 4  # the preview page and its three channels


def test_the_live_preview_as_the_editor_posts_it_is_sandboxed(superuser_client, house):
    draft = house["draft"]
    data = change_form_data(draft, list(draft.blocks.order_by("position")))
    for view in ("email", "email-dark", "web"):
        url = reverse("admin:issues_issue_live_preview", args=[draft.pk]) + f"?view={view}"
        response = superuser_client.post(url, data)
        assert response.status_code == 200
        assert MARKER_RENDERED in response.content.decode()
        directive, allowed = sandbox_tokens(response["Content-Security-Policy"])
        assert directive == "sandbox" and not allowed


def test_the_admin_policy_runs_only_the_sites_own_script_files(superuser_client, house):
    page = superuser_client.get(reverse("admin:issues_issue_change", args=[house["draft"].pk]))
    policy = page["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["object-src"] == "'none'"
    assert directives["frame-ancestors"] == "'self'"
    assert directives["form-action"] == "'self'"
    assert "<script>" not in page.content.decode()  # no inline script left to block
