"""The next issue's editor fills "Last week's quiz" in one click from last week's votes."""

import pytest

from issues.compose.blocks import get_kind
from issues.models import QuizVote
from tests.support.admin import log_into_admin, make_editor
from tests.support.composing import FOUR_HEADLINE_QUIZ, add_block
from tests.support.factories import make_issue, make_newsletter

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_one_click_fills_last_weeks_quiz_and_the_save_keeps_it(
    live_server, page, artifacts_dir, django_user_model
):
    newsletter = make_newsletter()
    last_week = make_issue(newsletter, "Last week", days_ago=7)
    add_block(last_week, "quiz", FOUR_HEADLINE_QUIZ)
    # Readers' votes, as the vote page records them: two spotted the lie, one did not.
    for reader, pick in (("a", 2), ("b", 2), ("c", 4)):
        QuizVote.objects.create(issue=last_week, quiz=1, pick=pick, channel="email", reader=reader)
    draft = make_issue(newsletter, "This week")
    make_editor(django_user_model)
    log_into_admin(page, live_server.url)

    page.goto(f"{live_server.url}/admin/issues/issue/{draft.pk}/change/")
    page.click("button.sf-add-quiz_result")
    page.click("#blocks-0 .sf-quiz-result-fill")
    page.wait_for_selector("#blocks-0 .sf-quiz-result-status:has-text('Filled in from')")
    page.screenshot(path=artifacts_dir / "quiz-result-filled.png", full_page=True)
    page.click('input[name="_continue"]')
    page.wait_for_selector(".messagelist .success")

    block = draft.blocks.get()
    assert block.kind == "quiz_result"
    assert block.data == get_kind("quiz_result").validate(block.data)
    assert block.data["fake"] == 2
    assert [h["note"] for h in block.data["headlines"]] == [
        "0 readers (0%)",
        "2 readers (67%)",
        "0 readers (0%)",
        "1 reader (33%)",
    ]
    assert block.data["summary"] == "2 of 3 readers spotted the lie."
