"""Content (newsletters, issues, blocks, snapshots) and delivery (dispatches, deliveries)."""

from .content import Block, Issue, LibraryBlock, Newsletter, Snapshot

__all__ = ["Block", "Issue", "LibraryBlock", "Newsletter", "Snapshot"]
