"""Production mode refuses to start on malformed configuration, naming the variable.

Missing secrets are the production system checks' job: tests/security/test_production_checks.py.
"""

import pytest

from tests.support.preloaded import preloaded_python
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow  # each test starts a Django process

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "k" * 20 + "-a-long-random-production-secret-value-0123456789",
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "DEFAULT_FROM_EMAIL": "The Weekly <weekly@news.example.org>",
    "POSTAL_ADDRESS": "The Weekly, 1 Example Street, 10115 Berlin, Germany",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/superfast",
    "REDIS_URL": "redis://127.0.0.1:6379/6",
    "CELERY_BROKER_URL": "amqp://superfast:secret@127.0.0.1:5672/superfast",
    "MEDIA_ROOT": "/srv/superfast/media",
    "PRIVATE_ROOT": "/srv/superfast/private",
    "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
    "PATH": "/usr/bin:/bin",
}


def manage(*args, **env):
    environment = {**PRODUCTION, **env}
    environment = {key: value for key, value in environment.items() if value is not None}
    return preloaded_python().run(["manage.py", *args], env=environment, cwd=ROOT, timeout=60)


def test_check_deploy_reports_nothing_in_production_mode():
    result = manage("check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_URL", None),
        ("DATABASE_URL", "nonsense"),
        ("DATABASE_URL", "mongodb://db/x"),
        ("SITE_URL", "news.example.org"),
        ("DEBUG", "maybe"),
    ],
)
def test_bad_production_setting_stops_the_start_naming_the_variable(variable, value):
    result = manage("check", **{variable: value})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert variable in result.stderr.strip().splitlines()[-1]


def test_development_mode_needs_no_configuration():
    result = manage(
        "check", DEBUG="1", SECRET_KEY=None, DATABASE_URL=None, ALLOWED_HOSTS=None, REDIS_URL=None
    )
    assert result.returncode == 0, result.stderr
