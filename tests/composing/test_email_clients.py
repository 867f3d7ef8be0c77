"""The email of an issue with every block kind, checked against caniemail's data.

`@jsx-email/doiuse-email` (npm, `make test` installs it) reads the HTML as Gmail, Outlook,
Apple Mail and Yahoo would, on every platform caniemail lists for them, and names each
element, attribute and CSS feature one of them does not support at all. Those fail here
unless ``email_client_allowlist.txt`` keeps the feature on purpose, with a one-line reason (a
progressive enhancement whose absence leaves the email readable). One node run checks the
whole email: starting node costs more than the check.
"""

import json
import subprocess
from pathlib import Path

from django.conf import settings

from issues.compose.examples import example_email
from issues.compose.rendering import render_issue
from tests.support.composing import add_seed_shaped_blocks, styled_elements
from tests.support.factories import make_issue

HERE = Path(__file__).parent
CHECKER = Path(settings.BASE_DIR) / "tests" / "support" / "caniemail.cjs"
ALLOWLIST = HERE / "email_client_allowlist.txt"
PACKAGE = Path(settings.BASE_DIR) / "node_modules" / "@jsx-email" / "doiuse-email"


def caniemail(html: str) -> dict:
    assert PACKAGE.exists(), f"{PACKAGE} is missing: `make test` runs npm install"
    result = subprocess.run(
        ["node", str(CHECKER), str(ALLOWLIST)],
        input=html,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=settings.BASE_DIR,
        check=True,
    )
    return json.loads(result.stdout)


def test_every_block_kind_in_the_email_works_in_the_major_mail_clients(newsletter):
    issue = make_issue(newsletter, "Every kind", preheader="All the blocks at once.")
    add_seed_shaped_blocks(issue)
    kinds = set(issue.blocks.values_list("kind", flat=True))
    assert {"callout", "quiz", "sponsor", "button", "image", "divider"} <= kinds
    email_html, _ = example_email(render_issue(issue))

    report = caniemail(email_html)

    assert report["errors"] == [], "\n".join(report["errors"])
    assert report["unused"] == [], "allow-list entries the email no longer needs"
    # caniemail's note on padding in Outlook for Windows ("only supported on table cells"),
    # which the checker does not apply by element: boxes are cells. Lists keep their indent
    # (Outlook draws its own).
    padded = [
        f"<{tag} class={attributes.get('class')}>"
        for tag, attributes, style in styled_elements(email_html)
        if tag not in {"body", "td", "ul", "ol"}
        and any(name.startswith("padding") and value != "0" for name, value in style.items())
    ]
    assert padded == [], "padding outside table cells"
