"""An editor reads last week's issue: real sends, real clicks, the admin's report pages.

Two issues go out through the admin's "Send now" (a real worker, an SMTP sink); readers
open their mail (the pixel), click through the live site's redirect (some twice), scanners
fetch links, three readers leave through the one-click header. The worker flushes the
clicks. Then a staff member who may only view issues reads the report, its CSV and click
map; ``issue_report`` prints the same figures; Chromium shows report and dashboard on a
desktop and a phone, checked by axe-core, and the screenshots are kept to look at.
"""

import csv
import io
import json
import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command

from issues.compose.editing import duplicate_as_next_issue
from issues.models import Click
from tests.support.admin import STAFF_PASSWORD, log_into_admin, staff
from tests.support.browser import serious_accessibility_violations
from tests.support.delivery import make_subscribers
from tests.support.engagement import (
    SCANNER,
    flush_and_wait,
    issue_linking_to,
    request,
    tracked_links,
)
from tests.support.preloaded import preloaded_python
from tests.support.processes import child_env
from tests.support.reports import header_unsubscribe_url, html_of, received_by, send_from_the_admin
from tests.support.subscribers import join_directly, post_one_click_unsubscribe

READERS = 120
VIEWPORTS = {"desktop": {"width": 1280, "height": 900}, "phone": {"width": 375, "height": 740}}


def pixel_of(message):
    return re.search(r'<img[^>]+src="([^"]+/o/[^"]+\.gif)"', html_of(message)).group(1)


@pytest.fixture
def reported(site, targets, engagement_worker, smtp_sink, click_buffer, django_user_model):
    """Two sent issues of one newsletter, read, clicked and left as described above."""
    publisher = django_user_model.objects.create_superuser("pub", "pub@example.org", "pw")
    earlier = issue_linking_to(targets.url, track_opens=True)
    newsletter = earlier.newsletter
    readers = make_subscribers(newsletter, READERS)
    for n in range(4):  # people who joined this week, through double opt-in
        join_directly(f"new{n}@example.net", [newsletter])
    engagement_worker()
    send_from_the_admin(earlier, publisher)
    earlier_links = {a: tracked_links(m)[0] for a, m in received_by(smtp_sink, earlier).items()}
    for reader in readers[:12]:
        request(earlier_links[reader.email][2])

    issue = duplicate_as_next_issue(earlier)  # as the editor's "Duplicate as next issue"
    issue.title = "Smaller models, bigger inboxes"
    issue.save()
    send_from_the_admin(issue, publisher)
    mail = received_by(smtp_sink, issue)
    links = {address: tracked_links(message)[0] for address, message in mail.items()}
    own = [links[reader.email] for reader in readers]  # [canary, paper 0, paper 1, ...]
    for mine in own[:30]:  # thirty readers read paper 0 ...
        assert request(mine[1])[0] == 200
    for mine in own[:10]:  # ... ten of them twice
        assert request(mine[1])[0] == 200
    for mine in own[30:40]:  # ten read paper 3
        assert request(mine[4])[0] == 200
    assert request(own[40][8])[0] == 200  # one reads paper 7
    for mine in own[50:55]:  # a gateway checks links with HEAD, a scanner fetches them
        request(mine[2], method="HEAD", follow=False)
        request(mine[3], agent=SCANNER, follow=False)
    request(own[60][0], follow=False)  # something fetched the hidden canary
    for reader in readers[:25]:  # mail clients load the pixel
        request(pixel_of(mail[reader.email]))
    for reader in readers[100:103]:
        assert post_one_click_unsubscribe(header_unsubscribe_url(mail[reader.email]))
    flush_and_wait(click_buffer, expected_rows=12 + 51 + 11)
    assert Click.objects.filter(issue=issue).count() == 51 + 11
    return issue


def test_an_editor_reads_which_links_readers_clicked_and_the_command_agrees(
    reported, client, django_assert_max_num_queries, browser, site, targets, artifacts_dir
):
    issue = reported
    staff("editor", "view_issue", "view_newsletter")
    client.login(username="editor", password=STAFF_PASSWORD)
    base = f"/admin/issues/issue/{issue.pk}/engagement/"
    with django_assert_max_num_queries(18):  # a few aggregates, whatever the audience
        page = client.get(base)
    assert page.status_code == 200
    html = page.text

    def figure(name):
        return re.search(rf'id="figure-{name}">([^<]*)<', html).group(1).strip()

    assert figure("sent") == str(READERS + 4)
    assert figure("unsubscribed") == "3"
    assert figure("human-clicks") == "51"  # 30 + 10 repeats + 10 + 1
    assert figure("unique-clickers") == "41"
    assert figure("machine-clicks") == "11"  # 5 HEAD, 5 scanner, 1 canary
    assert figure("click-rate") == f"{41 / (READERS + 4) * 100:.1f}%"
    assert figure("opens").startswith("≈ ") and "Apple Mail Privacy Protection" in html
    rows = re.findall(
        r'<span class="link-url">([^<]+)</span></td>\s*<td class="number">(\d+)'
        r'</td>\s*<td class="number">(\d+)</td>',
        html,
    )
    assert [(url.split("/")[-1], unique, clicks) for url, unique, clicks in rows[:3]] == [
        ("0?from=mail&amp;kind=pdf", "30", "40"),
        ("3?from=mail&amp;kind=pdf", "10", "10"),
        ("7?from=mail&amp;kind=pdf", "1", "1"),
    ]
    # The click map draws those shares on the issue's own page, and runs nothing.
    click_map = client.get(base + "click-map/")
    assert click_map["Content-Security-Policy"].split(";")[0] == "sandbox"
    # Shares of the 41 readers who clicked, readers and clicks beside.
    assert "73.2% · 30 readers · 40 clicks" in click_map.text
    assert "24.4% · 10 readers · 10 clicks" in click_map.text
    # The CSV: every link, people's clicks and readers.
    table = list(csv.DictReader(io.StringIO(client.get(base + "links.csv").text)))
    assert len(table) == 8 and sum(int(row["clicks"]) for row in table) == 51
    assert (table[0]["clicks"], table[0]["unique"], table[0]["machine_clicks"]) == ("40", "30", "0")

    # The command, run as an operator runs it.
    def issue_report(*args):
        return preloaded_python().run(
            ["manage.py", "issue_report", *args], env=child_env(), cwd=settings.BASE_DIR
        )

    done = issue_report(f"{issue.newsletter.slug}/{issue.slug}", "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert {k: report[k] for k in ("issue", "sent", "unsubscribed", "machine_clicks")} == {
        "issue": issue.pk,
        "sent": READERS + 4,
        "unsubscribed": 3,
        "machine_clicks": 11,
    }
    assert [(link["clicks"], link["unique"]) for link in report["links"][:3]] == [
        (40, 30),
        (10, 10),
        (1, 1),
    ]
    assert report["links"][0]["url"] == f"{targets.url}/paper/0?from=mail&kind=pdf"
    out = io.StringIO()
    call_command("issue_report", str(issue.pk), stdout=out)
    text = out.getvalue()
    assert re.search(r"Unsubscribed through this issue +3\n", text) and "73.2%" in text
    wrong = issue_report(f"{issue.newsletter.slug}/no-such-issue")
    assert wrong.returncode == 1 and "No issue" in wrong.stderr

    # The publisher finds the report from the delivery page.
    client.force_login(get_user_model().objects.get(username="pub"))
    delivery = client.get(f"/admin/issues/issue/{issue.pk}/delivery/").text
    assert f'href="{base}"' in delivery

    for device, viewport in VIEWPORTS.items():
        look_at_the_report_and_the_dashboard(
            browser, site.url, issue, device, viewport, artifacts_dir
        )


def look_at_the_report_and_the_dashboard(browser, base_url, issue, device, viewport, artifacts):
    """The editor's way in Chromium: issue page → Report → dashboard; screenshots of each."""
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    try:
        log_into_admin(page, base_url, "editor", STAFF_PASSWORD)
        page.goto(f"{base_url}/admin/issues/issue/{issue.pk}/change/")
        report_link = page.locator(".object-tools a", has_text="Report").first
        if device == "phone":  # the issue page's live preview panel covers its tools there
            page.goto(base_url + report_link.get_attribute("href"))
        else:
            report_link.click()
        page.wait_for_url(f"**/admin/issues/issue/{issue.pk}/engagement/")
        assert page.locator("#figure-human-clicks").inner_text() == "51"
        fits_the_screen(page, viewport)
        page.screenshot(path=artifacts / f"report-{device}.png", full_page=True)
        assert_accessible(page, f"report ({device})")
        # The click map is a frame of its own: brought into view, it is drawn.
        frame = page.frame_locator("#click-map")
        badge = frame.locator(".clickmap-badge").first.inner_text()
        assert badge == "73.2% · 30 readers · 40 clicks"
        page.locator("#click-map").scroll_into_view_if_needed()
        page.wait_for_timeout(1000)  # a frame of another origin is painted once in view
        page.screenshot(path=artifacts / f"report-click-map-{device}.png")

        page.get_by_role("link", name=re.compile("dashboard")).click()
        page.wait_for_url("**/dashboard/")
        assert page.locator("svg.chart:visible").count() == 3  # one width of each chart
        fits_the_screen(page, viewport)
        page.screenshot(path=artifacts / f"dashboard-{device}.png", full_page=True)
        assert_accessible(page, f"dashboard ({device})")
    finally:
        context.close()


def fits_the_screen(page, viewport):
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= viewport["width"], f"{width}px wide on a {viewport['width']}px screen"


def assert_accessible(page, name):
    """axe-core in light and dark mode, once the admin's links finished changing colour
    (they fade over 0.15 s: read at once, a link is between its two themes' colours)."""
    for scheme in ("light", "dark"):
        page.emulate_media(color_scheme=scheme)
        page.wait_for_timeout(400)
        found = serious_accessibility_violations(page)
        assert not found, f"{name} ({scheme}): " + json.dumps(found, indent=1)
    page.emulate_media(color_scheme="light")
