"""Content (newsletters, issues, blocks, snapshots) and delivery (dispatches, deliveries)."""

from .content import Autosave, Block, Issue, LibraryBlock, Newsletter, Revision, Snapshot
from .delivery import Delivery, Dispatch
from .sequences import SequenceStep, WelcomeSequence

__all__ = [
    "Autosave",
    "Block",
    "Delivery",
    "Dispatch",
    "Issue",
    "LibraryBlock",
    "Newsletter",
    "Revision",
    "SequenceStep",
    "Snapshot",
    "WelcomeSequence",
]
