"""The one dataset the permission matrix runs against, and the role logins.

Built once per test module: a newsletter with a draft (with revisions), an issue being
sent, a sent one, a live welcome email, readers in each state, a tag, a segment, an
import, and a member of each role's group. ``Dataset`` also answers the table's
questions (``exists``, ``gone``...) about the state after a request.
"""

import io
import zipfile
from datetime import timedelta

from django.apps import apps
from django.contrib.auth.models import Group, User
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from issues import sequences
from issues.archive.redirects import add_redirect
from issues.delivery import plan_dispatch, start_dispatch
from issues.models import ImportedPost, PlatformImport
from issues.sequences.steps import standing_dispatch
from subscribers import services
from subscribers.models import ErasedAddress, ImportJob, Segment, SuppressionEvent, Tag
from tests.support.admin import STAFF_PASSWORD
from tests.support.composing import add_block, change_form_data, make_library_block
from tests.support.engagement import send_in_process
from tests.support.factories import make_issue, make_newsletter
from tests.support.forms import as_post_data, submitted_fields
from tests.support.subscribers import active_reader

from .permission_table import ROLE_GROUPS, ROLES

# Which object fills the ids of a model's admin URLs unless the row names another.
DEFAULT_TARGETS = {
    "auth/group/": "group",
    "auth/user/": "member",
    "subscribers/subscriber/": "reader",
    "subscribers/tag/": "tag",
    "subscribers/segment/": "segment",
    "subscribers/erasedaddress/": "erased",
    "issues/dispatch/": "dispatch",
    "issues/welcomesequence/": "sequence",
    "issues/newsletter/": "newsletter",
    "issues/issue/": "draft",
    "issues/libraryblock/": "library_block",
    "issues/redirect/": "redirect",
    "issues/importedpost/": "imported_post",
}


def role_users() -> dict[str, User]:
    """A login per role: a member of the role's group (as the migration made it), and a
    superuser."""
    users = {}
    for role in ROLES:
        user = User.objects.create_user(
            role, f"{role}@newsroom.example", STAFF_PASSWORD, is_staff=True
        )
        if role == "superuser":
            user.is_superuser = True
            user.save()
        else:
            user.groups.add(Group.objects.get(name=ROLE_GROUPS[role]))
        users[role] = user
    return users


class Dataset:
    password = STAFF_PASSWORD

    def __init__(self):
        self.users = role_users()
        self.user = None  # who made the request being checked
        self.queued = []  # what that request left to run on commit or sent to the broker
        self.sent_tasks = []
        self.build()
        self.forms = self.read_forms()

    def build(self):
        self.newsletter = make_newsletter("weekly")
        self.second_newsletter = make_newsletter("second", name="Second", from_email="s@x.example")
        self.tag = Tag.objects.create(name="regulars")
        self.reader = active_reader(self.newsletter, "reader@example.net")
        self.reader.tags.add(self.tag)
        self.complained = active_reader(self.newsletter, "complained@example.net")
        services.suppress(self.complained, SuppressionEvent.Kind.COMPLAINT, reason="spam button")
        self.pending = services.subscribe("pending@example.net", [self.newsletter])
        self.segment = Segment.objects.create(name="Weekly readers", newsletter=self.newsletter)
        self.erased = ErasedAddress.objects.create(email_hash="0" * 64)
        self.import_job = ImportJob.objects.create(newsletter=self.newsletter, file_name="a.csv")
        self.group = Group.objects.create(name="Copy desk")
        self.member = User.objects.create_user("member", "member@example.org", STAFF_PASSWORD)
        self.library_block = make_library_block()
        self.redirect = add_redirect("/p/old-post", "/archive/")

        self.sent = make_issue(self.newsletter, "Last week", sections=1)
        self.dispatch = send_in_process(self.sent)
        self.sent.refresh_from_db()
        self.imported_post = ImportedPost.objects.create(
            platform="substack", external_id="101", issue=self.sent, old_path="/p/last-week"
        )
        self.platform_import = PlatformImport.objects.create(
            platform="substack", newsletter=self.newsletter, stored="imports/gone.zip"
        )
        self.sending = make_issue(self.newsletter, "Going out", sections=1)
        plan_dispatch(start_dispatch(self.sending))

        self.sequence = sequences.sequence_for(self.newsletter)
        step = sequences.add_step(self.sequence, title="Welcome aboard", delay=timedelta(0))
        add_block(step.issue, "markdown", {"body": "Glad you are here."})
        standing_dispatch(step)  # first due: frozen and going out
        self.welcome = step.issue
        self.paused_newsletter = make_newsletter("paused", name="Paused", from_email="p@x.example")
        self.paused_sequence = sequences.sequence_for(self.paused_newsletter)
        sequences.pause_sequence(self.paused_sequence)

        self.draft = make_issue(self.newsletter, "Plans")
        add_block(self.draft, "markdown", {"body": "First thoughts."})
        editor = self.client_for("superuser")
        for title in ("Plans for the strike", "Plans for the strike, day 2"):
            data = change_form_data(self.draft, list(self.draft.blocks.all())) | {"title": title}
            saved = editor.post(f"/admin/issues/issue/{self.draft.pk}/change/", data)
            assert saved.status_code == 302, saved.content[:2000]
        self.draft.refresh_from_db()
        self.draft_revisions = self.draft.revisions.count()
        assert self.draft_revisions >= 2

    def client_for(self, role) -> Client:
        client = Client()
        if role != "anonymous":
            client.force_login(self.users[role])
        return client

    # Filling URLs and forms -------------------------------------------------------------

    def target(self, route: str, name: str = ""):
        if not name:
            name = next((t for p, t in DEFAULT_TARGETS.items() if route.startswith(p)), "")
        return getattr(self, name) if name else None

    def url_kwargs(self, route: str, target) -> dict:
        return {
            "object_id": target.pk if target is not None else "",
            "pk": target.pk if target is not None else "",
            "content_type_id": ContentType.objects.get_for_model(type(target)).pk
            if target is not None
            else "",
            "channel": "web",
            "number": self.draft.revisions.order_by("number").first().number,
            "job_id": self.import_job.pk,
            "import_id": self.platform_import.pk,
            "id": self.member.pk,
            "app_label": "issues",
            "url": "no-such-page/",
        }

    def read_forms(self) -> dict[str, dict]:
        """The admin's add and change forms as the superuser's browser would post them."""
        client = self.client_for("superuser")
        forms = {}
        for prefix, name in DEFAULT_TARGETS.items():
            model = prefix.rstrip("/").rsplit("/", 1)[1]
            target = getattr(self, "second_newsletter" if model == "newsletter" else name)
            for kind, url in (
                ("add", f"/admin/{prefix}add/"),
                ("change", f"/admin/{prefix}{target.pk}/change/"),
            ):
                page = client.get(url)
                if page.status_code == 200:
                    fields = submitted_fields(page.content.decode(), f"{model}_form")
                    forms[f"{model}_{kind}"] = as_post_data(fields)
        return forms

    def posted_form(self, key: str, edit: dict | None = None) -> dict:
        data = dict(self.forms[key])
        for name, value in (edit or {}).items():
            data[name] = self.resolve(value)
        return data

    def resolve(self, value):
        """``"@name"``: the id of the dataset's object ``name``."""
        if isinstance(value, str) and value.startswith("@"):
            return getattr(self, value[1:]).pk
        return value

    def image_upload(self) -> dict:
        from tests.support.composing import upload

        return {"image": upload()}

    def import_upload(self) -> dict:
        csv = b"email,name\nnew.reader@example.net,New Reader\n"
        return {
            "file": SimpleUploadedFile("readers.csv", csv, "text/csv"),
            "newsletter": self.newsletter.pk,
        }

    def moving_in_upload(self) -> dict:
        """A Substack export of one post, for the review step (a dry run: nothing changes)."""
        export = io.BytesIO()
        with zipfile.ZipFile(export, "w") as archive:
            archive.writestr(
                "posts.csv", "post_id,post_date,is_published,title\n7.moved,2023-01-01,true,Moved\n"
            )
            archive.writestr("posts/7.moved.html", "<p>Moved in.</p>")
        return {
            "platform": "substack",
            "newsletter": self.newsletter.pk,
            "export": SimpleUploadedFile("export.zip", export.getvalue(), "application/zip"),
            "step": "review",
        }

    @property
    def tomorrow(self) -> str:
        return timezone.localtime(timezone.now() + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")

    # What the table asks after a request --------------------------------------------------

    def exists(self, label: str, **filters) -> bool:
        return apps.get_model(label).objects.filter(**filters).exists()

    def count(self, label: str, **filters) -> int:
        return apps.get_model(label).objects.filter(**filters).count()

    def gone(self, name: str) -> bool:
        obj = getattr(self, name)
        return not type(obj).objects.filter(pk=obj.pk).exists()

    def own_password_is(self, password: str) -> bool:
        return User.objects.get(pk=self.user.pk).check_password(password)

    def password_of(self, name: str, password: str) -> bool:
        return User.objects.get(pk=getattr(self, name).pk).check_password(password)
