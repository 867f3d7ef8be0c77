"""The suite's shared fixtures and markers: a real SMTP sink, real Celery workers on either
broker, a Redis of a test's own, a real browser, the newsletters most tests start from.

Fixtures used in more than one folder live here; a folder's conftest only holds what that
folder alone uses, and no conftest or test module imports another conftest.
"""

import os
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache

from tests.support import processes
from tests.support.brokers import publishing_to, rabbitmq_vhost, scheme
from tests.support.browser import chromium
from tests.support.engagement import LinkTargets
from tests.support.factories import make_newsletter
from tests.support.pages import LoopbackPages
from tests.support.processes import (
    BEAT_SETTINGS,
    WORKER_SETTINGS,
    PrivateRedis,
    celery_worker,
    mailing_worker,
)
from tests.support.smtp import SmtpSink

# Playwright's sync API runs an event loop in the test thread; the ORM calls the tests make
# beside it are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"

# A test that asks for one of these fixtures (itself or through another fixture) starts a
# real Celery worker process, or drives Chromium: it gets the marker without anyone
# remembering to add it, so ``make check`` (-m "not browser and not worker and not slow")
# never waits on either.
WORKER_FIXTURES = {"worker", "start_worker", "mail_worker"}
BROWSER_FIXTURES = {"browser", "page"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        used = set(getattr(item, "fixturenames", ()))
        if used & WORKER_FIXTURES:
            item.add_marker(pytest.mark.worker)
        if used & BROWSER_FIXTURES:
            item.add_marker(pytest.mark.browser)
    deselect_postgresql_only(config, items)


def deselect_postgresql_only(config, items):
    """Tests marked ``postgresql`` read PostgreSQL's plans or catalogs: on another database
    they are deselected (and counted as such), never skipped or passed without checking."""
    from django.db import connection

    if connection.vendor == "postgresql":
        return
    elsewhere = [item for item in items if item.get_closest_marker("postgresql")]
    if elsewhere:
        config.hook.pytest_deselected(items=elsewhere)
        items[:] = [item for item in items if not item.get_closest_marker("postgresql")]


def pytest_runtest_setup(item):
    """A test that starts a worker some other way must say so with ``worker``: starting one
    unmarked fails (tests.support.processes.celery_process)."""
    processes.workers_allowed = item.get_closest_marker("worker") is not None


def pytest_generate_tests(metafunc):
    """``both_brokers``: run the test once on the configured broker and once on RabbitMQ."""
    if metafunc.definition.get_closest_marker("both_brokers"):
        configured = scheme(django_settings.CELERY_BROKER_URL)
        brokers = [configured] + (["amqp"] if configured not in {"amqp", "pyamqp"} else [])
        metafunc.parametrize("broker", brokers, indirect=True)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashing():
    """Test users' passwords are hashed with MD5: PBKDF2 spends a fifth of a second per
    hash on purpose, a production cost no test checks (and the suite makes and logs in
    hundreds of users). Processes a test starts keep the real hashers."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def empty_cache():
    """Every test starts with an empty cache and leaves one: rate-limit counters and cached
    pages of one test never answer another's requests, nor its link tables another's
    clicks (SQLite gives the next test's issue the same id)."""
    from issues.engagement.views import link_tables

    cache.clear()
    link_tables.clear()
    yield
    cache.clear()
    link_tables.clear()


@pytest.fixture
def media_root(settings, tmp_path):
    """Uploads, renditions and sharing cards of this test in a folder of its own."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture
def newsletter(db):
    return make_newsletter()


@pytest.fixture
def second_newsletter(db):
    return make_newsletter("field-notes", "Field Notes")


@pytest.fixture
def artifacts_dir():
    """Screenshots and logs worth looking at after a run."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def smtp_sink(settings):
    """A running SMTP server on loopback; Django's mail settings point at it."""
    sink = SmtpSink().start()
    for name, value in sink.settings().items():
        setattr(settings, name, value)
    yield sink
    sink.stop()


@pytest.fixture
def worker(transactional_db, tmp_path):
    """A real Celery worker process on the configured broker and the test database."""
    from superfast.celery import app

    app.control.purge()
    with celery_worker(tmp_path) as proc:
        yield proc


@pytest.fixture(scope="session")
def rabbitmq_url():
    """A RabbitMQ vhost of this test session's own."""
    with rabbitmq_vhost() as url:
        yield url


@pytest.fixture
def broker(request, monkeypatch):
    """The broker URL the test and its workers use (``amqp``: a vhost of this session)."""
    if getattr(request, "param", None) == "amqp":
        url = request.getfixturevalue("rabbitmq_url")
        with publishing_to(url, monkeypatch):
            yield url
    else:
        yield django_settings.CELERY_BROKER_URL


@pytest.fixture
def fast_retries(settings):
    settings.VAR_DIR.mkdir(parents=True, exist_ok=True)  # beat keeps its schedule file there
    for name, value in WORKER_SETTINGS.items():
        setattr(settings, name, float(value) if "." in value else int(value))


@pytest.fixture
def start_worker(transactional_db, tmp_path, smtp_sink, fast_retries, broker):
    """Start real worker processes sending to ``smtp_sink``; all stop after the test."""
    from superfast.celery import app

    app.control.purge()
    stack = []

    def start(concurrency=1, env=None, extra_args=()):
        context = celery_worker(
            tmp_path,
            concurrency=concurrency,
            env={**smtp_sink.env(), **WORKER_SETTINGS, **(env or {})},
            extra_args=extra_args,
        )
        proc = context.__enter__()
        stack.append(context)
        return proc

    yield start
    for context in reversed(stack):
        context.__exit__(None, None, None)


@pytest.fixture
def start_worker_and_beat(start_worker):
    """``start_worker_and_beat(**env)``: a real worker with its embedded beat, planning
    welcome steps and deciding subject tests every second or two."""
    return lambda **env: start_worker(
        concurrency=2, env={**BEAT_SETTINGS, **env}, extra_args=["--beat"]
    )


@pytest.fixture(scope="module")
def mail_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real worker for a whole module, sending to its own SMTP sink (started once: fast);
    the sink's ``worker`` is the process."""
    sink = SmtpSink().start()
    log_dir = tmp_path_factory.mktemp("mail-worker")
    try:
        with mailing_worker(log_dir, sink, SEND_RETRY_BASE_SECONDS="0.2") as proc:
            sink.worker = proc  # its log says what it did
            yield sink
    finally:
        sink.stop()


@pytest.fixture
def mail(mail_worker, transactional_db):
    """The SMTP sink the module's worker sends to, emptied for this test."""
    with mail_worker.handler.lock:
        mail_worker.handler.received.clear()
    mail_worker.replies.clear()
    return mail_worker


@pytest.fixture
def private_redis(tmp_path):
    """A Redis server of this test's own, which the test may stop and start again."""
    server = PrivateRedis(tmp_path).start()
    yield server
    server.stop()


@pytest.fixture
def click_buffer(private_redis, settings):
    """A private Redis as the click buffer of this process, the live server and workers."""
    from issues.engagement.views import link_tables

    settings.REDIS_URL = private_redis.url
    link_tables.clear()
    yield private_redis
    link_tables.clear()


@pytest.fixture
def site(live_server, settings, click_buffer):
    """The live server as SITE_URL: the tracked links of issues frozen now point at it."""
    settings.SITE_URL = live_server.url
    return live_server


@pytest.fixture
def engagement_worker(start_worker, click_buffer):
    """Start a worker whose click buffer is the test's Redis. Its burst window is wide, so a
    slow machine cannot make a reader's clicks miss it: the tests click at once anyway."""

    def start(**env):
        env = {"REDIS_URL": click_buffer.url, "ENGAGEMENT_BURST_SECONDS": "300", **env}
        return start_worker(env=env)

    return start


@pytest.fixture
def targets():
    """Where tracked links lead: a loopback web server noting every path it serves."""
    server = LinkTargets()
    yield server
    server.stop()


@pytest.fixture
def migrate(transactional_db):
    """``migrate(targets)`` moves the test database to those migrations and returns the apps
    of that state; ``migrate()`` to every app's latest (what the code now expects, for a
    test that then reads pages). Afterwards every app is migrated to its latest migration
    again: a test left halfway would leave later tests without the columns added since."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    def to(targets=None):
        executor = MigrationExecutor(connection)
        targets = targets or executor.loader.graph.leaf_nodes()
        executor.migrate(targets)
        return executor.loader.project_state(targets).apps

    yield to
    to()


@pytest.fixture(scope="session")
def browser():
    with chromium() as instance:
        yield instance


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def pages(settings):
    """Web pages served on loopback for the server-side fetcher (link previews, pasted and
    imported pictures), which this test's settings allow to reach loopback."""
    settings.FETCH_ALLOW_LOOPBACK = True
    server = LoopbackPages()
    yield server
    server.stop()
