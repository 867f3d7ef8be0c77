"""make test runs the suite in several processes: each must get services of its own."""

import os

import pytest

from tests.support import parallel


def test_second_worker_takes_the_db_numbers_after_the_first(monkeypatch, tmp_path):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/1")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/2")
    monkeypatch.setenv("VAR_DIR", str(tmp_path))

    parallel.give_worker_its_own_services(1)

    assert os.environ["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/3"
    assert os.environ["REDIS_URL"] == "redis://127.0.0.1:6379/4"
    assert os.environ["VAR_DIR"] == str(tmp_path / "gw1")


def test_first_worker_keeps_the_db_numbers_it_was_given(monkeypatch, tmp_path):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/5")
    monkeypatch.delenv("VAR_DIR", raising=False)

    parallel.give_worker_its_own_services(0)

    assert os.environ["CELERY_BROKER_URL"] == "redis://127.0.0.1:6379/5"
    assert "VAR_DIR" not in os.environ


def test_running_out_of_redis_databases_says_what_to_change(monkeypatch):
    monkeypatch.setenv("CELERY_BROKER_URL", "redis://127.0.0.1:6379/14")
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/15")

    with pytest.raises(RuntimeError, match="lower db numbers or fewer workers"):
        parallel.give_worker_its_own_services(1)


def test_this_process_runs_on_services_of_its_own(settings):
    """Under xdist, the settings Django read are this worker's, not the run's."""
    index = parallel.worker_index()
    if index is None:
        assert not settings.VAR_DIR.name.startswith("gw")
    else:
        assert settings.VAR_DIR.name == f"gw{index}"
