"""Composing an issue: block kinds, their form fields and widgets, the editor's forms, rendering."""
