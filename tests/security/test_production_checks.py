"""Production refuses to start without its secrets: `check --deploy` names each variable.

Each case runs ``manage.py`` (or imports the WSGI application, as gunicorn does) in a child
process with the production environment, so settings are read exactly as at start. The
children are forked from one that has imported the libraries and nothing of the project
(``tests.support.preloaded``): the same reading of the settings at half the cost.
"""

import pytest

from tests.support.preloaded import preloaded_python
from tests.support.processes import ROOT

pytestmark = pytest.mark.slow  # each test starts Django processes in production mode

PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "p" * 20 + "-a-long-random-production-secret-value-0123456789",
    "ALLOWED_HOSTS": "news.example.org",
    "SITE_URL": "https://news.example.org",
    "DEFAULT_FROM_EMAIL": "The Weekly <weekly@news.example.org>",
    "POSTAL_ADDRESS": "The Weekly, 1 Example Street, 10115 Berlin, Germany",
    "DATABASE_URL": "postgres://postgres@127.0.0.1:5432/superfast",
    "REDIS_URL": "redis://127.0.0.1:6379/6",
    "EMAIL_BACKEND": "anymail.backends.postmark.EmailBackend",
    "ANYMAIL_POSTMARK_SERVER_TOKEN": "postmark-server-token",
    "ANYMAIL_WEBHOOK_SECRET": "esp:a-long-random-webhook-secret",
    "CELERY_BROKER_URL": "amqp://superfast:secret@127.0.0.1:5672/superfast",
    "MEDIA_ROOT": "/srv/superfast/media",
    "PRIVATE_ROOT": "/srv/superfast/private",
    "PATH": "/usr/bin:/bin",
    "DJANGO_SETTINGS_MODULE": "superfast.settings",
}


def run(args, **env):
    environment = {**PRODUCTION, **env}
    environment = {key: value for key, value in environment.items() if value is not None}
    return preloaded_python().run(args, env=environment, cwd=ROOT)


def setting_in_child(name, **env):
    """A setting's value as a process started with ``env`` reads it."""
    result = run(
        ["-c", "import django; django.setup(); from django.conf import settings; "
         f"print(settings.{name})"],
        **env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


def check_deploy(**env):
    return run(["manage.py", "check", "--deploy", "--fail-level", "WARNING"], **env)


def test_check_deploy_is_clean_when_every_required_secret_is_set():
    result = check_deploy()
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_check_deploy_is_clean_with_smtp_and_no_webhook_mounted():
    result = check_deploy(
        EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        ANYMAIL_POSTMARK_SERVER_TOKEN=None,
        ANYMAIL_WEBHOOK_SECRET=None,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize(
    ("variable", "env"),
    [
        # Mail with links to a plain-http site, or from a domain no mailbox provider can
        # check (SPF, DKIM, DMARC), is mail that breaks or goes to spam.
        ("SITE_URL", {"SITE_URL": "http://news.example.org"}),
        ("SITE_URL", {"SITE_URL": None}),
        ("DEFAULT_FROM_EMAIL", {"DEFAULT_FROM_EMAIL": None}),
        ("DEFAULT_FROM_EMAIL", {"DEFAULT_FROM_EMAIL": "Weekly <newsletter@localhost>"}),
        ("DEFAULT_FROM_EMAIL", {"DEFAULT_FROM_EMAIL": "newsletter@mailhost"}),
        ("DEFAULT_FROM_EMAIL", {"DEFAULT_FROM_EMAIL": "newsletter@192.0.2.7"}),
        ("DEFAULT_FROM_EMAIL", {"DEFAULT_FROM_EMAIL": "newsletter@[192.0.2.7]"}),
        ("BOUNCE_DOMAIN", {"BOUNCE_DOMAIN": "localhost"}),
        ("POSTAL_ADDRESS", {"POSTAL_ADDRESS": None}),
        (
            "UNSUBSCRIBE_INBOUND",
            {
                "UNSUBSCRIBE_INBOUND": "1",
                "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
            },
        ),
        ("DKIM_PRIVATE_KEY_FILE", {"DKIM_DOMAIN": "news.example.org", "DKIM_SELECTOR": "s1"}),
        (
            "DKIM_PRIVATE_KEY_FILE",
            {
                "DKIM_DOMAIN": "news.example.org",
                "DKIM_SELECTOR": "s1",
                "DKIM_PRIVATE_KEY_FILE": "/nonexistent/dkim.pem",
            },
        ),
        ("ANYMAIL_WEBHOOK_SECRET", {"ANYMAIL_WEBHOOK_SECRET": None}),
        ("REDIS_URL", {"REDIS_URL": None}),
        ("SECRET_KEY", {"SECRET_KEY": None}),
        ("SECRET_KEY", {"SECRET_KEY": "short"}),
        ("SECRET_KEY", {"SECRET_KEY": "django-insecure-" + "x" * 50}),
        ("ALLOWED_HOSTS", {"ALLOWED_HOSTS": None}),
        ("FETCH_ALLOW_LOOPBACK", {"FETCH_ALLOW_LOOPBACK": "1"}),
        (
            "ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY",
            {
                "EMAIL_BACKEND": "anymail.backends.mailgun.EmailBackend",
                "ANYMAIL_POSTMARK_SERVER_TOKEN": None,
                "ANYMAIL_MAILGUN_API_KEY": "mailgun-api-key",
            },
        ),
        (
            "ANYMAIL_SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY",
            {
                "EMAIL_BACKEND": "anymail.backends.sendgrid.EmailBackend",
                "ANYMAIL_POSTMARK_SERVER_TOKEN": None,
                "ANYMAIL_SENDGRID_API_KEY": "sendgrid-api-key",
            },
        ),
    ],
)
def test_check_deploy_names_each_missing_production_variable(variable, env):
    result = check_deploy(**env)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "SystemCheckError" in output, output
    assert variable in output


def test_production_is_clean_with_uploads_in_a_bucket_and_keeps_nothing_under_var_dir(tmp_path):
    """Uploads in S3 and a broker, cache and mail server elsewhere: nothing needs VAR_DIR."""
    var_dir = tmp_path / "var"
    result = check_deploy(
        MEDIA_ROOT=None,
        PRIVATE_ROOT=None,
        VAR_DIR=str(var_dir),
        STORAGE_BACKEND="storages.backends.s3.S3Storage",
        STORAGE_BUCKET="superfast-media",
        PRIVATE_STORAGE_BACKEND="storages.backends.s3.S3Storage",
        PRIVATE_STORAGE_BUCKET="superfast-private-lists",
        CELERY_BROKER_URL="redis://127.0.0.1:6379/5",
        SEND_RATE_PER_SECOND="50",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert not var_dir.exists()


def test_check_deploy_names_each_variable_that_would_keep_state_in_local_files():
    """Workers on several machines share only the services: a file under VAR_DIR (the
    embedded broker, the development mailbox, uploads, the send rate's schedule) would be
    one machine's alone."""
    result = check_deploy(
        CELERY_BROKER_URL="filesystem://",
        EMAIL_BACKEND=None,
        ANYMAIL_POSTMARK_SERVER_TOKEN=None,
        ANYMAIL_WEBHOOK_SECRET=None,
        VAR_DIR="/srv/superfast/var",
        MEDIA_ROOT="/srv/superfast/var/media",
        PRIVATE_ROOT="/srv/superfast/var/private",
        REDIS_URL=None,
        SEND_RATE_PER_SECOND="50",
    )
    assert result.returncode != 0
    errors = [line for line in result.stderr.splitlines() if "superfast.E00" in line]
    named = {line.split(") ", 1)[1].split()[0] for line in errors}
    assert named == {
        "CELERY_BROKER_URL",
        "EMAIL_BACKEND",
        "MEDIA_ROOT",
        "PRIVATE_ROOT",
        "REDIS_URL",
    }, errors
    assert "send rate" in result.stderr
    # Unset, the broker is the embedded one too.
    assert "CELERY_BROKER_URL" in check_deploy(CELERY_BROKER_URL=None).stderr


def test_the_development_key_of_this_checkout_is_refused_in_production(tmp_path):
    """A key that sits in a file under var/ is not a secret, whatever its length."""
    key = setting_in_child("SECRET_KEY", DEBUG="1", VAR_DIR=str(tmp_path), SECRET_KEY=None)
    assert len(key) >= 50
    result = check_deploy(SECRET_KEY=key, VAR_DIR=str(tmp_path))
    assert result.returncode != 0 and "SECRET_KEY" in result.stdout + result.stderr


def test_gunicorn_refuses_to_load_the_application_with_a_local_sender_or_plain_http():
    """The start-up refusal names the sender and the site address, each with its fix."""
    result = run(
        ["-c", "import superfast.wsgi"],
        SITE_URL="http://news.example.org",
        DEFAULT_FROM_EMAIL="Superfast <newsletter@localhost>",
    )
    assert result.returncode != 0
    assert "SITE_URL" in result.stderr and "https" in result.stderr
    assert "DEFAULT_FROM_EMAIL" in result.stderr and "localhost" in result.stderr


def test_gunicorn_refuses_to_load_the_application_without_the_webhook_secret():
    """Gunicorn runs no system checks: loading the WSGI application runs them itself."""
    result = run(["-c", "import superfast.wsgi"], ANYMAIL_WEBHOOK_SECRET=None)
    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET" in result.stderr


def test_a_worker_refuses_to_start_without_the_webhook_secret():
    """Celery runs the system checks at start but ignores their errors; ours stop it."""
    result = run(
        ["-m", "celery", "-A", "superfast", "worker", "--pool=solo", "--loglevel=INFO"],
        ANYMAIL_WEBHOOK_SECRET=None,
        CELERY_BROKER_URL="redis://127.0.0.1:6379/5",
    )
    assert result.returncode != 0
    assert "ANYMAIL_WEBHOOK_SECRET" in result.stdout + result.stderr


def test_debug_is_off_unless_asked_for():
    assert setting_in_child("DEBUG", DEBUG=None) == "False"


def test_development_key_is_random_per_checkout_and_kept_under_var(tmp_path):
    def key_in(var_dir):
        return setting_in_child("SECRET_KEY", DEBUG="1", VAR_DIR=str(var_dir), SECRET_KEY=None)

    first = key_in(tmp_path / "one")
    assert key_in(tmp_path / "one") == first  # kept between runs
    assert key_in(tmp_path / "two") != first  # another checkout, another key
    source = (ROOT / "superfast" / "settings.py").read_text()
    assert first not in source


def test_forwarded_proto_is_trusted_only_when_configured():
    """Without a proxy that sets it, X-Forwarded-Proto is the client's word: not trusted."""
    probe = (
        "import django; django.setup(); from django.test import Client; "
        "r = Client(HTTP_HOST='news.example.org').get('/robots.txt', "
        "HTTP_X_FORWARDED_PROTO='https'); print('STATUS', r.status_code)"
    )
    plain = run(["-c", probe], SECURE_SSL_REDIRECT="1")
    assert plain.stdout.strip().splitlines()[-1] == "STATUS 301", plain.stderr
    behind_proxy = run(
        ["-c", probe], SECURE_SSL_REDIRECT="1", SECURE_PROXY_SSL_HEADER="X-Forwarded-Proto"
    )
    assert behind_proxy.stdout.strip().splitlines()[-1] == "STATUS 200", behind_proxy.stderr
