"""The admin over every part of the flow: issues, library, newsletters, sending, reports,
redirects.

Importing the package registers every ModelAdmin with the admin site (Django's autodiscover
imports ``issues.admin``).
"""

from . import issues, library, moving_in, newsletters, redirects, sequences  # noqa: F401  (registers)
