"""The click map and the CSV: each link's figures land on that link, and nothing else moves."""

import csv
import io
import re
from pathlib import Path

from django.contrib.staticfiles import finders

from issues.reports.clickmap import HEAT, click_map
from issues.reports.engagement import IssueEngagement, LinkFigures
from issues.reports.tables import links_csv
from superfast.admin_pages import admin_url
from superfast.contrast import AA_CONTRAST, contrast
from tests.support.factories import make_issue

WEB_HTML = (
    '<p>Start with <a href="https://example.org/a?x=1&amp;y=2">the paper</a>, then '
    '<a href="#section-1">jump</a>.</p>'
    '<ul><li><a href="https://example.org/b">B once</a></li>'
    '<li><a class="sf-button" href="https://example.org/b">B again</a></li>'
    '<li><a href="https://example.org/c"><img src="https://example.org/c.png" alt="C"></a></li>'
    "</ul>"
)


def link(link_id, position, url, clicks, unique=None, machine=0, label=""):
    return LinkFigures(link_id, position, url, label, clicks, unique or clicks, machine)


LINKS = [
    link(1, 0, "https://example.org/a?x=1&y=2", 30),
    link(2, 1, "https://example.org/b", 10),
    link(3, 2, "https://example.org/b", 0),
    link(4, 3, "https://example.org/c", 60),
    link(5, 4, "https://example.org/only-in-the-email", 0),
]


def test_each_link_on_the_page_carries_its_own_share_in_order_of_appearance():
    drawn = click_map(WEB_HTML, LINKS)
    html = str(drawn.html)
    assert drawn.total_clicks == 100 and drawn.shown == {1, 2, 3, 4}
    # The escaped URL of the page matches the link table's URL.
    assert 'the paper</a><span class="clickmap-badge">30.0% · 30 readers · 30 clicks</span>' in html
    # The same URL twice: the first place gets the first tracked link, the second the next.
    assert html.index("10.0% · 10 readers") < html.index("B again") < html.index("0.0% · 0 readers")
    # The link with the most readers is the hottest; an anchor within the page is left alone.
    assert 'clickmap-heat-4"><a href="https://example.org/c">' in html
    assert '<a href="#section-1">jump</a>.' in html
    # The page's own markup is kept as it was, only wrapped.
    assert html.replace("</span>", "").count("<a ") == WEB_HTML.count("<a ")


def test_a_page_without_clicks_or_links_is_drawn_as_it_is():
    assert click_map(WEB_HTML, []).html == WEB_HTML
    quiet = click_map(WEB_HTML, [link(1, 0, "https://example.org/b", 0)])
    assert quiet.total_clicks == 0 and "0.0% · 0 readers · 0 clicks" in quiet.html


def test_the_csv_has_one_row_per_link_and_no_formula_survives():
    hostile = link(9, 5, '=HYPERLINK("https://evil.example")', 5, label="+cmd|' /C calc'!A0")
    engagement = IssueEngagement(
        issue_id=1,
        sent=200,
        delivered=190,
        bounced=2,
        complained=0,
        outcomes_reported=True,
        unsubscribed=1,
        human_clicks=105,
        unique_clickers=80,
        machine_clicks=12,
        esp_reported_clicks=0,
        click_rate=0.4,
        opens_estimated=None,
        unique_openers_estimated=None,
        links=[*sorted(LINKS, key=lambda x: -x.clicks), hostile],
        readers_by_url={},
    )
    rows = list(csv.DictReader(io.StringIO(links_csv(engagement))))
    assert [(r["rank"], r["url"], r["clicks"], r["unique"]) for r in rows[:2]] == [
        ("1", "https://example.org/c", "60", "60"),
        ("2", "https://example.org/a?x=1&y=2", "30", "30"),
    ]
    assert rows[0]["share"] == f"{60 / 80:.4f}"  # of the 80 readers who clicked
    assert rows[-1]["url"].startswith("'=") and rows[-1]["label"].startswith("'+")


def test_every_heat_colour_reads_at_aa_and_the_forced_light_map_links_no_dark_rules(admin_client):
    for level, heat in enumerate(HEAT):
        assert contrast(heat.badge_ink, heat.badge_background) >= AA_CONTRAST, level
        assert contrast(heat.link_ink, heat.background) >= AA_CONTRAST, level
    issue = make_issue(frozen=True, sections=2)
    page = admin_client.get(admin_url(issue, "click_map")).content.decode()
    for level, heat in enumerate(HEAT):
        rule = f".clickmap-heat-{level} .clickmap-badge {{ background: {heat.badge_background}; "
        assert rule + f"color: {heat.badge_ink}; }}" in page
    sheets = re.findall(r'<link rel="stylesheet" href="/static/([^"]+)"', page)
    assert sheets
    for sheet in sheets:
        assert "prefers-color-scheme" not in Path(finders.find(sheet)).read_text(), sheet
    assert "prefers-color-scheme" not in page
