"""The never-lose-work editor attacked over HTTP: autosave, presence, history, restore, kept
uploads, live preview, web corrections, and the Markdown import.

Each test logs in as a real staff user (exactly the permissions named) and posts what a
hostile colleague or a forged page would post.
"""

import json

import pytest
from django.core import signing
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from issues.compose import uploads
from issues.compose.rendering import render_issue
from issues.models import Autosave, Issue, Revision
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.composing import add_block, change_form_data, image_bytes
from tests.support.factories import make_issue

# Uploads and renditions of each test in its own folder.
pytestmark = pytest.mark.usefixtures("media_root")

EDITOR_CODENAMES = ("view_issue", "change_issue", "add_issue", "view_block", "change_block")


def url(name, *args):
    return reverse(f"admin:issues_issue_{name}", args=args)


def logged_in(user, **client_options) -> Client:
    client = Client(**client_options)
    assert client.login(username=user.username, password=STAFF_PASSWORD)
    return client


@pytest.fixture
def issue(db):
    issue = make_issue(title="Issue one")
    add_block(issue, "markdown", {"body": "Hello readers"})
    return issue


@pytest.fixture
def editor(db):
    return staff("ed", *EDITOR_CODENAMES)


@pytest.fixture
def viewer(db):
    return staff("vic", "view_issue", "view_block")


def saved(client, issue, **changes):
    """Save the change form as the browser posts it, at the version it shows."""
    client.get(url("change", issue.pk))
    issue.refresh_from_db()
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    return client.post(
        url("change", issue.pk), data | {"based_on_version": issue.version} | changes
    )


def autosave(client, issue, fields):
    return client.post(
        url("autosave", issue.pk), json.dumps({"fields": fields}), content_type="application/json"
    )


# --- Permissions ----------------------------------------------------------------------------


def test_view_only_staff_can_neither_autosave_restore_preview_nor_correct(issue, editor, viewer):
    assert saved(logged_in(editor), issue, title="Second title").status_code == 302
    autosave(logged_in(editor), issue, [["title", "The editor's secret draft"]])
    client = logged_in(viewer)

    assert autosave(client, issue, [["title", "Vandalised"]]).status_code == 403
    assert client.post(url("discard_draft", issue.pk)).status_code == 403
    assert client.post(url("restore", issue.pk, 1)).status_code == 403
    assert client.post(url("live_preview", issue.pk), {"title": "x"}).status_code == 403
    assert client.post(url("correct_web", issue.pk)).status_code == 403
    assert not Autosave.objects.filter(user=viewer).exists()
    assert Issue.objects.get(pk=issue.pk).title == "Second title"

    # Looking is theirs: history and comparing saved revisions, never anyone's draft.
    history = client.get(url("history", issue.pk)).content.decode()
    assert "Restore" not in history
    number = Revision.objects.get(issue=issue).number
    assert client.get(url("compare", issue.pk) + f"?from={number}&to={number}").status_code == 200
    assert client.get(url("compare", issue.pk) + f"?from={number}&to=draft").status_code == 404
    page = client.get(url("change", issue.pk)).content.decode()
    assert "secret draft" not in page


def test_an_editor_never_sees_a_colleagues_draft(issue, editor):
    colleague = staff("bea", *EDITOR_CODENAMES)
    autosave(logged_in(colleague), issue, [["title", "Bea's unsaved idea"]])
    client = logged_in(editor)
    assert "unsaved idea" not in client.get(url("change", issue.pk)).content.decode()
    assert client.get(url("compare", issue.pk) + "?from=1&to=draft").status_code == 404


def test_restoring_a_revision_of_another_issue_through_the_url_finds_nothing(issue, editor):
    client = logged_in(editor)
    other = make_issue(issue.newsletter, title="Other issue")
    add_block(other, "markdown", {"body": "Other body"})
    assert saved(client, other, title="Other, edited").status_code == 302
    revision = Revision.objects.get(issue=other)
    assert Revision.objects.filter(issue=issue).count() == 0

    response = client.post(url("restore", issue.pk, revision.number))
    assert response.status_code == 404, response
    assert Issue.objects.get(pk=issue.pk).title == "Issue one"


# --- Corrections to a published page ---------------------------------------------------------


@pytest.fixture
def sent_issue(issue, settings):
    from issues import delivery
    from tests.support.delivery import make_subscribers

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    make_subscribers(issue.newsletter, 3)
    dispatch = delivery.start_dispatch(issue)
    delivery.plan_dispatch(dispatch)
    delivery.run_sender(dispatch.pk)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENT
    return issue


def test_changing_the_published_page_of_a_sent_issue_needs_send_permission(sent_issue, editor):
    """Correcting the web version publishes: it takes what sending takes, not change alone."""
    client = logged_in(editor)
    block = sent_issue.blocks.get()
    block.data = {"body": "Defaced by someone who may not publish"}
    block.save()

    page = client.get(url("change", sent_issue.pk)).content.decode()
    assert ">Correct the web version</button>" not in page
    assert client.post(url("correct_web", sent_issue.pk)).status_code == 403
    assert "Defaced" not in sent_issue.snapshot.__class__.objects.get(issue=sent_issue).web_html

    publisher = staff("pat", *EDITOR_CODENAMES, "send_issue")
    client = logged_in(publisher)
    assert (
        ">Correct the web version</button>"
        in client.get(url("change", sent_issue.pk)).content.decode()
    )
    assert client.post(url("correct_web", sent_issue.pk)).status_code == 302
    assert "Defaced" in sent_issue.snapshot.__class__.objects.get(issue=sent_issue).web_html


def test_a_sent_issue_cannot_be_restored_to_an_older_revision(sent_issue, editor):
    publisher = staff("pat", *EDITOR_CODENAMES, "send_issue")
    client = logged_in(publisher)
    revision = Revision.objects.filter(issue=sent_issue).first()
    assert revision is not None  # the revision marked as sent
    before = list(sent_issue.blocks.values_list("data", flat=True))
    response = client.post(url("restore", sent_issue.pk, revision.number), follow=True)
    assert "has been sent" in response.content.decode()
    assert list(sent_issue.blocks.values_list("data", flat=True)) == before


# --- CSRF and GET ------------------------------------------------------------------------------


def test_every_new_post_endpoint_refuses_a_post_without_the_csrf_token(issue, editor):
    publisher = staff("pat", *EDITOR_CODENAMES, "send_issue")
    assert saved(logged_in(publisher), issue, title="Second title").status_code == 302
    client = logged_in(publisher, enforce_csrf_checks=True)
    posts = [
        (url("autosave", issue.pk), json.dumps({"fields": [["title", "x"]]})),
        (url("discard_draft", issue.pk), ""),
        (url("presence", issue.pk), ""),
        (url("restore", issue.pk, 1), ""),
        (url("live_preview", issue.pk), ""),
        (url("live_preview"), ""),
        (url("correct_web", issue.pk), ""),
    ]
    for target, body in posts:
        response = client.post(target, body, content_type="application/json")
        assert response.status_code == 403, target
    assert not Autosave.objects.exists()
    assert Revision.objects.filter(issue=issue).count() == 1


def test_get_requests_change_nothing(issue, editor):
    client = logged_in(editor)
    assert saved(client, issue, title="Second title").status_code == 302
    autosave(client, issue, [["title", "Kept draft"]])
    for name, args in (
        ("autosave", [issue.pk]),
        ("discard_draft", [issue.pk]),
        ("restore", [issue.pk, 1]),
        ("presence", [issue.pk]),
        ("correct_web", [issue.pk]),
        ("live_preview", [issue.pk]),
    ):
        # 403 where the editor may not use the page at all (correcting needs send_issue).
        assert client.get(url(name, *args)).status_code in (302, 400, 403, 405), name
    assert Autosave.objects.get(user=editor).data["title"] == ["Kept draft"]
    assert Revision.objects.filter(issue=issue).count() == 1
    assert Issue.objects.get(pk=issue.pk).title == "Second title"


# --- Autosave payloads -------------------------------------------------------------------------


def test_an_autosave_with_too_many_fields_is_refused_clearly(issue, editor, settings):
    client = logged_in(editor)
    fields = [[f"junk-{n}", "x"] for n in range(settings.DATA_UPLOAD_MAX_NUMBER_FIELDS + 1)]
    response = autosave(client, issue, fields)
    assert response.status_code == 400
    assert "fields" in response.content.decode()
    assert not Autosave.objects.exists()


def test_an_oversized_autosave_is_refused_without_a_crash(issue, editor, settings):
    client = logged_in(editor)
    huge = "x" * (settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 1)
    response = autosave(client, issue, [["title", huge]])
    assert response.status_code in (400, 413)
    assert not Autosave.objects.exists()


@pytest.mark.parametrize(
    "body",
    ['{"fields": "title"}', '{"fields": [["a", "b", "c"]]}', "[]", "not json", '{"fields": 7}'],
)
def test_a_malformed_autosave_is_a_clear_400(issue, editor, body):
    response = logged_in(editor).post(
        url("autosave", issue.pk), body, content_type="application/json"
    )
    assert response.status_code == 400
    assert not Autosave.objects.exists()


# --- Kept uploads --------------------------------------------------------------------------


def image_block_post(issue, kept_value):
    data = change_form_data(issue, [])
    issue.refresh_from_db()
    return data | {
        "based_on_version": issue.version,
        "blocks-TOTAL_FORMS": 1,
        "blocks-INITIAL_FORMS": 0,
        "blocks-0-kind": "image",
        "blocks-0-position": 1,
        "blocks-0-image__alt": "A picture",
        "blocks-0-image__image-kept": kept_value,
    }


@pytest.mark.parametrize(
    "forged_path", ["../../etc/passwd", "/etc/passwd", "images/../../superfast/settings.py"]
)
def test_a_forged_kept_upload_reference_is_ignored(issue, editor, forged_path):
    client = logged_in(editor)
    client.get(url("change", issue.pk))
    issue.blocks.all().delete()
    forged = signing.Signer(key="not-the-sites-key", salt=uploads.SALT).sign_object(
        {"path": forged_path, "width": 10, "height": 10}, compress=True
    )
    tampered = forged.replace("not", "")
    for value in (forged, tampered, json.dumps({"path": forged_path})):
        client.post(url("change", issue.pk), image_block_post(issue, value))
        stored = json.dumps(list(issue.blocks.values_list("data", flat=True)))
        assert forged_path not in stored and "passwd" not in stored
        assert forged_path not in json.dumps(list(Autosave.objects.values_list("data", flat=True)))


# --- XSS ------------------------------------------------------------------------------------


SCRIPT = "<script>alert(1)</script>"


def test_names_summaries_and_diffs_are_escaped_in_history_compare_and_presence(issue, editor):
    editor.first_name = SCRIPT
    editor.save()
    client = logged_in(editor)
    assert saved(client, issue, title=f"Title {SCRIPT}").status_code == 302
    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    issue.refresh_from_db()
    data |= {"based_on_version": issue.version, "blocks-0-markdown__body": f"Body {SCRIPT}"}
    assert client.post(url("change", issue.pk), data).status_code == 302

    old, new = sorted(Revision.objects.filter(issue=issue).values_list("number", flat=True))
    for page in (
        client.get(url("history", issue.pk)),
        client.get(url("compare", issue.pk) + f"?from={old}&to={new}"),
        client.get(url("change", issue.pk)),
    ):
        assert page.status_code == 200
        assert SCRIPT not in page.content.decode()

    other = logged_in(staff("bea", *EDITOR_CODENAMES))
    heartbeat = other.post(url("presence", issue.pk))
    assert heartbeat["Content-Type"] == "application/json"
    assert heartbeat.json()["others"][0]["name"].startswith(SCRIPT)  # data, shown as text
    assert SCRIPT not in other.get(url("change", issue.pk)).content.decode()


def test_the_live_preview_stays_sandboxed(issue, editor):
    client = logged_in(editor)
    page = client.get(url("change", issue.pk)).content.decode()
    frame = page.split('class="sf-live-frame"')[1].split(">")[0]
    assert 'sandbox="allow-same-origin"' in frame and "allow-scripts" not in frame

    data = change_form_data(issue, list(issue.blocks.order_by("position")))
    data["blocks-0-markdown__body"] = (
        f'{SCRIPT} <img src=x onerror="alert(2)"> [x](javascript:alert(3))'
    )
    for view in ("email", "email-dark", "web"):
        response = client.post(url("live_preview", issue.pk) + f"?view={view}", data)
        assert response.status_code == 200
        policy = response["Content-Security-Policy"]
        assert policy.startswith("sandbox") and "allow-scripts" not in policy
        body = response.content.decode()
        assert SCRIPT not in body and "onerror" not in body and "javascript:" not in body


# --- import_issue / export_issue ---------------------------------------------------------------


def import_file(tmp_path, text, name="issue.md"):
    folder = tmp_path / "import"
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text)
    return path


@pytest.mark.parametrize("where", ["../outside.png", "{absolute}"])
def test_import_reads_no_image_outside_the_markdowns_folder(tmp_path, db, where):
    make_issue()  # the newsletter to import into
    outside = tmp_path / "outside.png"
    outside.write_bytes(image_bytes((40, 30)))
    where = where.format(absolute=outside)
    md = import_file(tmp_path, f"# Title\n\n![Secret]({where})\n\n::: image\nimage: {where}\n:::\n")
    with pytest.raises(CommandError, match="next to the Markdown"):
        call_command("import_issue", str(md))
    assert Issue.objects.count() == 1


def test_import_refuses_a_huge_image_without_reading_it(tmp_path, db, monkeypatch):
    from issues.compose import images

    make_issue()
    monkeypatch.setattr(images, "MAX_UPLOAD_BYTES", 1000)
    md = import_file(tmp_path, "# Title\n\n![Big](big.png)\n")
    (md.parent / "big.png").write_bytes(image_bytes((400, 300), colour="#123456") + b"\0" * 2000)
    with pytest.raises(CommandError, match="MB|too large|bigger"):
        call_command("import_issue", str(md))


def test_hostile_markdown_imports_as_inert_text(tmp_path, db):
    make_issue()
    md = import_file(
        tmp_path,
        "# Title\n\n"
        f"Hello {SCRIPT} <img src=x onerror=alert(2)> [click](javascript:alert(3))\n\n"
        "::: callout\n"
        f"{SCRIPT}\n"
        ":::\n\n"
        "::: button Go\nurl: javascript:alert(4)\n:::\n",
    )
    with pytest.raises(CommandError):
        call_command("import_issue", str(md))  # a button to javascript: is no link
    md.write_text(md.read_text().replace("javascript:alert(4)", "https://ok.example/"))
    call_command("import_issue", str(md))
    issue = Issue.objects.order_by("pk").last()
    rendered = render_issue(issue)
    for html in (rendered.web_html, rendered.email_html):
        assert "<script" not in html and "onerror" not in html and "javascript:" not in html


def test_exported_text_cannot_inject_blocks_on_reimport(tmp_path, editor):
    from tests.support.composing import make_library_block

    make_library_block(name="Sign-off")
    issue = make_issue(title="Injected")
    add_block(issue, "markdown", {"body": "Line\n:::\n\n::: library Sign-off\n:::\n"})
    add_block(issue, "heading", {"title": "::: button", "emoji": ""})
    import io

    out = io.StringIO()
    call_command("export_issue", str(issue.pk), stdout=out)
    path = tmp_path / "out.md"
    path.write_text(out.getvalue())
    call_command("import_issue", str(path))
    copy = Issue.objects.order_by("pk").last()
    assert copy.pk != issue.pk
    assert list(copy.blocks.order_by("position").values_list("kind", "data")) == list(
        issue.blocks.order_by("position").values_list("kind", "data")
    )


def test_autosaving_a_sent_issue_keeps_a_private_draft_and_publishes_nothing(sent_issue, editor):
    """Blocks of a sent issue stay editable (for a correction), so their draft is kept too;
    it reaches neither the sent email nor the public page."""
    snapshot = sent_issue.snapshot.__class__.objects.get(issue=sent_issue)
    client = logged_in(editor)
    data = change_form_data(sent_issue, list(sent_issue.blocks.order_by("position")))
    data["blocks-0-markdown__body"] = "A draft correction"
    response = autosave(client, sent_issue, [[k, str(v)] for k, v in data.items()])
    assert response.status_code == 200
    again = sent_issue.snapshot.__class__.objects.get(issue=sent_issue)
    assert (again.web_html, again.email_html) == (snapshot.web_html, snapshot.email_html)
    assert (
        "A draft correction"
        not in logged_in(staff("bea", *EDITOR_CODENAMES))
        .get(url("change", sent_issue.pk))
        .content.decode()
    )


def test_restoring_while_the_issue_is_being_sent_is_refused(issue, editor):
    from issues import delivery

    client = logged_in(editor)
    assert saved(client, issue, title="Second title").status_code == 302
    assert saved(client, issue, title="Third title").status_code == 302
    first = Revision.objects.filter(issue=issue).order_by("number").first()
    delivery.start_dispatch(issue)
    issue.refresh_from_db()
    assert issue.status == Issue.Status.SENDING
    response = client.post(url("restore", issue.pk, first.number), follow=True)
    assert "has been sent" in response.content.decode()
    assert Issue.objects.get(pk=issue.pk).title == "Third title"


def test_view_only_staff_cannot_preview_a_new_issue(viewer, issue):
    response = logged_in(viewer).post(url("live_preview"), {"newsletter": issue.newsletter_id})
    assert response.status_code == 403
