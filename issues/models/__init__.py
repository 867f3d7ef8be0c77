"""Content (newsletters, issues, blocks, snapshots) and delivery (dispatches, deliveries)."""

from .content import Issue, Newsletter, Snapshot
from .delivery import Delivery, Dispatch

__all__ = ["Issue", "Newsletter", "Snapshot"]
__all__ += ["Delivery", "Dispatch"]
