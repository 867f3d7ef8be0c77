"""Content (newsletters, issues, blocks, snapshots) and delivery (dispatches, deliveries)."""

from .content import Block, Issue, LibraryBlock, Newsletter, Snapshot
from .delivery import Delivery, Dispatch

__all__ = ["Block", "Delivery", "Dispatch", "Issue", "LibraryBlock", "Newsletter", "Snapshot"]
