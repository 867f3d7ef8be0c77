import pytest
from django.core.cache import cache

from tests.support.subscribers import make_newsletter


@pytest.fixture(autouse=True)
def fresh_cache():
    """Rate limits and cached pages live in the cache; each attack starts with none."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def newsletter(db):
    return make_newsletter()


@pytest.fixture
def second_newsletter(db):
    return make_newsletter(slug="field-notes", name="Field Notes")


@pytest.fixture(scope="module")
def mail_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """One real worker for a whole module, sending to its own SMTP sink."""
    from tests.support.processes import mailing_worker
    from tests.support.smtp import SmtpSink

    sink = SmtpSink().start()
    try:
        with mailing_worker(tmp_path_factory.mktemp("mail-worker"), sink):
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
