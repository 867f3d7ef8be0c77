"""Production system checks: with DEBUG off, each unsafe or missing variable is an error.

They run with every management command that checks (``check --deploy``, ``migrate``, which
the web container runs before gunicorn, ``runserver``) and when the WSGI application loads
(gunicorn runs no checks itself). Each message names the environment variable to set.
"""

from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured

from .dkim import key_problem
from .mail import domain_of, unusable_domain
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
            "multiplied by the number of web processes, and the send rate would be kept in a "
            "file under VAR_DIR, so every machine would send at the full rate.",
            hint="Set REDIS_URL to a Redis database all web and worker processes share.",
            id="superfast.E004",
        )
    ]


@checks.register(TAG)
def check_fetch_loopback(app_configs=None, **kwargs):
    if settings.DEBUG or not settings.FETCH_ALLOW_LOOPBACK:
        return []
    return [
        checks.Error(
            "FETCH_ALLOW_LOOPBACK is on: a link an editor pastes could make the server fetch "
            "its own loopback services (the admin, Redis, the database) on their behalf.",
            hint="Unset FETCH_ALLOW_LOOPBACK: it is for tests that serve pages on loopback.",
            id="superfast.E012",
        )
    ]


def sending_problems() -> list[tuple[str, str, str]]:
    """What would make production mail broken or unwelcome: (variable, what, how to fix)."""
    found = []
    if urlsplit(settings.SITE_URL).scheme != "https":
        found.append(
            (
                "SITE_URL",
                f"is {settings.SITE_URL}, not https: every unsubscribe, preferences and "
                "tracked link in mail would point there (mailbox providers require https "
                "for one-click unsubscribe)",
                "Set SITE_URL to the site's public https address, e.g. https://news.example.org.",
            )
        )
    sender_problem = unusable_domain(domain_of(settings.DEFAULT_FROM_EMAIL))
    if sender_problem:
        found.append(
            (
                "DEFAULT_FROM_EMAIL",
                f"({settings.DEFAULT_FROM_EMAIL}): its domain {sender_problem}, so receivers "
                "cannot check SPF, DKIM or DMARC and reject or bin the mail",
                'Set DEFAULT_FROM_EMAIL to "Name <address@your-domain>" on a domain you own.',
            )
        )
    bounce_problem = settings.BOUNCE_DOMAIN and unusable_domain(settings.BOUNCE_DOMAIN.lower())
    if bounce_problem:
        found.append(
            (
                "BOUNCE_DOMAIN",
                f"{bounce_problem}: bounces would never come back",
                "Set BOUNCE_DOMAIN to a domain with MX records, or leave it empty (the From "
                "address's domain).",
            )
        )
    if settings.UNSUBSCRIBE_INBOUND and configured_esp() is None:
        found.append(
            (
                "UNSUBSCRIBE_INBOUND",
                "is on, but EMAIL_BACKEND is no anymail ESP, so no inbound route receives "
                "mail to UNSUBSCRIBE_EMAIL: the mailto: unsubscribe every message offers "
                "would do nothing",
                "Turn UNSUBSCRIBE_INBOUND off, or send through an ESP and route mail to "
                "UNSUBSCRIBE_EMAIL to its inbound webhook (/anymail/<esp>/inbound/).",
            )
        )
    if not settings.POSTAL_ADDRESS.strip():
        found.append(
            (
                "POSTAL_ADDRESS",
                "is not set: the law (CAN-SPAM) requires a postal address in every footer",
                "Set POSTAL_ADDRESS to the sender's postal address (a newsletter may set its "
                "own on its admin page).",
            )
        )
    if settings.DKIM_DOMAIN or settings.DKIM_SELECTOR or settings.DKIM_PRIVATE_KEY_FILE:
        problem = key_problem()
        if problem:
            found.append(
                (
                    "DKIM_PRIVATE_KEY_FILE",
                    f"(with DKIM_DOMAIN and DKIM_SELECTOR): {problem}, so no message could be "
                    "signed",
                    "Set DKIM_DOMAIN, DKIM_SELECTOR and DKIM_PRIVATE_KEY_FILE (an RSA 2048 "
                    "key in PEM that the processes can read), or none of them.",
                )
            )
    return found


@checks.register(TAG)
def check_sending(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    return [
        checks.Error(f"{variable} {what}.", hint=fix, id="superfast.E007")
        for variable, what, fix in sending_problems()
    ]


def under_var_dir(path) -> bool:
    return Path(path).resolve().is_relative_to(Path(settings.VAR_DIR).resolve())


def local_file_state() -> list[tuple[str, str, str]]:
    """What production would keep in files of one machine: (variable, what, how to fix).

    Web, worker and beat processes on several machines share only PostgreSQL, the broker,
    Redis and the mail endpoint; a file under ``VAR_DIR`` is seen by one machine only.
    """
    found = []
    if settings.CELERY_BROKER_URL.startswith(("filesystem://", "sqla+sqlite:")):
        found.append(
            (
                "CELERY_BROKER_URL",
                "is an embedded broker (files under VAR_DIR): a worker on another machine "
                "would never see the tasks",
                "Set CELERY_BROKER_URL to redis://host:6379/0 or amqp://user:pass@host:5672/vhost.",
            )
        )
    if settings.EMAIL_BACKEND == "superfast.mail.EmlFileBackend":
        found.append(
            (
                "EMAIL_BACKEND",
                "is the development backend: mail would be written to files under VAR_DIR "
                "instead of sent",
                "Set EMAIL_BACKEND to django.core.mail.backends.smtp.EmailBackend (with "
                "EMAIL_HOST) or an anymail backend.",
            )
        )
    file_storage = settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage")
    if file_storage and under_var_dir(settings.MEDIA_ROOT):
        found.append(
            (
                "MEDIA_ROOT",
                "is under VAR_DIR: uploaded images (which workers read to render scheduled "
                "issues) would live on one machine's disk",
                "Set STORAGE_BACKEND=storages.backends.s3.S3Storage (and STORAGE_BUCKET), or "
                "MEDIA_ROOT to a volume every web and worker process mounts.",
            )
        )
    if folder_of(settings.STORAGES["private"]) is not None and under_var_dir(settings.PRIVATE_ROOT):
        found.append(
            (
                "PRIVATE_ROOT",
                "is under VAR_DIR: an uploaded subscriber list would be on the disk of the web "
                "process that took it, where the worker importing it cannot read it",
                "Set PRIVATE_ROOT to a volume every web and worker process mounts (never "
                "inside MEDIA_ROOT), or PRIVATE_STORAGE_BACKEND=storages.backends.s3.S3Storage "
                "with PRIVATE_STORAGE_BUCKET.",
            )
        )
    return found


def folder_of(storage: dict) -> Path | None:
    """The folder a FileSystemStorage configuration writes to (None for a bucket)."""
    if not storage["BACKEND"].endswith("FileSystemStorage"):
        return None
    return Path(storage.get("OPTIONS", {}).get("location") or settings.MEDIA_ROOT).resolve()


@checks.register(TAG)
def check_private_storage_is_not_served(app_configs=None, **kwargs):
    """Uploaded subscriber lists must never sit where public files are served from."""
    private, public = settings.STORAGES["private"], settings.STORAGES["default"]
    folder = folder_of(private)
    if folder is not None:
        served = [Path(settings.MEDIA_ROOT).resolve(), Path(settings.STATIC_ROOT).resolve()]
        exposed = any(folder.is_relative_to(root) for root in served)
    else:
        bucket = private.get("OPTIONS", {}).get("bucket_name")
        exposed = not bucket or bucket == public.get("OPTIONS", {}).get("bucket_name")
    if not exposed:
        return []
    return [
        checks.Error(
            "The private storage of uploaded subscriber lists is (inside) a public one: "
            "every address in a list being imported could be downloaded.",
            hint="Set PRIVATE_ROOT to a folder outside MEDIA_ROOT and STATIC_ROOT, or "
            "PRIVATE_STORAGE_BUCKET to a bucket of its own, not STORAGE_BUCKET.",
            id="superfast.E006",
        )
    ]


@checks.register(TAG)
def check_no_local_file_state(app_configs=None, **kwargs):
    if settings.DEBUG:
        return []
    return [
        checks.Error(
            f"{variable} {what}.",
            hint=fix + " Production keeps no state in local files.",
            id="superfast.E005",
        )
        for variable, what, fix in local_file_state()
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
