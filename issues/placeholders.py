"""Markers for per-recipient values in a frozen email.

The renderer writes these into the snapshot's email HTML and text once per issue; the sender
replaces them for each recipient. They are plain ASCII with no characters that HTML, CSS
inlining or URL handling would escape, so they arrive in the snapshot exactly as written.
"""

UNSUBSCRIBE_URL = "%%UNSUBSCRIBE_URL%%"
PREFERENCES_URL = "%%PREFERENCES_URL%%"
SUBSCRIBER_NAME = "%%SUBSCRIBER_NAME%%"  # HTML-escaped in the HTML part when substituted
SUBSCRIBER_EMAIL = "%%SUBSCRIBER_EMAIL%%"

ALL = (UNSUBSCRIBE_URL, PREFERENCES_URL, SUBSCRIBER_NAME, SUBSCRIBER_EMAIL)
