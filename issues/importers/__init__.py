"""Bringing content in from elsewhere: another platform's export read into issues and
subscribers, the one HTML → blocks converter that the paste in the editor reuses, and the
one server-side fetcher (pasted links, remote images).

A layer above ``archive`` (old addresses become redirects there) and below ``admin``.
"""
