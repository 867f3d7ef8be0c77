"""Production system checks: with DEBUG off, each unsafe or missing variable is an error.

They run with every management command that checks (``check --deploy``, ``migrate``, which
the web container runs before gunicorn, ``runserver``) and when the WSGI application loads
(gunicorn runs no checks itself). Each message names the environment variable to set.
"""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .webhooks import configured_esp, missing_webhook_variables

TAG = "production"
MIN_SECRET_KEY_LENGTH = 50
# Caches that live inside one process: every web process would count limits on its own.
UNSHARED_CACHES = {
    "django.core.cache.backends.locmem.LocMemCache",
    "django.core.cache.backends.dummy.DummyCache",
}


def development_secret_key() -> str | None:
    path = settings.VAR_DIR / settings.DEVELOPMENT_SECRET_KEY_FILE
    return path.read_text().strip() if path.exists() else None


@checks.register(TAG)
def check_secret_key(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    try:
        key = settings.SECRET_KEY
    except ImproperlyConfigured:  # Django refuses to hand out an empty key
        key = ""
    if len(key) < MIN_SECRET_KEY_LENGTH or key.startswith("django-insecure"):
        problem = "is not set" if not key else "is too short or a placeholder"
    elif key == development_secret_key():
        problem = "is this checkout's development key (kept in a file under VAR_DIR)"
    else:
        return []
    return [
        checks.Error(
            f"SECRET_KEY {problem}: anyone who knows it forges every signed link "
            "(unsubscribe, preferences, data download and erasure).",
            hint="Set SECRET_KEY to a random string of at least "
            f"{MIN_SECRET_KEY_LENGTH} characters: "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(50))'",
            id="superfast.E001",
        )
    ]


@checks.register(TAG)
def check_allowed_hosts(app_configs=None, **kwargs):
    if settings.DEBUG or settings.ALLOWED_HOSTS:
        return []
    return [
        checks.Error(
            "ALLOWED_HOSTS is not set: the site would answer no request.",
            hint="Set ALLOWED_HOSTS to the site's host names, comma-separated.",
            id="superfast.E002",
        )
    ]


@checks.register(TAG)
def check_webhook_secrets(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    return [
        checks.Error(
            f"{variable} is not set while the {configured_esp()} tracking webhook is "
            "mounted: anyone could post forged bounces and unsubscribes.",
            hint=f"Set {variable} and give the same value to the ESP.",
            id="superfast.E003",
        )
        for variable in missing_webhook_variables()
    ]


@checks.register(TAG)
def check_shared_cache(app_configs=None, **kwargs):
    if settings.DEBUG or settings.CACHES["default"]["BACKEND"] not in UNSHARED_CACHES:
        return []
    return [
        checks.Error(
            "REDIS_URL is not set: the cache is per process, so every rate limit would be "
            "multiplied by the number of web processes.",
            hint="Set REDIS_URL to a Redis database all web processes share.",
            id="superfast.E004",
        )
    ]


def refuse_to_start_when_misconfigured() -> None:
    """Raise, naming each variable, when a production check fails (for gunicorn's start)."""
    if settings.DEBUG:
        return
    errors = [m for m in checks.run_checks(tags=[TAG]) if m.is_serious()]
    if errors:
        raise ImproperlyConfigured(
            "Refusing to start:\n" + "\n".join(f"{e.msg} {e.hint}" for e in errors)
        )
