import json

import pytest

from tests.support.preloaded import preloaded_python
from tests.support.processes import ROOT, child_env

pytestmark = pytest.mark.django_db

PROBE = """
import django, json
django.setup()
from django.test import Client
response = Client().get("/healthz")
print(json.dumps({"status": response.status_code, "body": response.json()}))
"""


def healthz_in_child(**env):
    """GET /healthz in a fresh process configured by ``env``, as a deployed server would be."""
    result = preloaded_python().run(["-c", PROBE], env=child_env(**env), cwd=ROOT)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_healthz_answers_200_when_database_and_broker_answer(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"database": "ok", "broker": "ok"}
    assert "no-cache" in response["Cache-Control"]


@pytest.mark.slow  # starts a Django process
def test_healthz_answers_503_naming_the_broker_when_it_is_unreachable():
    answer = healthz_in_child(CELERY_BROKER_URL="redis://127.0.0.1:9/0")
    assert answer["status"] == 503
    assert answer["body"]["database"] == "ok"
    assert answer["body"]["broker"] == "error"


@pytest.mark.slow  # starts a Django process
def test_healthz_answers_503_naming_the_database_when_it_is_unreachable():
    answer = healthz_in_child(DATABASE_URL="postgres://nobody@127.0.0.1:9/none")
    assert answer["status"] == 503
    assert answer["body"]["database"] == "error"
    assert answer["body"]["broker"] == "ok"


def test_healthz_refuses_writes(client):
    assert client.post("/healthz").status_code == 405
