"""Content (newsletters, issues, blocks, snapshots) and delivery (dispatches, deliveries)."""

from .content import Autosave, Block, Issue, LibraryBlock, Newsletter, Revision, Snapshot
from .delivery import Delivery, DeliveryTally, Dispatch

__all__ = [
    "Autosave",
    "Block",
    "Delivery",
    "DeliveryTally",
    "Dispatch",
    "Issue",
    "LibraryBlock",
    "Newsletter",
    "Revision",
    "Snapshot",
]
