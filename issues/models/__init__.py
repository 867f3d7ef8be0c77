"""Content (newsletters, issues, blocks, snapshots), delivery (dispatches, deliveries) and
engagement (link tables, clicks, opens)."""

from .content import Autosave, Block, Issue, LibraryBlock, Newsletter, Revision, Snapshot
from .delivery import Delivery, DeliveryTally, Dispatch
from .engagement import (
    KNOWN_READER,
    LATE_READER,
    Click,
    IssueSalt,
    MachineReason,
    Open,
    QuizVote,
    TrackedLink,
)
from .imports import ImportedPost, PlatformImport
from .previews import LinkPreview
from .redirects import Redirect
from .sequences import SequenceStep, WelcomeSequence
from .subject_tests import SubjectTest

__all__ = [
    "Autosave",
    "Block",
    "Click",
    "Delivery",
    "DeliveryTally",
    "Dispatch",
    "ImportedPost",
    "PlatformImport",
    "Issue",
    "IssueSalt",
    "KNOWN_READER",
    "LATE_READER",
    "LibraryBlock",
    "LinkPreview",
    "MachineReason",
    "Open",
    "Newsletter",
    "QuizVote",
    "Redirect",
    "Revision",
    "SequenceStep",
    "Snapshot",
    "SubjectTest",
    "TrackedLink",
    "WelcomeSequence",
]
