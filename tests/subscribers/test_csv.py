"""CSV import takes hostile files calmly; export is safe to open in a spreadsheet."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command

from subscribers import services
from subscribers.csv_io import ImportFileError, spreadsheet_safe
from subscribers.imports import import_csv
from subscribers.models import ConsentEvent, Subscriber, SuppressionEvent

pytestmark = pytest.mark.django_db

LONG_NAME = "N" * 10_000


def hostile_file():
    """Good rows mixed with every kind of trouble, semicolon-separated, with a UTF-8 BOM."""
    rows = [
        "Name;E-Mail-Ignored;EMAIL",
        "Ada Lovelace;x;ada@example.org",
        "Zoë Ünicode;x;zoe@bücher.example",
        '"=HYPERLINK(""http://evil.example"",""click"")";x;formula@example.org',
        "Bad Address;x;not-an-address",
        "Two Ats;x;a@b@example.org",
        f"{LONG_NAME};x;longname@example.org",
        "Dup Later;x;ADA@EXAMPLE.ORG",
        '"Header Injection";x;"evil@example.org\nBcc: victim@example.org"',
        ";;",
        "Gone;x;left@example.org",
        "Bounced;x;bounced@example.org",
        "  Spaces  ;x;  spaced@Example.Org  ",
    ]
    return ("\ufeff" + "\r\n".join(rows) + "\r\n").encode("utf-8")


@pytest.fixture
def previous_subscribers(newsletter):
    left = Subscriber.objects.create(email="left@example.org", status="unsubscribed")
    bounced = Subscriber.objects.create(email="bounced@example.org", status="active")
    services.suppress(bounced, SuppressionEvent.Kind.BOUNCE, reason="550 no such user")
    return left, bounced


def test_hostile_import_keeps_the_good_rows_and_says_why_each_other_was_rejected(
    newsletter, previous_subscribers
):
    report = import_csv(hostile_file(), newsletter)

    imported = dict(Subscriber.objects.filter(status="active").values_list("email", "name"))
    assert imported == {
        "ada@example.org": "Ada Lovelace",
        "zoe@xn--bcher-kva.example": "Zoë Ünicode",
        "formula@example.org": '=HYPERLINK("http://evil.example","click")',
        "spaced@example.org": "Spaces",
    }
    assert report.imported == 4
    reasons = {r.line: r.reason for r in report.rejected}
    assert reasons[5].startswith("invalid address")
    assert reasons[6].startswith("invalid address")
    assert reasons[7] == "name longer than 200 characters"
    assert reasons[8] == "duplicate: already earlier in this file"
    assert reasons[9].startswith("invalid address")  # the quoted newline stays in one cell
    assert reasons[12] == "previously unsubscribed"
    assert reasons[13] == "previously bounced"
    assert len(report.rejected) == 7
    # Never silently resurrected.
    assert Subscriber.objects.get(email="left@example.org").status == "unsubscribed"
    assert Subscriber.objects.get(email="bounced@example.org").status == "bounced"
    assert services.recipients(newsletter.pk).count() == 4
    assert ConsentEvent.objects.filter(action="import", source="import").count() == 4


def test_importing_the_same_file_twice_adds_nothing(newsletter):
    data = b"email,name\nada@example.org,Ada\ngrace@example.org,Grace\n"
    assert import_csv(data, newsletter).imported == 2
    again = import_csv(data, newsletter)
    assert again.imported == 0
    assert [r.reason for r in again.rejected] == ["duplicate: already subscribed"] * 2


def test_active_subscriber_of_another_newsletter_is_added_to_this_one(
    newsletter, second_newsletter
):
    import_csv(b"email\nada@example.org\n", second_newsletter)
    report = import_csv(b"email\nada@example.org\n", newsletter)
    assert (report.imported, report.added_to_newsletter) == (0, 1)
    assert services.recipients(newsletter.pk).count() == 1


def test_file_without_an_email_column_is_refused_as_a_whole(newsletter):
    with pytest.raises(ImportFileError, match="needs an 'email' column"):
        import_csv(b"name,address\nAda,ada@example.org\n", newsletter)
    with pytest.raises(ImportFileError, match="empty"):
        import_csv(b"", newsletter)


def test_import_command_prints_a_summary_and_each_rejected_line(newsletter, tmp_path):
    path = tmp_path / "list.csv"
    path.write_bytes(b"email\tname\nada@example.org\tAda\nnope\tNo\n")
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", str(path), stdout=out, stderr=err)
    assert "weekly: 1 imported" in out.getvalue()
    assert "line 3: 'nope': invalid address" in err.getvalue()


def test_import_command_refuses_bad_input_with_a_clear_message(
    newsletter, second_newsletter, tmp_path
):
    path = tmp_path / "list.csv"
    path.write_text("email\nada@example.org\n")
    with pytest.raises(CommandError, match="is not a file"):
        call_command("import_subscribers", str(tmp_path / "missing.csv"))
    with pytest.raises(CommandError, match="--newsletter"):
        call_command("import_subscribers", str(path))
    with pytest.raises(CommandError, match="No newsletter with slug 'nope'"):
        call_command("import_subscribers", str(path), newsletter="nope")
    (tmp_path / "bad.csv").write_text("name\nAda\n")
    with pytest.raises(CommandError, match="'email' column"):
        call_command("import_subscribers", str(tmp_path / "bad.csv"), newsletter="weekly")


@pytest.mark.parametrize(
    ("value", "safe"),
    [
        ("=1+2", "'=1+2"),
        ("+CMD|' /C calc'!A0", "'+CMD|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t'=1"),  # a tab splits cells too: "=1" would start one
        ("Ann;=cmd", "Ann;'=cmd"),
        ("Ada", "Ada"),
        ("", ""),
    ],
)
def test_spreadsheet_safe_neutralizes_formulas(value, safe):
    assert spreadsheet_safe(value) == safe


def test_export_command_writes_escaped_csv_filtered_by_newsletter_and_status(
    newsletter, second_newsletter
):
    import_csv(b'email,name\nada@example.org,"=cmd()"\ngrace@example.org,Grace\n', newsletter)
    import_csv(b"email\nother@example.org\n", second_newsletter)
    services.unsubscribe(Subscriber.objects.get(email="grace@example.org"))

    out = io.StringIO()
    call_command("export_subscribers", newsletter="weekly", stdout=out, stderr=io.StringIO())
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert [(r["email"], r["name"], r["newsletters"]) for r in rows] == [
        ("ada@example.org", "'=cmd()", "weekly")
    ]

    out = io.StringIO()
    call_command("export_subscribers", status="unsubscribed", stdout=out, stderr=io.StringIO())
    assert [r["email"] for r in csv.DictReader(io.StringIO(out.getvalue()))] == [
        "grace@example.org"
    ]
