"""Tags: editors put them on many subscribers at once, count them, import and export them;
subscribers never see them."""

import csv
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from subscribers import services, tokens
from subscribers.imports import import_csv
from subscribers.models import Subscriber, Tag
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.forms import as_post_data, submitted_fields
from tests.support.subscribers import path_of

pytestmark = pytest.mark.django_db

CHANGELIST = "/admin/subscribers/subscriber/"


@pytest.fixture
def readers(newsletter):
    rows = "".join(f"reader{n}@example.org,Reader {n}\n" for n in range(12))
    import_csv(("email,name\n" + rows).encode(), newsletter)
    return list(Subscriber.objects.order_by("email"))


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw-42-x")
    client.force_login(user)
    return user


def choose_action(client, action, chosen, path=CHANGELIST, **extra):
    """Tick subscribers on the changelist, choose the action, press Go: the tag page."""
    data = {"action": action, "index": "0", "_selected_action": [s.pk for s in chosen], **extra}
    return client.post(path, data)


def apply_tag_page(client, page, **choice):
    """Fill the tag page's form as the browser submits it, press the button."""
    fields = as_post_data(submitted_fields(page.content.decode(), "tag-action-form"))
    fields.update(choice, apply="Add the tag")
    action = page.context["form_url"]
    return client.post(action, fields, follow=True)


def names(subscriber):
    return sorted(subscriber.tags.values_list("name", flat=True))


def test_bulk_add_then_remove_a_tag_through_the_intermediate_page(client, editor, readers):
    chosen = readers[:5]
    page = choose_action(client, "add_tag_to_selected", chosen)
    assert page.status_code == 200
    assert 'id="tag-action-count">5<' in page.content.decode()
    assert not Tag.objects.exists()  # choosing the action changes nothing yet

    done = apply_tag_page(client, page, new_tag="  Researchers ")
    assert "Tagged 5 subscribers “Researchers”." in done.content.decode()
    tagged = set(Subscriber.objects.filter(tags__name="Researchers"))
    assert tagged == set(chosen)

    # Adding again to an overlapping selection tags only those without it; a new name in
    # another case finds the existing tag.
    page = choose_action(client, "add_tag_to_selected", readers[3:8])
    done = apply_tag_page(client, page, new_tag="researchers")
    assert "Tagged 3 subscribers “Researchers”." in done.content.decode()
    assert Tag.objects.count() == 1

    researchers = Tag.objects.get()
    page = choose_action(client, "remove_tag_from_selected", readers[:2])
    fields = as_post_data(submitted_fields(page.content.decode(), "tag-action-form"))
    assert "new_tag" not in fields  # removing offers existing tags only
    done = apply_tag_page(client, page, tag=str(researchers.pk))
    assert "Removed “Researchers” from 2 subscribers." in done.content.decode()
    assert set(Subscriber.objects.filter(tags=researchers)) == set(readers[2:8])


def test_select_all_tags_the_whole_filtered_list_not_only_the_page(client, editor, readers):
    services.unsubscribe(readers[0])
    filtered = f"{CHANGELIST}?status__exact=active"
    page = choose_action(client, "add_tag_to_selected", readers[1:2], filtered, select_across="1")
    assert 'id="tag-action-count">11<' in page.content.decode()
    apply_tag_page(client, page, new_tag="everyone active")
    assert Subscriber.objects.filter(tags__name="everyone active").count() == 11
    assert names(Subscriber.objects.get(pk=readers[0].pk)) == []


def test_the_tag_page_refuses_no_choice_both_choices_and_a_separator(client, editor, readers):
    page = choose_action(client, "add_tag_to_selected", readers[:2])
    nothing = apply_tag_page(client, page)
    assert "Choose a tag or type a new one." in nothing.content.decode()
    Tag.objects.create(name="press")
    page = choose_action(client, "add_tag_to_selected", readers[:2])
    both = apply_tag_page(client, page, tag=str(Tag.objects.get().pk), new_tag="other")
    assert "not both" in both.content.decode()
    separator = apply_tag_page(client, page, new_tag="a;b")
    assert "cannot contain “;”" in separator.content.decode()
    forged = apply_tag_page(client, page, tag="99999")
    assert "Select a valid choice" in forged.content.decode()
    assert list(Tag.objects.values_list("name", flat=True)) == ["press"]
    assert not Subscriber.tags.through.objects.exists()


def test_tagging_needs_the_change_permission_and_the_csrf_token(readers):
    viewer = staff("viewer", "view_subscriber")
    client = Client()
    client.force_login(viewer)
    listing = client.get(CHANGELIST).content.decode()
    assert "add_tag_to_selected" not in listing
    forged = choose_action(client, "add_tag_to_selected", readers[:3])
    applied = {
        "action": "add_tag_to_selected",
        "index": "0",
        "_selected_action": [readers[0].pk],
        "new_tag": "forged",
        "apply": "1",
    }
    client.post(CHANGELIST, applied)
    # Not one of their actions: the list comes back (no actions at all for a viewer), never
    # the form that asks for the tag's name.
    assert forged.status_code in (200, 302)
    assert 'name="new_tag"' not in forged.content.decode()
    assert not Tag.objects.exists()

    editor = staff("tagger", "view_subscriber", "change_subscriber")
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username=editor.username, password=STAFF_PASSWORD)
    no_token = browser.post(CHANGELIST, applied)
    assert no_token.status_code == 403
    assert not Tag.objects.exists()


def test_tag_list_counts_each_tags_subscribers_in_one_query(client, editor, readers):
    def tag_list_queries():
        with CaptureQueriesContext(connection) as queries:
            page = client.get("/admin/subscribers/tag/")
        assert page.status_code == 200
        return len(queries), page.content.decode()

    researchers = Tag.objects.create(name="researchers")
    services.add_tag(Subscriber.objects.filter(pk__in=[r.pk for r in readers[:4]]), researchers)
    services.unsubscribe(readers[0])
    few, page = tag_list_queries()
    assert f'?tags__id__exact={researchers.pk}">4</a>' in page
    assert '<td class="field-active_count">3</td>' in page

    for n in range(30):
        tag = Tag.objects.create(name=f"tag {n:02}")
        services.add_tag(Subscriber.objects.filter(pk=readers[n % 12].pk), tag)
    many, _ = tag_list_queries()
    assert many == few  # no query per tag

    filtered = client.get(CHANGELIST, {"tags__id__exact": researchers.pk}).content.decode()
    assert "reader1@example.org" in filtered and "reader5@example.org" not in filtered


def test_tags_stay_off_the_preferences_page_but_are_in_the_readers_data_download(client, readers):
    """Tags are the editors' words, not a setting readers change; but they are data held
    about the reader, which erasure removes, so the download holds them (issue 18)."""
    reader = readers[0]
    label = Tag.objects.create(name="met-at-the-conference")
    reader.tags.add(label)
    path = path_of(tokens.preferences_url(reader.pk))
    page = client.get(path)
    assert page.status_code == 200
    assert reader.email in page.content.decode()
    assert label.name not in page.content.decode()
    download = client.get(path, {"download": "json"})
    assert download.status_code == 200 and reader.email in download.content.decode()
    assert label.name in download.json()["tags"]


def export(**options):
    out = io.StringIO()
    call_command("export_subscribers", stdout=out, stderr=io.StringIO(), **options)
    return list(csv.DictReader(io.StringIO(out.getvalue())))


def test_csv_tags_round_trip_through_export_and_import(newsletter, tmp_path):
    Tag.objects.create(name="Press")
    source = (
        "email,name,tags\n"
        'ada@example.org,Ada,"researchers; press"\n'
        "grace@example.org,Grace,researchers\n"
        "hopper@example.org,Hopper,\n"
        'lin@example.org,Lin,";; new tag ;"\n'
    )
    report = import_csv(source.encode(), newsletter)
    assert (report.imported, report.rejected) == (4, [])
    by_email = {s.email: names(s) for s in Subscriber.objects.all()}
    assert by_email == {
        "ada@example.org": ["Press", "researchers"],  # "press" found the existing "Press"
        "grace@example.org": ["researchers"],
        "hopper@example.org": [],
        "lin@example.org": ["new tag"],
    }
    assert Tag.objects.count() == 3

    rows = export()
    assert {row["email"]: row["tags"] for row in rows} == {
        "ada@example.org": "Press;researchers",
        "grace@example.org": "researchers",
        "hopper@example.org": "",
        "lin@example.org": "new tag",
    }
    exported = tmp_path / "out.csv"
    with exported.open("w", newline="") as file:
        writer = csv.DictWriter(file, fieldnames=rows[0].keys())
        writer.writeheader()
        writer.writerows(rows)
    Subscriber.objects.all().delete()
    Tag.objects.all().delete()
    call_command("import_subscribers", str(exported), stdout=io.StringIO(), stderr=io.StringIO())
    assert {s.email: names(s) for s in Subscriber.objects.all()} == by_email


def test_broken_tag_cells_reject_their_line_with_the_reason_and_keep_the_rest(newsletter, tmp_path):
    long_tag = "t" * 101
    path = tmp_path / "list.csv"
    path.write_text(
        "email;tags\n"
        "ok@example.org;readers\n"
        f"long@example.org;readers,{long_tag}\n"
        f'"bell@example.org";"readers\x07"\n'
        'also@example.org;"readers;night owls"\n'
    )
    out, err = io.StringIO(), io.StringIO()
    call_command("import_subscribers", str(path), stdout=out, stderr=err)
    assert "weekly: 2 imported" in out.getvalue()
    assert "line 3: 'long@example.org': tag longer than 100 characters" in err.getvalue()
    assert "line 4: 'bell@example.org': tag contains control characters" in err.getvalue()
    assert set(Subscriber.objects.values_list("email", flat=True)) == {
        "ok@example.org",
        "also@example.org",
    }
    assert sorted(Tag.objects.values_list("name", flat=True)) == ["night owls", "readers"]
