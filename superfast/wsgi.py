"""WSGI entry point: ``gunicorn superfast.wsgi``."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "superfast.settings")

application = get_wsgi_application()

# Gunicorn runs no system checks: with DEBUG off, a missing secret stops the start here.
from superfast.checks import refuse_to_start_when_misconfigured  # noqa: E402

refuse_to_start_when_misconfigured()
