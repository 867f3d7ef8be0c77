"""Finding 2: a staff login alone can neither export the audience nor import into it."""

import pytest
from django.contrib.auth.models import Permission, User
from django.core.files.uploadedfile import SimpleUploadedFile

from subscribers.models import Subscriber
from tests.support.subscribers import active_reader, finished_import

pytestmark = pytest.mark.django_db

EXPORT = "/admin/subscribers/subscriber/export/"
IMPORT = "/admin/subscribers/subscriber/import/"


def staff_client(client, *codenames):
    user = User.objects.create_user("staffer", password="a-long-test-password", is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client.force_login(user)
    return client


@pytest.fixture
def reader(newsletter):
    return active_reader(newsletter)


def csv_upload():
    return SimpleUploadedFile(
        "list.csv", b"email,name\nstranger@example.org,Never Asked\n", "text/csv"
    )


@pytest.mark.parametrize(
    "codenames", [(), ("view_subscriber",), ("view_subscriber", "change_subscriber")]
)
def test_export_needs_the_export_permission(client, reader, codenames):
    response = staff_client(client, *codenames).get(EXPORT)
    assert response.status_code == 403
    assert b"reader@example.net" not in b"".join(getattr(response, "streaming_content", [b""]))


def test_a_staff_member_with_the_export_permission_exports(client, reader):
    response = staff_client(client, "view_subscriber", "export_subscribers").get(EXPORT)
    assert response.status_code == 200
    assert b"reader@example.net" in b"".join(response.streaming_content)


@pytest.mark.parametrize(
    "codenames", [(), ("view_subscriber",), ("add_subscriber",), ("change_subscriber",)]
)
def test_import_needs_add_and_change_permissions(client, newsletter, codenames):
    signed_in = staff_client(client, *codenames)
    assert signed_in.get(IMPORT).status_code == 403
    response = signed_in.post(IMPORT, {"file": csv_upload(), "newsletter": newsletter.pk})
    assert response.status_code == 403
    assert not Subscriber.objects.filter(email="stranger@example.org").exists()


def test_a_staff_member_who_may_add_and_change_imports(client, newsletter, worker):
    signed_in = staff_client(client, "add_subscriber", "change_subscriber", "view_subscriber")
    response = signed_in.post(IMPORT, {"file": csv_upload(), "newsletter": newsletter.pk})
    assert response.status_code == 302
    assert finished_import(signed_in, response.url)["imported"] == 1
    assert Subscriber.objects.filter(email="stranger@example.org", status="active").exists()


def test_an_import_job_and_its_report_need_the_import_permissions(client, newsletter):
    importer = staff_client(client, "add_subscriber", "change_subscriber", "view_subscriber")
    job_url = importer.post(IMPORT, {"file": csv_upload(), "newsletter": newsletter.pk}).url
    assert importer.get(job_url).status_code == 200
    importer.logout()
    viewer = User.objects.create_user("viewer", password="a-long-test-password", is_staff=True)
    viewer.user_permissions.set(Permission.objects.filter(codename="view_subscriber"))
    client.force_login(viewer)
    for page in ("", "progress/", "rejections.csv"):
        assert client.get(job_url + page).status_code == 403


def test_the_changelist_offers_only_the_buttons_the_user_may_press(client, reader):
    page = staff_client(client, "view_subscriber").get("/admin/subscribers/subscriber/")
    assert page.status_code == 200
    assert EXPORT.encode() not in page.content and IMPORT.encode() not in page.content
