"""Segments: saved filters over the audience, with a live count in the admin."""

from datetime import date, datetime, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from issues.models import Click
from subscribers import services
from subscribers.models import Segment, Subscription, Tag
from subscribers.segments import SegmentRule, members
from tests.support.admin import STAFF_PASSWORD, staff
from tests.support.factories import make_issue
from tests.support.forms import as_post_data, submitted_fields
from tests.support.subscribers import active_reader

pytestmark = pytest.mark.django_db

ADD = "/admin/subscribers/segment/add/"
COUNT = "/admin/subscribers/segment/count/"


def on(day: date):
    return timezone.make_aware(datetime.combine(day, datetime.min.time())) + timedelta(hours=9)


@pytest.fixture
def tags(db):
    return {name: Tag.objects.create(name=name) for name in ("researchers", "press", "vip")}


@pytest.fixture
def audience(newsletter, second_newsletter, tags):
    """Readers with tags and sign-up days; one of another newsletter, one unsubscribed."""
    people = {
        "ada": (["researchers"], date(2026, 1, 10)),
        "grace": (["researchers", "vip"], date(2026, 3, 1)),
        "hopper": (["press"], date(2026, 3, 2)),
        "lin": (["researchers", "press"], date(2026, 5, 20)),
        "mo": ([], date(2026, 6, 1)),
    }
    found = {}
    for name, (tag_names, joined) in people.items():
        reader = active_reader(newsletter, f"{name}@example.org")
        reader.tags.set([tags[t] for t in tag_names])
        Subscription.objects.filter(subscriber=reader).update(created_at=on(joined))
        found[name] = reader
    elsewhere = active_reader(second_newsletter, "elsewhere@example.org")
    elsewhere.tags.set([tags["researchers"]])
    left = active_reader(newsletter, "left@example.org")
    left.tags.set([tags["researchers"]])
    services.unsubscribe(left)
    return found


def emails(queryset):
    return sorted(email.split("@")[0] for email in queryset.values_list("email", flat=True))


def test_conditions_combine_tags_any_all_none_newsletter_and_sign_up_dates(
    newsletter, tags, audience
):
    def rule(**conditions):
        for key in ("tags_any", "tags_all", "tags_none"):
            conditions[key] = frozenset(tags[n].pk for n in conditions.get(key, ()))
        return members(SegmentRule(newsletter_id=newsletter.pk, **conditions))

    assert emails(rule()) == ["ada", "grace", "hopper", "lin", "mo"]
    assert emails(rule(tags_any=["researchers", "press"])) == ["ada", "grace", "hopper", "lin"]
    assert emails(rule(tags_all=["researchers", "press"])) == ["lin"]
    assert emails(rule(tags_any=["researchers"], tags_none=["vip"])) == ["ada", "lin"]
    assert emails(rule(tags_none=["researchers", "press"])) == ["mo"]
    assert emails(rule(signed_up_after=date(2026, 3, 2))) == ["hopper", "lin", "mo"]
    assert emails(rule(signed_up_before=date(2026, 3, 2))) == ["ada", "grace"]
    window = rule(
        tags_any=["researchers"],
        signed_up_after=date(2026, 2, 1),
        signed_up_before=date(2026, 6, 1),
    )
    assert emails(window) == ["grace", "lin"]
    # Without a newsletter: subscribers of any newsletter (never the unsubscribed).
    anywhere = members(SegmentRule(tags_any=frozenset([tags["researchers"].pk])))
    assert emails(anywhere) == ["ada", "elsewhere", "grace", "lin"]


def add_page_fields(client):
    page = client.get(ADD)
    assert page.status_code == 200
    return as_post_data(submitted_fields(page.content.decode(), "segment_form"))


@pytest.fixture
def editor(client, django_user_model):
    user = django_user_model.objects.create_superuser("editor", "editor@example.org", "pw-42-x")
    client.force_login(user)
    return user


def test_editor_saves_a_segment_and_its_page_shows_the_live_count(
    client, editor, newsletter, tags, audience
):
    fields = add_page_fields(client)
    fields.update(
        name="Researchers, not VIPs",
        newsletter=str(newsletter.pk),
        tags_any=[str(tags["researchers"].pk)],
        tags_none=[str(tags["vip"].pk)],
    )
    # While editing, the page asks for the count of the form as it stands: nothing is saved.
    counted = client.post(COUNT, fields)
    assert counted.json() == {"count": 2}
    assert not Segment.objects.exists()

    saved = client.post(ADD, fields)
    assert saved.status_code == 302, saved.content.decode()[:2000]
    segment = Segment.objects.get()
    page = client.get(f"/admin/subscribers/segment/{segment.pk}/change/").content.decode()
    assert f'data-url="{COUNT}">2</output> active subscribers' in page
    assert f"?segment={segment.pk}" in page

    listed = client.get("/admin/subscribers/subscriber/", {"segment": segment.pk})
    shown = listed.content.decode()
    assert "ada@example.org" in shown and "lin@example.org" in shown
    assert "grace@example.org" not in shown and "hopper@example.org" not in shown


def test_contradicting_conditions_are_refused_next_to_the_field(client, editor, newsletter, tags):
    fields = add_page_fields(client)
    fields.update(
        name="Impossible",
        tags_all=[str(tags["press"].pk)],
        tags_none=[str(tags["press"].pk)],
        signed_up_after="2026-05-01",
        signed_up_before="2026-04-01",
    )
    answer = client.post(COUNT, fields)
    assert answer.status_code == 400
    errors = answer.json()["errors"]
    assert "cannot be both required and excluded: press" in errors["tags_none"][0]
    assert "must come after" in errors["signed_up_before"][0]
    page = client.post(ADD, fields)
    assert page.status_code == 200 and "cannot be both required and excluded" in page.text
    assert not Segment.objects.exists()


def test_the_count_endpoint_refuses_strangers_forgeries_and_nonsense(
    client, editor, newsletter, tags, audience
):
    fields = add_page_fields(client)
    fields.update(name="x", newsletter=str(newsletter.pk))
    assert client.get(COUNT).status_code == 405

    nonsense = client.post(COUNT, {**fields, "tags_any": ["abc", "99999"], "newsletter": "-1"})
    assert nonsense.status_code == 400
    assert set(nonsense.json()["errors"]) == {"tags_any", "newsletter"}
    too_many = client.post(COUNT, {**fields, "clicked_in_last_issues": "99999999"})
    assert too_many.status_code == 400

    viewer = staff("viewer", "view_subscriber", "view_segment")
    stranger = Client()
    stranger.force_login(viewer)
    assert stranger.post(COUNT, fields).status_code == 403
    assert Client().post(COUNT, fields).status_code == 302  # to the login page

    allowed = staff("segmenter", "add_segment", "change_segment", "view_segment")
    browser = Client(enforce_csrf_checks=True)
    assert browser.login(username=allowed.username, password=STAFF_PASSWORD)
    assert browser.post(COUNT, fields).status_code == 403  # no CSRF token
    page = browser.get(ADD).content.decode()
    with_token = as_post_data(submitted_fields(page, "segment_form"))
    with_token.update(newsletter=str(newsletter.pk))
    assert browser.post(COUNT, with_token).json() == {"count": 5}


def sent_issue(newsletter, number):
    return make_issue(newsletter, f"Issue {number}", number=number, days_ago=30 - number)


def click(issue, subscriber, *, machine=False):
    """A click as the recorder stores it with per-subscriber history on (input data here)."""
    Click.objects.create(
        issue=issue,
        reader=f"r{subscriber.pk}",
        subscriber=subscriber,
        at=timezone.now(),
        is_machine=machine,
        event_id=f"{issue.pk}-{subscriber.pk}-{machine}",
    )


def test_engagement_conditions_need_the_newsletters_subscriber_history(
    client, editor, newsletter, audience
):
    fields = add_page_fields(client)
    fields.update(name="Clickers", newsletter=str(newsletter.pk), clicked_in_last_issues="2")
    refused = client.post(COUNT, fields)
    assert refused.status_code == 400
    assert (
        "does not keep per-subscriber click history"
        in refused.json()["errors"]["clicked_in_last_issues"][0]
    )
    no_newsletter = client.post(COUNT, {**fields, "newsletter": ""})
    assert "need a newsletter" in no_newsletter.json()["errors"]["clicked_in_last_issues"][0]

    newsletter.subscriber_history = True
    newsletter.save()
    first, second, third = (sent_issue(newsletter, n) for n in (1, 2, 3))
    click(first, audience["ada"])  # long ago: not in the last two
    click(second, audience["grace"])
    click(third, audience["hopper"], machine=True)  # a scanner, not a person
    click(third, audience["lin"])

    assert client.post(COUNT, fields).json() == {"count": 2}  # grace, lin
    never = {**fields, "clicked_in_last_issues": "", "never_clicked": "on"}
    assert client.post(COUNT, never).json() == {"count": 2}  # hopper, mo
    both = client.post(COUNT, {**fields, "never_clicked": "on"})
    assert "Nobody can both have clicked" in both.json()["errors"]["never_clicked"][0]

    rule = SegmentRule(newsletter_id=newsletter.pk, never_clicked=True)
    assert emails(members(rule)) == ["hopper", "mo"]


def test_a_tag_a_segment_uses_cannot_be_deleted(client, editor, tags):
    segment = Segment.objects.create(name="No press")
    segment.tags_none.set([tags["press"]])
    page = client.post(f"/admin/subscribers/tag/{tags['press'].pk}/delete/", {"post": "yes"})
    assert "Segment: No press (uses the tag)" in page.content.decode()
    assert Tag.objects.filter(name="press").exists()
    client.post(f"/admin/subscribers/tag/{tags['vip'].pk}/delete/", {"post": "yes"})
    assert not Tag.objects.filter(name="vip").exists()
