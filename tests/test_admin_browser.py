"""The admin works in a real browser: log in, land on the dashboard."""

import pytest

from tests.support.admin import log_into_admin, make_editor

pytestmark = pytest.mark.django_db(transaction=True)


def test_staff_user_logs_into_the_admin_in_chromium(
    live_server, page, artifacts_dir, django_user_model
):
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    assert "Newsletters" in page.text_content("body")
    page.screenshot(path=artifacts_dir / "admin-dashboard.png", full_page=True)
