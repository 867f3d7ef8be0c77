"""The issue form in a real browser: counters, the inbox line as Gmail cuts it, wide inputs,
and the only newsletter chosen already."""

import pytest

from tests.support.admin import log_into_admin, make_editor
from tests.support.factories import make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

TITLE = "Small models, big week: distillation explained, a quiz, and a hype-o-meter for 2026"
SUBJECT = "🤖 Small models, big week: distillation, a quiz and the hype-o-meter"
PREHEADER = "Five minutes on why small models got good, plus links worth your weekend reading"


def test_subject_and_preheader_show_counts_and_the_inbox_line_as_gmail_cuts_it(
    live_server, page, artifacts_dir, django_user_model
):
    newsletter = make_newsletter(from_name="The Weekly Gradient")
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(f"{live_server.url}/admin/issues/issue/add/")

    # The only newsletter is already chosen.
    assert page.input_value("#id_newsletter") == str(newsletter.pk)

    # A 90-character title fits its input without scrolling.
    page.fill("#id_title", TITLE[:90])
    fits = page.eval_on_selector("#id_title", "e => e.scrollWidth <= e.clientWidth")
    assert fits

    # Before a subject is typed, the inbox shows the title (a blank subject is the title).
    inbox = page.locator(".sf-inbox-line")
    assert TITLE[:20] in inbox.inner_text()

    page.fill("#id_subject", SUBJECT)
    page.fill("#id_preheader", PREHEADER)
    assert page.inner_text("#id_subject_counter").startswith(f"{len(SUBJECT)} characters")
    assert page.inner_text("#id_preheader_counter").startswith(f"{len(PREHEADER)} characters")
    line = inbox.inner_text()
    assert line.startswith("The Weekly Gradient")
    assert SUBJECT in line
    # Subject and preheader together run past what Gmail shows on a desktop: the preheader is
    # cut there, with an ellipsis, and the rest is not shown.
    assert len(SUBJECT) + len(PREHEADER) > 100
    shown = page.inner_text(".sf-inbox-line .sf-inbox-preheader")
    assert shown.endswith("…") and PREHEADER not in shown
    assert 90 <= len(SUBJECT) + len(shown.strip(" —…")) <= 100
    page.screenshot(path=artifacts_dir / "issue-form-inbox-line.png", full_page=False)

    # Counters follow each keystroke.
    page.fill("#id_subject", "Short")
    assert page.inner_text("#id_subject_counter").startswith("5 characters")
    assert PREHEADER in inbox.inner_text()
