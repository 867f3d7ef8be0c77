"""Kept for migration 0003, which imports the search document from this path."""

from .archive.search import search_config, snapshot_document

__all__ = ["search_config", "snapshot_document"]
