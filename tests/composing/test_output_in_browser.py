"""The demo issue as readers see it in a real browser, light and dark: the email and the web
page. Screenshots go to test-artifacts/ to be looked at; the checks are what a reader
would notice first."""

import pytest
from django.core.management import call_command

from issues.models import Issue
from superfast.contrast import contrast

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]

# Every visible piece of text: its colour against the colour behind it, as the browser
# computed them (buttons and images carry their own backgrounds).
TEXT_CONTRASTS = """() => {
  function rgb(text) {
    const [r, g, b, a] = text.match(/[\\d.]+/g).map(Number);
    return {hex: '#' + [r, g, b].map(v => v.toString(16).padStart(2, '0')).join(''), a: a};
  }
  function background(element) {
    for (let e = element; e; e = e.parentElement) {
      const colour = rgb(getComputedStyle(e).backgroundColor);
      if (colour.a === undefined || colour.a > 0) return colour.hex;
    }
    return '#ffffff';
  }
  const owners = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const parent = walker.currentNode.parentElement;
    if (walker.currentNode.textContent.trim() && parent && parent.getClientRects().length) {
      owners.add(parent);
    }
  }
  return Array.from(owners)
    .filter(e => getComputedStyle(e).visibility !== 'hidden' && getComputedStyle(e).opacity !== '0')
    .map(e => ({
      text: e.textContent.trim().slice(0, 40),
      tag: e.tagName.toLowerCase() + (e.className ? '.' + e.className : ''),
      colour: rgb(getComputedStyle(e).color).hex,
      background: background(e),
    }));
}"""


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_demo_issue_email_and_web_page_read_well(
    live_server, page, artifacts_dir, settings, scheme
):
    settings.SITE_URL = live_server.url
    settings.ARCHIVE_FRESHNESS_SECONDS = 0
    call_command("load_demo")
    issue = Issue.objects.get(status=Issue.Status.SENT)
    page.emulate_media(color_scheme=scheme)

    for channel, url in [
        ("email", None),
        ("web", f"{live_server.url}{issue.get_absolute_url()}"),
    ]:
        page.set_viewport_size({"width": 700 if channel == "email" else 1100, "height": 900})
        if url:
            page.goto(url)
            page.click("text=Reveal the lie")
            reveal = page.inner_html(".sf-reveal-text")
            assert "<strong>Number 2 is the lie.</strong>" in reveal
        else:
            page.set_content(issue.snapshot.email_html, wait_until="load")
        page.screenshot(path=artifacts_dir / f"demo-{channel}-{scheme}.png", full_page=True)
        broken = page.evaluate(
            "() => Array.from(document.images).filter(i => !i.complete || !i.naturalWidth)"
            ".map(i => i.src)"
        )
        assert not broken, broken
        low = [
            (text, round(contrast(text["colour"], text["background"]), 2))
            for text in page.evaluate(TEXT_CONTRASTS)
            if contrast(text["colour"], text["background"]) < 4.5
        ]
        assert not low, f"{channel} {scheme}: text below 4.5:1: {low}"
