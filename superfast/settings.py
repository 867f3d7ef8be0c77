"""Superfast settings: one module, driven by environment variables.

``DEBUG`` is off unless asked for (``make demo`` and the test suite turn it on). With it on,
every other variable is optional and everything runs on embedded defaults under ``VAR_DIR``:
SQLite, a filesystem broker, a mailbox of .eml files, a random key kept in a file. With it
off, a malformed variable stops the process here, naming it, and the production system
checks (``superfast/checks.py``) refuse to start while a required one is missing.
"""

import os
import secrets
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=None):
    """Read a variable; an empty string counts as unset, so compose files can blank one."""
    value = os.environ.get(name, "")
    return value if value.strip() else default


def env_bool(name, default):
    value = env(name)
    if value is None:
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be 1/0, true/false, yes/no or on/off, not {value!r}.")


def env_number(name, default, cast, described):
    value = env(name)
    if value is None:
        return default
    try:
        return cast(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be {described}, not {value!r}.") from None


def env_int(name, default):
    return env_number(name, default, int, "a whole number")


def env_float(name, default):
    return env_number(name, default, float, "a number")


def env_list(name, default):
    value = env(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def development_secret_key(var_dir):
    """This checkout's own random key, made on first use and kept in ``VAR_DIR``.

    A key written in the repository would let anyone forge every signed link of every
    site that forgot to set ``SECRET_KEY``; a file under var/ (like the demo's admin
    password) is private to one checkout, and production refuses it (superfast.checks).
    """
    path = var_dir / DEVELOPMENT_SECRET_KEY_FILE
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        try:
            with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(secrets.token_urlsafe(50) + "\n")
        except FileExistsError:  # another process of this checkout made it first
            pass
    return path.read_text().strip()


DEVELOPMENT_SECRET_KEY_FILE = "secret-key.txt"
DEBUG = env_bool("DEBUG", False)
VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var"))).resolve()

# Production without SECRET_KEY gets none at all: signing then fails instead of using a
# guessable key, and the production checks name the variable at start.
SECRET_KEY = env("SECRET_KEY") or (development_secret_key(VAR_DIR) if DEBUG else "")

# Production without ALLOWED_HOSTS answers no host; the production checks name it.
ALLOWED_HOSTS = env_list(
    "ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"] if DEBUG else []
)

SITE_URL = env("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
if urlsplit(SITE_URL).scheme not in {"http", "https"} or not urlsplit(SITE_URL).netloc:
    raise ImproperlyConfigured(f"SITE_URL must be an absolute http(s) URL, not {SITE_URL!r}.")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [SITE_URL])
SITE_NAME = env("SITE_NAME", "")  # the public site's name; empty: its only newsletter's
# The site's icon (browser tabs, bookmarks): a URL or a path on the site, such as
# /static/brand/icon.png; empty: drawn from the first newsletter's brand colour and initial.
SITE_ICON = env("SITE_ICON", "")
# How long a web process may trust what it last read about a public issue page (0: never).
ARCHIVE_FRESHNESS_SECONDS = env_float("ARCHIVE_FRESHNESS_SECONDS", 1.0)
# Uploaded images (issues.images): at most this many frames, and this many pixels over all
# frames together; checking the largest accepted file costs well under 2 s of CPU
# (tests/security/test_image_costs.py). Django settings, not environment variables: raising
# them raises the CPU an upload may take in a web request, a choice made in code review.
IMAGE_MAX_FRAMES = 1000
IMAGE_MAX_PIXELS = 40_000_000

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.sitemaps",
    "django.contrib.postgres",
    "anymail",
    "superfast",
    "subscribers",
    "issues",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Compresses the pages everyone gets the same; never one with a visitor's secrets (BREACH).
    "superfast.middleware.PublicGZipMiddleware",
    # The click redirect and open pixel: the hot path, answered before sessions and users.
    "issues.engagement.middleware.TrackedLinkMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "superfast.middleware.ContentSecurityPolicyMiddleware",
    # Old public addresses (a changed slug, another platform's): only where a 404 answered.
    "issues.archive.redirects.RedirectFallbackMiddleware",
]

ROOT_URLCONF = "superfast.urls"
WSGI_APPLICATION = "superfast.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "issues.archive.context.site",
            ],
        },
    },
]

# Database: SQLite under VAR_DIR unless DATABASE_URL names another (postgres://...).
_database_url = env("DATABASE_URL")
if _database_url is None and not DEBUG:
    raise ImproperlyConfigured(
        "DATABASE_URL must be set when DEBUG is off (e.g. postgres://user:pass@host:5432/db). "
        'For the demo\'s database: make manage CMD="…" (or DEBUG=1 python manage.py …).'
    )
try:
    _database = dj_database_url.parse(
        _database_url or f"sqlite:///{VAR_DIR / 'superfast.sqlite3'}",
        conn_max_age=env_int("DATABASE_CONN_MAX_AGE", 60),
        conn_health_checks=True,
    )
except Exception as exc:  # dj_database_url raises several types for malformed URLs
    raise ImproperlyConfigured(f"DATABASE_URL is not a valid database URL: {exc}") from None
if not _database.get("ENGINE"):
    raise ImproperlyConfigured("DATABASE_URL names an unsupported database engine.")
if _database["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, for the test database too: worker processes started by tests
    # must see what the test wrote.
    _database["TEST"] = {"NAME": str(VAR_DIR / "test-superfast.sqlite3")}
    _database["OPTIONS"] = {"timeout": 20, "transaction_mode": "IMMEDIATE"}
    _database["CONN_MAX_AGE"] = 0
elif _database["ENGINE"] == "django.db.backends.postgresql":
    _database.setdefault("OPTIONS", {})["connect_timeout"] = env_int("DATABASE_CONNECT_TIMEOUT", 5)
    # No JIT compilation: it pays off for long analytic queries, not for ours. The set-based
    # statements of an import or a send plan look costly to the planner and were compiled
    # each time, a fifth of a second each, for statements that then ran in milliseconds.
    _database["OPTIONS"].setdefault("options", "-c jit=off")
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Cache: Redis when REDIS_URL is set (shared by every process: rate limits, page cache),
# else a per-process memory cache, enough for one development server.
REDIS_URL = env("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env("CACHE_KEY_PREFIX", "superfast"),
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = env("LANGUAGE_CODE", "en")
TIME_ZONE = env("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = Path(env("STATIC_ROOT", str(BASE_DIR / "staticfiles")))
MEDIA_URL = env("MEDIA_URL", "/media/")
MEDIA_ROOT = Path(env("MEDIA_ROOT", str(VAR_DIR / "media")))
# Uploads: local files by default; STORAGE_BACKEND=storages.backends.s3.S3Storage (install the
# `s3` extra) puts them in a bucket, configured by these variables alone (boto3 reads the
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY variables itself).
_FILE_SYSTEM_STORAGE = "django.core.files.storage.FileSystemStorage"


def bucket_options(bucket, **fixed):
    """The options of a bucket at the configured region and endpoint, ``fixed`` added; no
    bucket: {} (a folder)."""
    if not bucket:
        return {}
    place = {"region_name": env("STORAGE_REGION"), "endpoint_url": env("STORAGE_ENDPOINT_URL")}
    return {"bucket_name": bucket, **{k: v for k, v in place.items() if v}, **fixed}


_storage_options = bucket_options(env("STORAGE_BUCKET"), custom_domain=env("STORAGE_CUSTOM_DOMAIN"))
# Uploaded subscriber lists: a storage of their own that nothing serves, read by the worker
# that imports them, so every web and worker process must share it. A folder outside
# MEDIA_ROOT by default; PRIVATE_STORAGE_BACKEND=storages.backends.s3.S3Storage with
# PRIVATE_STORAGE_BUCKET puts them in a bucket of their own (same region and endpoint as
# STORAGE_BUCKET's), its objects private.
PRIVATE_ROOT = Path(env("PRIVATE_ROOT", str(VAR_DIR / "private")))
_private_options = bucket_options(env("PRIVATE_STORAGE_BUCKET"), default_acl="private")
STORAGES = {
    "default": {
        "BACKEND": env("STORAGE_BACKEND", _FILE_SYSTEM_STORAGE),
        **({"OPTIONS": _storage_options} if _storage_options else {}),
    },
    "private": {
        "BACKEND": env("PRIVATE_STORAGE_BACKEND", _FILE_SYSTEM_STORAGE),
        "OPTIONS": _private_options or {"location": str(PRIVATE_ROOT)},
    },
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Mail: .eml files under VAR_DIR/mail by default, so development never mails the internet.
EMAIL_BACKEND = env("EMAIL_BACKEND", "superfast.mail.EmlFileBackend")
EMAIL_FILE_PATH = str(VAR_DIR / "mail")
EMAIL_HOST = env("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25)
EMAIL_HOST_USER = env("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = env("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
DEFAULT_FROM_EMAIL = env("DEFAULT_FROM_EMAIL", "Superfast <newsletter@localhost>")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
# The envelope sender's (Return-Path) domain, where bounces go; empty: the From address's.
BOUNCE_DOMAIN = env("BOUNCE_DOMAIN", "")
# The postal address every footer shows (CAN-SPAM); a newsletter may set its own.
POSTAL_ADDRESS = env("POSTAL_ADDRESS", "")
# DKIM: every message is signed (superfast.dkim) when a domain, selector and key are set.
# The key is an RSA key (2048 bits) in PEM; an Ed25519 key adds a second signature.
DKIM_DOMAIN = env("DKIM_DOMAIN", "")
DKIM_SELECTOR = env("DKIM_SELECTOR", "")
DKIM_PRIVATE_KEY_FILE = env("DKIM_PRIVATE_KEY_FILE", "")
DKIM_ED25519_SELECTOR = env("DKIM_ED25519_SELECTOR", "")
DKIM_ED25519_PRIVATE_KEY_FILE = env("DKIM_ED25519_PRIVATE_KEY_FILE", "")

# Anymail reads its ESP keys from ANYMAIL_<ESP>_<SETTING> variables itself; the webhook
# secret ("user:password") guards the tracking endpoints with basic auth.
ANYMAIL = {
    # Anymail itself reads only Django settings: every ANYMAIL_<NAME> variable becomes
    # ANYMAIL["<NAME>"] (e.g. ANYMAIL_MAILGUN_WEBHOOK_SIGNING_KEY, ANYMAIL_POSTMARK_SERVER_TOKEN).
    **{
        name.removeprefix("ANYMAIL_"): value
        for name, value in os.environ.items()
        if name.startswith("ANYMAIL_") and value.strip()
    },
    "WEBHOOK_SECRET": env("ANYMAIL_WEBHOOK_SECRET"),
}

# Subscribers: double opt-in limits against subscription bombing, bounce tolerance, and the
# address of the mailto: form of List-Unsubscribe (default: the sender's own address).
SUBSCRIBE_LIMIT_PER_IP_PER_HOUR = env_int("SUBSCRIBE_LIMIT_PER_IP_PER_HOUR", 20)
SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY = env_int("SUBSCRIBE_LIMIT_PER_ADDRESS_PER_DAY", 5)
# Suppress an address after this many final soft bounces (a delay is none) ...
SOFT_BOUNCE_LIMIT = env_int("SOFT_BOUNCE_LIMIT", 3)
# ... and only when those final soft bounces span at least this many days (docs/audience.md).
SOFT_BOUNCE_WINDOW_DAYS = env_int("SOFT_BOUNCE_WINDOW_DAYS", 15)
# CSV imports (uploaded files live in STORAGES["private"]): lines judged and committed
# together (a crash loses at most these), and how long an import may go without a committed
# batch before another worker takes it over.
SUBSCRIBER_IMPORT_BATCH_ROWS = env_int("SUBSCRIBER_IMPORT_BATCH_ROWS", 20_000)
SUBSCRIBER_IMPORT_STALE_SECONDS = env_int("SUBSCRIBER_IMPORT_STALE_SECONDS", 120)
# An import with no progress for this long is not resumed: it stops, and its uploaded file
# (every address in it) is deleted from the private storage.
SUBSCRIBER_IMPORT_GIVE_UP_SECONDS = env_int("SUBSCRIBER_IMPORT_GIVE_UP_SECONDS", 24 * 3600)
UNSUBSCRIBE_EMAIL = env("UNSUBSCRIBE_EMAIL", DEFAULT_FROM_EMAIL)
# The mailto: form of List-Unsubscribe is advertised only when mail to UNSUBSCRIBE_EMAIL
# reaches the ESP's inbound webhook (/anymail/<esp>/inbound/), which unsubscribes.
UNSUBSCRIBE_INBOUND = env_bool("UNSUBSCRIBE_INBOUND", False)
# Reverse proxies in front of the site that append to X-Forwarded-For; 0 trusts none and
# uses the connection's address (the right choice without a proxy: the header is forgeable).
NUM_PROXIES = env_int("NUM_PROXIES", 0)

# Server-side fetches on an editor's behalf (link previews, remote images): only public
# addresses. FETCH_ALLOW_LOOPBACK lets tests fetch pages they serve on loopback; a
# production check refuses it.
FETCH_ALLOW_LOOPBACK = env_bool("FETCH_ALLOW_LOOPBACK", False)
FETCH_TIMEOUT_SECONDS = env_float("FETCH_TIMEOUT_SECONDS", 10)
FETCH_MAX_BYTES = env_int("FETCH_MAX_BYTES", 2_000_000)
FETCH_MAX_REDIRECTS = 5
# Where an arXiv id is looked up (its abstract page's citation_* metadata).
ARXIV_ABS_URL = "https://arxiv.org/abs/"
LINK_PREVIEW_CACHE_DAYS = 7
SEND_RATE_PER_SECOND = env_float("SEND_RATE_PER_SECOND", 0)  # 0: as fast as the channel allows

# Delivery (issues.delivery): docs/delivery.md says what each one bounds.
SEND_BATCH_SIZE = env_int("SEND_BATCH_SIZE", 100)  # rows per claim: also the crash-duplicate bound
SEND_PARALLEL_TASKS = env_int("SEND_PARALLEL_TASKS", 4)  # sender tasks per dispatch
# A live sender renews its claim every third of the lease; one not renewed for a lease died.
SEND_LEASE_SECONDS = env_int("SEND_LEASE_SECONDS", 45)
SEND_MAX_ATTEMPTS = env_int("SEND_MAX_ATTEMPTS", 5)
SEND_RETRY_BASE_SECONDS = env_float("SEND_RETRY_BASE_SECONDS", 30)
SEND_RETRY_MAX_SECONDS = env_float("SEND_RETRY_MAX_SECONDS", 6 * 3600)
# How long a sender keeps trying to record what it sent while the database is away.
SEND_OUTCOME_RETRY_SECONDS = env_float("SEND_OUTCOME_RETRY_SECONDS", 120)
SEND_SCHEDULE_GRACE_SECONDS = env_int("SEND_SCHEDULE_GRACE_SECONDS", 3600)
SEND_SWEEP_INTERVAL_SECONDS = env_float("SEND_SWEEP_INTERVAL_SECONDS", 15)
# Test copies from the admin: only to staff users' addresses or these, so many an hour per user.
SEND_TEST_ALLOWED_ADDRESSES = env_list("SEND_TEST_ALLOWED_ADDRESSES", [])
SEND_TEST_LIMIT_PER_USER_PER_HOUR = env_int("SEND_TEST_LIMIT_PER_USER_PER_HOUR", 20)
SEND_AUTOPAUSE_WINDOW = env_int("SEND_AUTOPAUSE_WINDOW", 100)
SEND_AUTOPAUSE_FAILURE_RATE = env_float("SEND_AUTOPAUSE_FAILURE_RATE", 0.5)
# An ESP's merge-field syntax ("%recipient.{}%" for Mailgun): with an anymail backend, one
# API call per batch with per-recipient merge data. Unset: one message per recipient.
SEND_ESP_MERGE_FIELD = env("SEND_ESP_MERGE_FIELD", "")
# With anymail's Postmark backend, each batch goes to Postmark's batch endpoint (500 readers'
# own messages a call) rather than one API call per reader.
SEND_POSTMARK_BATCH = env_bool("SEND_POSTMARK_BATCH", True)
# Retention: an issue whose last send finished this many days ago keeps its counts, not one
# ledger row per recipient (issues.reports.retention); 0 keeps every row for ever.
DELIVERY_RETENTION_DAYS = env_int("DELIVERY_RETENTION_DAYS", 180)
DELIVERY_RETENTION_CHUNK = env_int("DELIVERY_RETENTION_CHUNK", 50_000)
# Admin lists: a list the planner expects to hold more rows than this shows PostgreSQL's
# estimate ("about …") instead of counting every row on each load (superfast.estimates).
ADMIN_EXACT_COUNT_LIMIT = env_int("ADMIN_EXACT_COUNT_LIMIT", 10_000)

# Welcome sequences (issues.sequences): how often beat plans the steps that came due, and
# how late a step may still go out (later, it is skipped rather than sent weeks late).
WELCOME_PLAN_INTERVAL_SECONDS = env_float("WELCOME_PLAN_INTERVAL_SECONDS", 60)
WELCOME_STEP_LATE_LIMIT_SECONDS = env_int("WELCOME_STEP_LATE_LIMIT_SECONDS", 7 * 86400)
# Each beat reads again this much before where the last one stopped: a confirmation that
# committed late is still found.
WELCOME_PLAN_OVERLAP_SECONDS = env_int("WELCOME_PLAN_OVERLAP_SECONDS", 300)

# Engagement (issues.engagement): see docs/engagement.md.
# A reader "clicking" every link this soon after delivery is a mail scanner, not a person.
ENGAGEMENT_BURST_SECONDS = env_int("ENGAGEMENT_BURST_SECONDS", 30)
# A subject test decided on fewer readers than this (clickers, or openers) says so.
SUBJECT_TEST_MIN_CLICKERS = env_int("SUBJECT_TEST_MIN_CLICKERS", 20)
# Beat flushes the click buffer (a Redis stream when REDIS_URL is set) this often.
ENGAGEMENT_FLUSH_SECONDS = env_float("ENGAGEMENT_FLUSH_SECONDS", 5)
ENGAGEMENT_FLUSH_BATCH = env_int("ENGAGEMENT_FLUSH_BATCH", 1000)  # entries per transaction
# Days after an issue's last send ended that its readers' pseudonyms can still be worked out
# (unique readers are counted over them); then the salt is deleted (docs/privacy.md). 0 keeps
# it for good, and the preferences page says so.
ENGAGEMENT_READER_SALT_DAYS = env_int("ENGAGEMENT_READER_SALT_DAYS", 30)

# Celery. The embedded default is kombu's SQLAlchemy transport on an SQLite file of its own
# under VAR_DIR (apart from the app's database): no server to run, and a message is a row
# committed in one transaction, so a worker never reads one half-written (kombu's filesystem
# transport could, and the worker died of it). Redis or RabbitMQ in production.
CELERY_BROKER_URL = env("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'broker.sqlite3'}")
CELERY_BROKER_FOLDER = VAR_DIR / "broker"
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 600)

SESSION_COOKIE_SECURE = not DEBUG
CSRF_COOKIE_SECURE = not DEBUG
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", not DEBUG)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # load balancers probe over plain HTTP
# Trust a proxy's word that the request came over https only when the site sits behind one
# that sets the header (e.g. X-Forwarded-Proto); without one, any client could claim it.
_proxy_ssl_header = env("SECURE_PROXY_SSL_HEADER")
if _proxy_ssl_header:
    SECURE_PROXY_SSL_HEADER = ("HTTP_" + _proxy_ssl_header.upper().replace("-", "_"), "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", not DEBUG)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
