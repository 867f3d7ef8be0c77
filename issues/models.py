"""Content: newsletters, issues and their blocks."""
