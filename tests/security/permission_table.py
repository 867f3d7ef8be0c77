"""Who may do what in the admin: one row per admin URL and per admin action.

This table is the specification the permission matrix test (``test_permission_matrix``)
checks against the running admin, and the source of ``docs/permissions.md``:

    python -m tests.security.permission_table > docs/permissions.md

The test discovers every URL of the admin's URLconf and every action of every registered
ModelAdmin, and fails when one has no row here: a new page or action is not reachable
until someone has written down who may use it.

A row names the roles allowed to GET and to POST. A POST carries what a browser would
post (``form``: the page's own form as the superuser gets it, with ``edit`` applied; or
``data``) and, where the page changes something, the ``effect`` that must then be true for
the roles allowed and false for everyone else. Roles refused get 403 (a refused action
changes nothing); a visitor who is not logged in is sent to the login page.

Kept free of Django imports so the docs can be generated without a database; the
``target``, ``data`` and ``effect`` callables receive the test's dataset.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib import import_module
from typing import Any

ROLES = ("staff", "viewer", "editor", "publisher", "superuser")
# The groups the data migration creates for the first four; a superuser needs none.
ROLE_GROUPS = {"staff": "Staff", "viewer": "Viewer", "editor": "Editor", "publisher": "Publisher"}

EVERY_STAFF = frozenset(ROLES)
VIEWERS = frozenset({"viewer", "editor", "publisher", "superuser"})
EDITORS = frozenset({"editor", "publisher", "superuser"})
PUBLISHERS = frozenset({"publisher", "superuser"})
SUPERUSER = frozenset({"superuser"})
NOBODY = frozenset()

# A method the page refuses to everyone (405, or 400 from a page that reads JSON).
REFUSED = "refused"


@dataclass(frozen=True)
class Row:
    """Who may GET and POST one admin URL, and what a POST must do."""

    get: frozenset | str
    post: frozenset | str | None = None  # None: the page only reads, POST like GET
    target: str = ""  # the dataset's object whose ids fill the URL (default: by model)
    query: dict = field(default_factory=dict)
    form: str = ""  # id of the page's form to post back (the superuser's copy)
    edit: dict = field(default_factory=dict)
    data: Callable[[Any], dict] | None = None
    json: bool = False
    effect: Callable[[Any], bool] | None = None
    denied_status: int = 403  # what a staff role refused gets (404 where Django hides)
    public: bool = False  # also open to visitors who are not logged in
    note: str = ""

    @property
    def post_roles(self) -> frozenset | str:
        if self.post is not None:
            return self.post
        return NOBODY if self.get == REFUSED else self.get


@dataclass(frozen=True)
class Action:
    """Who may run one admin action; ``data`` adds the action's own fields."""

    roles: frozenset
    effect: Callable[[Any], bool]
    data: dict = field(default_factory=dict)
    note: str = ""


def standard_urls(
    prefix: str,
    *,
    view: frozenset,
    add: frozenset,
    change: frozenset,
    delete: frozenset,
    add_form: dict | None = None,
    change_form: dict | None = None,
    change_note: str = "",
    added: Callable[[Any], bool] | None = None,
    changed: Callable[[Any], bool] | None = None,
    target: str = "",
    form: str = "",
    gone: Callable[[Any], bool],
) -> dict[str, Row]:
    """The six URLs every ModelAdmin has: list, add, history, delete, change, and the
    bare object URL (which redirects to its change page for any staff login)."""
    model = prefix.rstrip("/").rsplit("/", 1)[1]
    form = form or f"{model}_form"
    add_get = add if add else NOBODY
    return {
        prefix: Row(view, note="list (a POST without an action only shows it)"),
        f"{prefix}add/": Row(add_get, add, form=form, edit=add_form or {}, effect=added),
        f"{prefix}<path:object_id>/history/": Row(view, target=target),
        f"{prefix}<path:object_id>/delete/": Row(
            delete, delete, target=target, data=lambda d: {"post": "yes"}, effect=gone
        ),
        f"{prefix}<path:object_id>/change/": Row(
            view | change,
            change,
            target=target,
            form=form,
            edit=change_form or {},
            effect=changed,
            note=change_note,
        ),
        f"{prefix}<path:object_id>/": Row(
            EVERY_STAFF, target=target, note="redirects to the change page (which checks)"
        ),
    }


SITE = {
    "": Row(EVERY_STAFF, note="the admin's index, listing what the user may see"),
    "login/": Row(EVERY_STAFF, public=True, note="a logged-in user is sent on"),
    "logout/": Row(REFUSED, EVERY_STAFF, public=True, note="POST logs out"),
    "password_change/": Row(
        EVERY_STAFF,
        data=lambda d: {
            "old_password": d.password,
            "new_password1": "a-new-long-password-42",
            "new_password2": "a-new-long-password-42",
        },
        effect=lambda d: d.own_password_is("a-new-long-password-42"),
        note="one's own password",
    ),
    "password_change/done/": Row(EVERY_STAFF, REFUSED),
    "autocomplete/": Row(
        VIEWERS,
        REFUSED,
        query={"app_label": "subscribers", "model_name": "segment", "field_name": "tags_any"},
        note="tags, for the segment form",
    ),
    "jsi18n/": Row(EVERY_STAFF, REFUSED),
    "r/<path:content_type_id>/<path:object_id>/": Row(
        EVERY_STAFF, target="sent", note="“view on site”: redirects to the public page"
    ),
    "^(?P<app_label>auth|subscribers|issues)/$": Row(
        VIEWERS, denied_status=404, note="an app's index (404 when nothing in it is visible)"
    ),
    "(?P<url>.*)$": Row(NOBODY, denied_status=404, note="any other address: 404"),
}

AUTH = {
    **standard_urls(
        "auth/group/",
        view=SUPERUSER,
        add=SUPERUSER,
        change=SUPERUSER,
        delete=SUPERUSER,
        add_form={"name": "Proofreaders"},
        added=lambda d: d.exists("auth.Group", name="Proofreaders"),
        change_form={"name": "Renamed group"},
        changed=lambda d: d.exists("auth.Group", name="Renamed group"),
        gone=lambda d: d.gone("group"),
    ),
    **standard_urls(
        "auth/user/",
        view=SUPERUSER,
        add=SUPERUSER,
        change=SUPERUSER,
        delete=SUPERUSER,
        target="member",
        add_form={
            "username": "newcomer",
            "password1": "a-long-test-password-9",
            "password2": "a-long-test-password-9",
            "usable_password": "true",
        },
        added=lambda d: d.exists("auth.User", username="newcomer"),
        change_form={"is_superuser": "on"},
        changed=lambda d: d.exists("auth.User", username="member", is_superuser=True),
        gone=lambda d: d.gone("member"),
    ),
    "auth/user/<id>/password/": Row(
        SUPERUSER,
        SUPERUSER,
        target="member",
        data=lambda d: {
            "password1": "a-new-long-password-42",
            "password2": "a-new-long-password-42",
            "usable_password": "true",
        },
        effect=lambda d: d.password_of("member", "a-new-long-password-42"),
    ),
}

SUBSCRIBERS = {
    "subscribers/subscriber/import/": Row(
        PUBLISHERS,
        PUBLISHERS,
        data=lambda d: d.import_upload(),
        effect=lambda d: d.exists("subscribers.ImportJob", file_name="readers.csv"),
        note="add and change subscribers",
    ),
    "subscribers/subscriber/import/<int:job_id>/": Row(PUBLISHERS),
    "subscribers/subscriber/import/<int:job_id>/progress/": Row(PUBLISHERS),
    "subscribers/subscriber/import/<int:job_id>/rejections.csv": Row(PUBLISHERS),
    "subscribers/subscriber/export/": Row(PUBLISHERS, note="export_subscribers"),
    **standard_urls(
        "subscribers/subscriber/",
        view=VIEWERS,
        add=PUBLISHERS,
        change=PUBLISHERS,
        delete=SUPERUSER,
        target="reader",
        add_form={"email": "newcomer@example.net"},
        added=lambda d: d.exists("subscribers.Subscriber", email="newcomer@example.net"),
        change_form={"name": "Renamed Reader"},
        changed=lambda d: d.exists("subscribers.Subscriber", name="Renamed Reader"),
        gone=lambda d: d.gone("reader"),
    ),
    **standard_urls(
        "subscribers/tag/",
        view=VIEWERS,
        add=PUBLISHERS,
        change=PUBLISHERS,
        delete=SUPERUSER,
        add_form={"name": "new-tag"},
        added=lambda d: d.exists("subscribers.Tag", name="new-tag"),
        change_form={"name": "renamed-tag"},
        changed=lambda d: d.exists("subscribers.Tag", name="renamed-tag"),
        gone=lambda d: d.gone("tag"),
    ),
    "subscribers/segment/count/": Row(
        REFUSED, PUBLISHERS, data=lambda d: {"name": "Count me"}, note="live count of a form"
    ),
    **standard_urls(
        "subscribers/segment/",
        view=VIEWERS,
        add=PUBLISHERS,
        change=PUBLISHERS,
        delete=SUPERUSER,
        add_form={"name": "New segment"},
        added=lambda d: d.exists("subscribers.Segment", name="New segment"),
        change_form={"name": "Renamed segment"},
        changed=lambda d: d.exists("subscribers.Segment", name="Renamed segment"),
        gone=lambda d: d.gone("segment"),
    ),
    **standard_urls(
        "subscribers/erasedaddress/",
        view=VIEWERS,
        add=NOBODY,
        change=NOBODY,
        delete=SUPERUSER,
        target="erased",
        gone=lambda d: d.gone("erased"),
    ),
}

ISSUE = "issues/issue/"
SENDING_NOTE = "send_issue"

# What the paste endpoint is posted, whether it pastes onto a new issue or an existing one.
A_PASTED_DRAFT = {
    "json": True,
    "data": lambda d: {"html": "<h2>News</h2><p>Pasted.</p>", "text": ""},
}


ISSUES = {
    **standard_urls(
        "issues/dispatch/",
        view=VIEWERS,
        add=NOBODY,
        change=NOBODY,
        delete=SUPERUSER,
        target="dispatch",
        gone=lambda d: d.gone("dispatch"),
    ),
    "issues/welcomesequence/<int:pk>/control/": Row(
        REFUSED,
        PUBLISHERS,
        data=lambda d: {"action": "pause"},
        effect=lambda d: d.exists("issues.WelcomeSequence", pk=d.sequence.pk, is_paused=True),
        note="pause and resume: change the sequence and send_issue",
    ),
    **standard_urls(
        "issues/welcomesequence/",
        view=VIEWERS,
        add=PUBLISHERS,
        change=EDITORS,
        delete=SUPERUSER,
        add_form={"newsletter": "@second_newsletter", "steps-0-title": "Hi", "steps-0-delay": "0"},
        added=lambda d: d.exists("issues.WelcomeSequence", newsletter=d.second_newsletter),
        change_form={"steps-1-title": "A new step", "steps-1-delay": "2 days"},
        change_note="steps; the start (who gets the sequence) only with send_issue",
        changed=lambda d: d.exists("issues.SequenceStep", issue__title="A new step"),
        gone=lambda d: d.gone("sequence"),
    ),
    "issues/newsletter/<int:pk>/dashboard/": Row(VIEWERS),
    **standard_urls(
        "issues/newsletter/",
        target="second_newsletter",
        view=VIEWERS,
        add=SUPERUSER,
        change=SUPERUSER,
        delete=SUPERUSER,
        add_form={
            "name": "Second Thoughts",
            "slug": "second-thoughts",
            "from_name": "Second Thoughts",
            "from_email": "hello@second-thoughts.example",
        },
        added=lambda d: d.exists("issues.Newsletter", slug="second-thoughts"),
        change_form={"name": "Renamed Weekly"},
        changed=lambda d: d.exists("issues.Newsletter", name="Renamed Weekly"),
        gone=lambda d: d.gone("second_newsletter"),
    ),
    f"{ISSUE}<int:pk>/preview/": Row(VIEWERS),
    f"{ISSUE}<int:pk>/preview/<str:channel>/": Row(VIEWERS, note="web, email and text"),
    f"{ISSUE}<int:pk>/send-test/": Row(
        PUBLISHERS,
        PUBLISHERS,
        data=lambda d: {"addresses": "publisher@newsroom.example"},
        effect=lambda d: bool(d.queued),
        note="change and send_issue",
    ),
    f"{ISSUE}live-preview/": Row(
        REFUSED, EDITORS, data=lambda d: d.posted_form("issue_add"), note="add"
    ),
    f"{ISSUE}<int:pk>/live-preview/": Row(
        REFUSED, EDITORS, data=lambda d: d.posted_form("issue_change"), note="change"
    ),
    f"{ISSUE}link-preview/": Row(
        EDITORS,
        REFUSED,
        query={"url": "https://news.example.org/a-story"},
        note="JSON; asks the worker to fetch the page, so editors only",
    ),
    f"{ISSUE}paste/": Row(
        REFUSED,
        EDITORS,
        **A_PASTED_DRAFT,
        note="add; a pasted draft as the stream's rows (JSON); stores only its pictures",
    ),
    f"{ISSUE}<int:pk>/paste/": Row(
        REFUSED,
        EDITORS,
        **A_PASTED_DRAFT,
        note="change; a pasted draft as the stream's rows (JSON); stores only its pictures",
    ),
    f"{ISSUE}<int:pk>/duplicate/": Row(
        EDITORS,
        EDITORS,
        effect=lambda d: d.count("issues.Issue", title=d.draft.title) > 1,
        note="add; GET only redirects",
    ),
    f"{ISSUE}<int:pk>/correct-web/": Row(
        PUBLISHERS,
        PUBLISHERS,
        target="sent",
        effect=lambda d: d.exists("issues.Snapshot", issue=d.sent, web_updated_at__isnull=False),
        note="change and send_issue; GET only redirects",
    ),
    f"{ISSUE}<int:pk>/engagement/": Row(VIEWERS, target="sent"),
    f"{ISSUE}<int:pk>/engagement/links.csv": Row(VIEWERS, target="sent"),
    f"{ISSUE}<int:pk>/engagement/click-map/": Row(VIEWERS, target="sent"),
    f"{ISSUE}<int:pk>/quiz-result/": Row(
        EDITORS, note="change; JSON: a “Last week's quiz” block filled from the last quiz"
    ),
    f"{ISSUE}<int:pk>/autosave/": Row(
        REFUSED,
        EDITORS,
        json=True,
        data=lambda d: {"fields": [["title", "Unsaved title"]]},
        effect=lambda d: d.exists("issues.Autosave", user=d.user),
    ),
    f"{ISSUE}<int:pk>/autosave/discard/": Row(EDITORS, EDITORS, note="GET only redirects"),
    f"{ISSUE}<int:pk>/autosave/image/": Row(
        REFUSED, EDITORS, data=lambda d: d.image_upload(), note="change; stores a chosen image"
    ),
    f"{ISSUE}autosave/": Row(
        REFUSED,
        EDITORS,
        json=True,
        data=lambda d: {"fields": [["title", "Unsaved new issue"]]},
        effect=lambda d: d.exists("issues.Autosave", user=d.user, issue=None),
        note="add; the editor's unsaved new issue",
    ),
    f"{ISSUE}autosave/image/": Row(
        REFUSED, EDITORS, data=lambda d: d.image_upload(), note="add; stores a chosen image"
    ),
    f"{ISSUE}autosave/<int:pk>/discard/": Row(
        EDITORS, EDITORS, note="add; only one's own unsaved new issue; GET only redirects"
    ),
    f"{ISSUE}<int:pk>/presence/": Row(REFUSED, VIEWERS, note="who else has the issue open"),
    f"{ISSUE}<int:pk>/history/compare/": Row(VIEWERS, note="the last two revisions"),
    f"{ISSUE}<int:pk>/history/<int:number>/restore/": Row(
        EDITORS,
        EDITORS,
        effect=lambda d: d.count("issues.Revision", issue=d.draft) > d.draft_revisions,
        note="GET only redirects",
    ),
    f"{ISSUE}<path:object_id>/send/": Row(
        PUBLISHERS,
        PUBLISHERS,
        effect=lambda d: d.exists("issues.Dispatch", issue=d.draft),
        note=SENDING_NOTE,
    ),
    f"{ISSUE}<path:object_id>/schedule/": Row(
        PUBLISHERS,
        PUBLISHERS,
        data=lambda d: {"when": d.tomorrow},
        effect=lambda d: d.exists("issues.Dispatch", issue=d.draft, status="scheduled"),
        note=SENDING_NOTE,
    ),
    f"{ISSUE}<path:object_id>/delivery/": Row(PUBLISHERS, target="sending", note=SENDING_NOTE),
    f"{ISSUE}<path:object_id>/progress/": Row(PUBLISHERS, target="sending", note=SENDING_NOTE),
    f"{ISSUE}<path:object_id>/control/": Row(
        REFUSED,
        PUBLISHERS,
        target="sending",
        data=lambda d: {"action": "pause"},
        effect=lambda d: d.exists("issues.Dispatch", issue=d.sending, status="paused"),
        note=SENDING_NOTE,
    ),
    f"{ISSUE}<path:object_id>/report/": Row(PUBLISHERS, target="sent", note=SENDING_NOTE),
    **standard_urls(
        ISSUE,
        view=VIEWERS,
        add=EDITORS,
        change=EDITORS,
        delete=SUPERUSER,
        add_form={"newsletter": "@newsletter", "title": "A brand new issue"},
        added=lambda d: d.exists("issues.Issue", title="A brand new issue"),
        change_form={"title": "Plans, revised"},
        change_note="a live welcome email (its sequence running, or already sent): also send_issue",
        changed=lambda d: d.exists("issues.Issue", title="Plans, revised"),
        gone=lambda d: d.gone("draft"),
    ),
    **standard_urls(
        "issues/libraryblock/",
        view=VIEWERS,
        add=EDITORS,
        change=EDITORS,
        delete=SUPERUSER,
        target="library_block",
        add_form={"name": "Another sign-off", "kind": "markdown", "markdown__body": "Bye."},
        added=lambda d: d.exists("issues.LibraryBlock", name="Another sign-off"),
        change_form={"name": "Renamed sign-off"},
        change_note="one a live welcome email places: also send_issue",
        changed=lambda d: d.exists("issues.LibraryBlock", name="Renamed sign-off"),
        gone=lambda d: d.gone("library_block"),
    ),
    **standard_urls(
        "issues/redirect/",
        view=VIEWERS,
        add=PUBLISHERS,
        change=PUBLISHERS,
        delete=PUBLISHERS,
        target="redirect",
        add_form={"old_path": "/p/another-post", "new_path": "/archive/"},
        added=lambda d: d.exists("issues.Redirect", old_path="/p/another-post"),
        change_form={"new_path": "/search/"},
        change_note="what a visitor gets at an old address: view_issue to read, send_issue to edit",
        changed=lambda d: d.exists("issues.Redirect", new_path="/search/"),
        gone=lambda d: d.gone("redirect"),
    ),
    **standard_urls(
        "issues/importedpost/",
        view=VIEWERS,
        add=NOBODY,
        change=NOBODY,
        delete=SUPERUSER,
        target="imported_post",
        change_note="what came from another platform: read-only, written by the import",
        gone=lambda d: d.gone("imported_post"),
    ),
    "issues/importedpost/import/": Row(
        PUBLISHERS,
        PUBLISHERS,
        data=lambda d: d.moving_in_upload(),
        note="send_issue: an import publishes issues; the POST shown here is the dry run",
    ),
    "issues/importedpost/import/<int:import_id>/": Row(PUBLISHERS, note="the import's progress"),
    "issues/importedpost/import/<int:import_id>/progress/": Row(PUBLISHERS),
}

URLS: dict[str, Row] = {**SITE, **AUTH, **SUBSCRIBERS, **ISSUES}


def deleted_by_action(name):
    return Action(SUPERUSER, effect=lambda d: d.gone(name), data={"post": "yes"})


ACTIONS: dict[str, Action] = {
    "auth.group:delete_selected": deleted_by_action("group"),
    "auth.user:delete_selected": deleted_by_action("member"),
    "subscribers.subscriber:delete_selected": deleted_by_action("reader"),
    "subscribers.subscriber:add_tag_to_selected": Action(
        PUBLISHERS,
        effect=lambda d: d.exists("subscribers.Tag", name="vip", subscribers=d.reader),
        data={"apply": "1", "new_tag": "vip"},
    ),
    "subscribers.subscriber:remove_tag_from_selected": Action(
        PUBLISHERS,
        effect=lambda d: not d.exists("subscribers.Subscriber", pk=d.reader.pk, tags=d.tag),
        data={"apply": "1", "tag": "@tag"},
    ),
    "subscribers.subscriber:suppress_selected": Action(
        PUBLISHERS, effect=lambda d: d.exists("subscribers.SuppressionEvent", kind="manual")
    ),
    "subscribers.subscriber:unsuppress_selected": Action(
        PUBLISHERS,
        effect=lambda d: d.exists("subscribers.Subscriber", pk=d.complained.pk, status="active"),
        data={"reason": "asked us on the phone"},
    ),
    "subscribers.subscriber:resend_confirmation": Action(
        PUBLISHERS, effect=lambda d: bool(d.queued), note="mails pending readers"
    ),
    "subscribers.tag:delete_selected": deleted_by_action("tag"),
    "subscribers.segment:delete_selected": deleted_by_action("segment"),
    "subscribers.erasedaddress:delete_selected": deleted_by_action("erased"),
    "issues.dispatch:delete_selected": deleted_by_action("dispatch"),
    "issues.welcomesequence:delete_selected": deleted_by_action("sequence"),
    "issues.welcomesequence:pause_selected": Action(
        PUBLISHERS,
        effect=lambda d: d.exists("issues.WelcomeSequence", pk=d.sequence.pk, is_paused=True),
    ),
    "issues.welcomesequence:resume_selected": Action(
        PUBLISHERS,
        effect=lambda d: d.exists(
            "issues.WelcomeSequence", pk=d.paused_sequence.pk, is_paused=False
        ),
        note="run on a paused sequence",
    ),
    "issues.newsletter:delete_selected": deleted_by_action("second_newsletter"),
    "issues.issue:delete_selected": deleted_by_action("draft"),
    "issues.libraryblock:delete_selected": deleted_by_action("library_block"),
    "issues.importedpost:delete_selected": deleted_by_action("imported_post"),
    "issues.redirect:delete_selected": Action(
        PUBLISHERS, effect=lambda d: d.gone("redirect"), data={"post": "yes"}
    ),
}


def role_marks(roles) -> str:
    if roles == REFUSED:
        return "refused (405)"
    return " ".join(role for role in ROLES if role in roles) or "nobody"


def role_groups() -> dict[str, dict]:
    """The groups' permissions as the data migration grants them."""
    migration = import_module("superfast.migrations.0002_role_groups")
    return migration.ROLES


def markdown() -> str:
    """docs/permissions.md, generated from this table (and the migration's groups)."""
    lines = [
        "# Permissions: who may do what in the admin",
        "",
        "<!-- Generated by `python -m tests.security.permission_table > docs/permissions.md`;",
        "     tests/security/test_permission_matrix.py fails when this file is out of date. -->",
        "",
        "Give each staff login one of these groups (created by a migration); a superuser needs",
        "none. The permission matrix test logs in as a member of each group and tries every",
        "admin page (GET and POST) and every list action against the table below; a page or",
        "action added without a row here fails the test.",
        "",
        "## Roles",
        "",
        "| Role | Group | Permissions |",
        "| --- | --- | --- |",
    ]
    groups = role_groups()
    previous, granted = "", set()
    for role in ROLES:
        group = ROLE_GROUPS.get(role)
        if group is None:
            lines.append(f"| {role} | (none: `is_superuser`) | everything |")
            continue
        codenames = {
            f"{app}.{codename}" for (app, _), names in groups[group].items() for codename in names
        }
        added = ", ".join(f"`{c}`" for c in sorted(codenames - granted)) or "none"
        if granted:
            added = f"all of {previous}'s, and {added}"
        lines.append(f"| {role} | {group} | {added} |")
        previous, granted = role, codenames
    lines += [
        "",
        "Drafts and welcome emails on the public site (`/<newsletter>/<slug>/`) are shown only",
        "to staff with `issues.view_issue` (viewer and up); anyone else gets 404. They are never",
        "cached.",
        "",
        "## Admin pages",
        "",
        "Under `/admin/`. Allowed: 200 or a redirect, and the POST does what it says. Refused:",
        "403 (404 where noted), and nothing changes. Not logged in: the login page.",
        "",
        "| URL | GET | POST | Note |",
        "| --- | --- | --- | --- |",
    ]
    for route, row in URLS.items():
        shown = route if route.startswith(("^", "(")) else f"/admin/{route}"
        shown = shown.replace("|", "\\|")  # a bar would end the Markdown cell
        get = role_marks(row.get) + (", visitors" if row.public and row.get != REFUSED else "")
        post = (
            role_marks(row.post_roles) if row.post is not None or row.get == REFUSED else "as GET"
        )
        lines.append(f"| `{shown}` | {get} | {post} | {row.note} |")
    lines += [
        "",
        "## List actions",
        "",
        "Each action declares the permissions it needs (`@admin.action(permissions=...)`): it",
        "is not offered to others, and a POST of it (with “select all” too) changes nothing.",
        "",
        "| Model: action | Who | Note |",
        "| --- | --- | --- |",
    ]
    for key, action in ACTIONS.items():
        lines.append(f"| `{key}` | {role_marks(action.roles)} | {action.note} |")
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    # The migration's package loads the settings (for Celery): the development ones do.
    os.environ.setdefault("DEBUG", "1")
    print(markdown(), end="")
