"""The email's colours are readable (WCAG AA, 4.5:1) in dark mode and light, whatever the brand.

The ratios are computed from the CSS of the rendered email itself: the dark-mode rules that
mail clients apply, against the dark backgrounds those rules set.
"""

import re

import pytest

from issues.compose.rendering import render_issue
from superfast.contrast import contrast
from tests.support.composing import add_block, styled_elements

AA = 4.5


def css_rules(css: str) -> list[tuple[str, dict]]:
    """(selector, {property: value}) of each rule, values without ``!important``."""
    rules = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        declarations = {}
        for declaration in body.split(";"):
            if ":" in declaration:
                name, value = declaration.split(":", 1)
                declarations[name.strip()] = value.replace("!important", "").strip().lower()
        rules.append((" ".join(selector.split()), declarations))
    return rules


def dark_mode_css(email_html: str) -> str:
    start = email_html.index("@media (prefers-color-scheme: dark)")
    block = email_html[email_html.index("{", start) + 1 :]
    depth = 1
    for position, char in enumerate(block):
        depth += {"{": 1, "}": -1}.get(char, 0)
        if depth == 0:
            return block[:position]
    raise AssertionError("the dark-mode block is not closed")


@pytest.mark.parametrize("brand", ["#5b3cc4", "#1b1464", "#1a73e8", "#ffd54f"])
def test_dark_mode_text_and_links_meet_wcag_aa(issue, brand):
    issue.newsletter.brand_color = brand
    issue.newsletter.save()
    add_block(issue, "markdown", {"body": "Read [the paper](https://p.example/)."})
    add_block(issue, "callout", {"style": "note", "text": "A [linked](https://c.example/) note"})
    add_block(issue, "button", {"label": "Join", "url": "https://j.example/"})
    email_html = render_issue(issue).email_html
    rules = css_rules(dark_mode_css(email_html))

    backgrounds = {d["background-color"] for _, d in rules if "background-color" in d}
    assert backgrounds, "dark mode sets its backgrounds"
    colours = {sel: d["color"] for sel, d in rules if "color" in d}
    assert any(re.fullmatch(r"(.*,\s*)?a", sel) for sel in colours), "dark mode colours links"
    button_text = next(c for sel, c in colours.items() if "sf-button-link" in sel)
    text_colours = {c for sel, c in colours.items() if "sf-button-link" not in sel}
    for colour in text_colours:
        for background in backgrounds:
            ratio = contrast(colour, background)
            assert ratio >= AA, f"{colour} on {background}: {ratio:.2f}:1 (brand {brand})"
    # The button keeps the brand colour as its background; its text must read on it.
    assert contrast(button_text, brand) >= AA


@pytest.mark.parametrize("brand", ["#ffd54f", "#7fb3ff"])
def test_light_mode_links_stay_readable_with_a_pale_brand_colour(issue, brand):
    issue.newsletter.brand_color = brand
    issue.newsletter.save()
    add_block(issue, "markdown", {"body": "Read [the paper](https://p.example/)."})
    email_html = render_issue(issue).email_html
    link = re.search(
        r'<a href="https://p.example/"[^>]*style="[^"]*color: (#[0-9a-f]{6})', email_html
    )
    assert contrast(link.group(1), "#fdfdfb") >= AA


def coloured_elements(email_html: str) -> list[tuple[str, dict]]:
    """(tag, attributes and inline style in one dict) of every element below ``<body>``
    that sets a background colour (its ``bgcolor`` attribute or its inline style)."""
    return [
        (tag, {**attributes, **style})
        for tag, attributes, style in styled_elements(email_html)
        if tag != "body" and ("background-color" in style or "bgcolor" in attributes)
    ]


def inverted(colour: str) -> str:
    """The colour a client's forced dark mode paints for ``colour`` (a full inversion)."""
    return "#" + "".join(f"{255 - int(colour[i : i + 2], 16):02x}" for i in (1, 3, 5))


@pytest.mark.parametrize("brand", ["#ffd54f"])  # pale: its inversion is the darkest
def test_every_coloured_box_reads_when_a_client_inverts_it_for_dark_mode(newsletter, brand):
    """Gmail, Outlook for Windows and Yahoo ignore prefers-color-scheme and invert light
    colours themselves, element by element. Every box that paints a background paints its
    own text colour too (so both are inverted together, never an inherited dark text on an
    inverted box), tables carry ``bgcolor`` (what Outlook for Windows inverts), and each pair
    reads (AA) as sent and inverted."""
    from tests.support.composing import add_seed_shaped_blocks
    from tests.support.factories import make_issue

    newsletter.brand_color = brand
    newsletter.save()
    issue = make_issue(newsletter, "Inverted")
    add_seed_shaped_blocks(issue)
    email_html = render_issue(issue).email_html

    boxes = coloured_elements(email_html)
    assert {"sf-outer", "sf-body", "sf-callout", "sf-quiz", "sf-sponsor", "sf-button-cell"} <= {
        box.get("class") for _, box in boxes
    }
    for tag, box in boxes:
        if tag == "table":
            assert "bgcolor" in box, f"table {box.get('class')} has no bgcolor"
            continue
        assert "color" in box, f"{tag}.{box.get('class')} paints a background but no text colour"
        text, background = box["color"], box.get("background-color") or box["bgcolor"]
        for pair in ((text, background), (inverted(text), inverted(background))):
            assert contrast(*pair) >= AA, f"{tag}.{box.get('class')}: {pair}"
