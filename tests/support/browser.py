"""Headless Debian Chromium driven by Playwright, as the tests' real browser."""

from contextlib import contextmanager
from pathlib import Path

from django.conf import settings

# axe-core from npm (`make test` installs it), the accessibility checks' auditor.
AXE = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@contextmanager
def chromium():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def serious_accessibility_violations(page, nodes=5):
    """axe-core's serious and critical findings on the page as it is now (the first
    ``nodes`` places of each; None: all)."""
    assert AXE.exists(), f"{AXE} is missing: `make test` runs npm install"
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        # Evaluated, not added as a <script>: the site's Content-Security-Policy rightly
        # refuses inline scripts, and the auditor is the test's, not the page's.
        page.evaluate(AXE.read_text() + "\n;undefined")
    violations = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
    )
    return [
        {
            "id": v["id"],
            "impact": v["impact"],
            "nodes": [n["target"] for n in v["nodes"]][:nodes],
        }
        for v in violations
        if v["impact"] in ("serious", "critical")
    ]
