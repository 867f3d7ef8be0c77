"""A URL placed twice in an issue is two links: each placement has its own row in the link
table, its own badge on the click map and its own row in the report, so editors see which
one readers used; ``issue_report --json`` keeps one entry per URL with its placements."""

import json

from django.core.management import call_command

from issues.compose.blocks import get_kind
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block, TrackedLink
from superfast.admin_pages import admin_url
from tests.support.delivery import make_subscribers
from tests.support.engagement import BROWSER, links_by_reader, send_in_process
from tests.support.factories import make_issue

SAME = "https://example.org/the-paper"
OTHER = "https://example.org/elsewhere"


def issue_placing_a_url_twice():
    issue = make_issue(title="Twice")
    raw = [
        ("markdown", {"body": f"Start with [the paper]({SAME}), or [elsewhere]({OTHER})."}),
    ]
    Block.objects.bulk_create(
        Block(issue=issue, position=p, kind=kind, data=get_kind(kind).validate(data))
        for p, (kind, data) in enumerate(raw, start=1)
    )
    image = {  # as stored once the upload was checked
        "image": {"path": "images/first-page.png", "width": 10, "height": 10},
        "alt": "The paper's first page",
        "caption": "",
        "credit": "",
        "link": SAME,
    }
    Block.objects.create(issue=issue, position=2, kind="image", data=image)
    freeze_snapshot(issue)
    return issue


def test_each_placement_of_a_repeated_url_is_its_own_link_on_the_table_map_and_report(
    client, admin_client, smtp_sink, settings, capsys
):
    settings.REDIS_URL = ""  # each click stored as it comes
    issue = issue_placing_a_url_twice()
    first_reader, second_reader = make_subscribers(issue.newsletter, 2)
    send_in_process(issue)
    table = list(TrackedLink.objects.filter(issue=issue, is_canary=False).order_by("position"))
    assert [(row.url, row.label) for row in table] == [
        (SAME, "the paper"),
        (OTHER, "elsewhere"),
        (SAME, "Image: The paper's first page"),  # an image and a text link: two rows
    ]
    links = links_by_reader(smtp_sink)
    assert len(set(links[first_reader.email])) == 4  # the canary and three placements

    for reader, n in [(first_reader, 1), (first_reader, 3), (second_reader, 3)]:
        response = client.get(links[reader.email][n], HTTP_USER_AGENT=BROWSER)
        assert (response.status_code, response["Location"]) == (302, SAME)

    drawn = admin_client.get(admin_url(issue, "click_map")).content.decode()
    badges = [part.split("</span>")[0] for part in drawn.split('class="clickmap-badge">')[1:]]
    assert badges == [
        "50.0% · 1 reader · 1 click",  # the paper, first placement
        "0.0% · 0 readers · 0 clicks",  # elsewhere
        "100.0% · 2 readers · 2 clicks",  # the paper's image
    ]
    page = admin_client.get(admin_url(issue, "engagement")).content.decode()
    assert page.count(f'<span class="link-url">{SAME}</span>') == 2

    call_command("issue_report", str(issue.pk), "--json")
    entries = json.loads(capsys.readouterr().out)["links"]
    assert [(e["url"], e["clicks"], e["unique"]) for e in entries] == [(SAME, 3, 2), (OTHER, 0, 0)]
    placements = [
        (p["position"], p["label"], p["clicks"], p["unique"]) for p in entries[0]["placements"]
    ]
    assert placements == [(1, "the paper", 1, 1), (3, "Image: The paper's first page", 2, 2)]
