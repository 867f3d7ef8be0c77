"""Markers for per-recipient values in a frozen email, written only by the renderer.

Each render names its markers with a random key (``%%UNSUBSCRIBE_URL.3f9c…%%``), stored on the
snapshot and never shown to anyone: content (Markdown, link and image URLs, alt text, the
subject) cannot guess it, so whatever an editor types stays literal text and no recipient's
link can be steered into it. They are plain ASCII that HTML, CSS inlining and URL handling
leave alone, so they arrive in the snapshot exactly as written. Snapshots frozen before keys
existed have an empty key and the bare names.
"""

import secrets
from dataclasses import dataclass


def new_key() -> str:
    return secrets.token_hex(12)


def marker(name: str, key: str) -> str:
    return f"%%{name}.{key}%%" if key else f"%%{name}%%"


@dataclass(frozen=True)
class Markers:
    """The markers of one render: where the renderer wants each recipient's own links."""

    key: str

    @property
    def unsubscribe_url(self) -> str:
        return marker("UNSUBSCRIBE_URL", self.key)

    @property
    def preferences_url(self) -> str:
        return marker("PREFERENCES_URL", self.key)

    @property
    def reader(self) -> str:
        """The reader part of tracked links and the open pixel (``issues.engagement``)."""
        return marker("READER", self.key)

    @property
    def voter(self) -> str:
        """Who votes in a quiz through this email (``issues.engagement.quiz``): always
        substituted, tracking or not, since a vote is the reader's own act."""
        return marker("VOTER", self.key)

    @property
    def all(self) -> tuple[str, ...]:
        """The footer's consent links, which every email carries."""
        return (self.unsubscribe_url, self.preferences_url)

    @property
    def per_recipient(self) -> tuple[str, ...]:
        """Every marker the sender substitutes (the reader's only where links are tracked)."""
        return (*self.all, self.reader, self.voter)


VOTE_PREFIX = "/q/"  # a quiz vote's short path (reserved: no newsletter takes the slug ``q``)


def vote_url(site_url: str, markers: Markers, quiz: int, pick: int) -> str:
    """The email's link for "headline ``pick`` of the issue's ``quiz``-th quiz is the lie":
    the voter's signed part is a marker the sender substitutes, then the two numbers."""
    return f"{site_url}{VOTE_PREFIX}{markers.voter}.{quiz}.{pick}/"


def web_vote_path(issue_id: int, quiz: int) -> str:
    """Where the web page's quiz form posts: anonymous visitors' votes, counted apart."""
    return f"{VOTE_PREFIX}web/{issue_id}.{quiz}/"
