"""The admin works in a real browser: log in, land on the dashboard."""

import pytest

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_user_logs_into_the_admin_in_chromium(
    live_server, page, artifacts_dir, django_user_model
):
    django_user_model.objects.create_superuser("editor", "editor@example.org", "correct horse 42")
    page.goto(f"{live_server.url}/admin/login/")
    page.fill("#id_username", "editor")
    page.fill("#id_password", "correct horse 42")
    page.click("input[type=submit]")
    page.wait_for_url(f"{live_server.url}/admin/")
    assert "Newsletters" in page.text_content("body")
    page.screenshot(path=artifacts_dir / "admin-dashboard.png", full_page=True)
