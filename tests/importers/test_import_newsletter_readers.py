"""import_newsletter brings the readers along: one command per platform, nobody mailed."""

import io
import shutil
from pathlib import Path

import pytest
from django.core import mail
from django.core.management import call_command

from subscribers.models import Subscriber

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "importers"


def run(*args) -> str:
    out = io.StringIO()
    call_command("import_newsletter", *map(str, args), stdout=out)
    return out.getvalue()


@pytest.mark.django_db
@pytest.mark.parametrize("platform", ["substack", "mailchimp", "beehiiv", "buttondown"])
def test_one_command_imports_the_readers_of_each_platform_and_mails_nobody(platform, newsletter):
    report = run(platform, FIXTURES / platform)

    assert "Readers from " in report
    imported = Subscriber.objects.count()
    assert imported and f"; {imported} imported (" in report
    assert mail.outbox == []

    again = run(platform, FIXTURES / platform)

    assert "; 0 imported (" in again and f"; {imported} already here;" in again
    assert Subscriber.objects.count() == imported


@pytest.mark.django_db
def test_ghost_members_come_from_their_own_csv_beside_the_json(newsletter, tmp_path):
    posts = FIXTURES / "ghost" / "ai-weekly.ghost.2023-03-01.json"
    report = run("ghost", posts, "--readers", FIXTURES / "ghost" / "members.csv")

    assert "Readers from Ghost" in report
    assert Subscriber.objects.exists()


@pytest.mark.django_db
def test_a_dry_run_of_readers_changes_nothing(newsletter):
    report = run("mailchimp", FIXTURES / "mailchimp", "--dry-run")

    assert "would be imported" in report
    assert not Subscriber.objects.exists()


@pytest.mark.django_db
def test_a_posts_only_export_says_it_holds_no_readers(newsletter, tmp_path):
    export = tmp_path / "buttondown"
    shutil.copytree(FIXTURES / "buttondown", export)
    (export / "subscribers.csv").unlink()

    assert "No readers in this export." in run("buttondown", export)
