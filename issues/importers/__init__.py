"""Bringing content in from elsewhere: other platforms' exports, pasted drafts, fetched pages."""
