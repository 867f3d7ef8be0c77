"""The files that deploy and run Superfast (docker-compose.yml, the Dockerfile, the Makefile)
hold to the settings and the code; docker cannot run here, so they are read."""

import ast
import importlib
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from tests.support.processes import ROOT

COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = ["web", "worker", "beat"]


def settings_variables():
    """Names read through env()/env_bool()/env_int()/... in settings.py."""
    tree = ast.parse((ROOT / "superfast" / "settings.py").read_text())
    readers = {"env", "env_bool", "env_int", "env_float", "env_list"}
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and getattr(node.func, "id", None) in readers
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def interpolated(value, shell):
    """docker compose's ``${NAME:-default}`` and ``${NAME:?error}`` with ``shell`` as the
    variables the operator exported."""

    def one(match):
        name, operator, argument = match.groups()
        if shell.get(name):
            return shell[name]
        assert operator != ":?", f"docker compose would stop: {argument}"
        return argument or ""

    return re.sub(r"\$\{(\w+)(?:(:[-?])([^}]*))?\}", one, str(value))


def command_words(service):
    command = SERVICES[service]["command"]
    return shlex.split(command) if isinstance(command, str) else list(command)


def test_compose_has_every_service_production_needs():
    assert set(SERVICES) >= {"web", "worker", "beat", "postgres", "redis", "mailpit"}


def test_every_app_environment_variable_is_one_settings_reads():
    known = settings_variables()
    for service in APP_SERVICES:
        names = set(SERVICES[service]["environment"])
        assert names <= known, f"{service} sets variables settings.py ignores: {names - known}"
        assert {"SECRET_KEY", "DATABASE_URL", "CELERY_BROKER_URL", "REDIS_URL"} <= names


def test_app_services_point_at_the_compose_postgres_redis_and_mailpit():
    environment = SERVICES["web"]["environment"]
    assert "@postgres:5432/" in environment["DATABASE_URL"]
    assert interpolated(environment["CELERY_BROKER_URL"], {}).startswith("redis://redis:6379/")
    assert "mailpit" in environment["EMAIL_HOST"]
    assert environment["DEBUG"] == "0"


def test_worker_and_beat_commands_name_the_celery_app_the_demo_starts():
    from superfast.demo import child_commands

    demo = child_commands("127.0.0.1", 8000)
    for service in ["worker", "beat"]:
        words = command_words(service)
        assert words[:4] == ["celery", "-A", "superfast", service]
        assert demo[service][3:6] == ["-A", "superfast", service]
    assert importlib.import_module("superfast.celery").app.main == "superfast"


def test_web_command_migrates_then_serves_the_wsgi_application_with_gunicorn(settings):
    settings.DEBUG = True  # as configured here; with DEBUG off loading it runs the checks
    command = " ".join(command_words("web"))
    assert "manage.py migrate" in command
    target = re.search(r"gunicorn (\S+)", command).group(1)
    module, attribute = target.split(":")
    assert callable(getattr(importlib.import_module(module), attribute))
    assert "superfast.wsgi:application" in (ROOT / "Dockerfile").read_text()


def test_image_collects_static_files_as_production_serves_them():
    """With DEBUG off, pages need the manifest that only a DEBUG-off collectstatic writes."""
    dockerfile = (ROOT / "Dockerfile").read_text()
    collect = next(line for line in dockerfile.splitlines() if "collectstatic" in line)
    before = dockerfile[: dockerfile.index(collect) + len(collect)].rsplit("&&", 1)[-1]
    assert "DEBUG=0" in before


def test_makefile_has_the_targets_the_readme_promises():
    makefile = (ROOT / "Makefile").read_text()
    readme = (ROOT / "README.md").read_text()
    for target in ["demo", "test", "bench"]:
        assert re.search(rf"^{target}:", makefile, re.M)
        assert f"make {target}" in readme
    assert "python -m superfast.demo" in makefile.replace("$(PY)", "python")
    # DEBUG is off unless asked for; the demo is development and asks.
    assert "DEBUG=1 $(PY) -m superfast.demo" in makefile


def test_the_operations_guide_lists_every_variable_settings_reads():
    guide = (ROOT / "docs" / "operations.md").read_text()
    missing = [name for name in sorted(settings_variables()) if f"`{name}`" not in guide]
    assert not missing, f"docs/operations.md's configuration table lacks {missing}"


def test_compose_refuses_to_start_without_the_secrets_production_requires():
    """``${NAME:?message}``: docker compose stops with the message when NAME is unset."""
    text = (ROOT / "docker-compose.yml").read_text()
    # The site's address and the sender have no default that could work: a plain-http
    # localhost and newsletter@localhost would go out in every message.
    for name in ["SECRET_KEY", "ANYMAIL_WEBHOOK_SECRET", "SITE_URL", "DEFAULT_FROM_EMAIL"]:
        assert re.search(rf"{name}: \$\{{{name}:\?[^}}]+\}}", text), f"{name} is not required"
    assert re.search(r"POSTAL_ADDRESS: \$\{POSTAL_ADDRESS:\?[^}]+\}", text)
    assert SERVICES["web"]["environment"]["REDIS_URL"].startswith("redis://redis:6379/")


def test_image_runs_with_debug_off_whatever_the_environment_forgets():
    dockerfile = (ROOT / "Dockerfile").read_text()
    env_block = re.search(r"^ENV ((?:.*\\\n)*.*)$", dockerfile, re.M).group(1)
    assert re.search(r"\bDEBUG=0\b", env_block)


OPERATOR = {
    "SECRET_KEY": "an-operator-secret-" + "x" * 40,
    "SITE_URL": "https://news.example.org",
    "DEFAULT_FROM_EMAIL": "The Weekly <weekly@news.example.org>",
    "POSTAL_ADDRESS": "The Weekly, 1 Example Street, 10115 Berlin, Germany",
    "ANYMAIL_WEBHOOK_SECRET": "esp:an-operator-webhook-secret",
}


@pytest.mark.slow  # starts Django processes
def test_scaled_workers_keep_no_local_state_on_either_broker():
    """``docker compose up --scale worker=N``: the worker's environment, as compose resolves
    it, passes the production checks (no filesystem broker, mailbox or uploads under
    VAR_DIR), on Redis and on the optional RabbitMQ service; and nothing in the worker's
    service pins it to one replica."""
    worker = SERVICES["worker"]
    assert not {"container_name", "ports", "hostname"} & set(worker)
    amqp = "amqp://superfast:superfast@rabbitmq:5672/superfast"
    rabbitmq = SERVICES["rabbitmq"]["environment"]
    assert amqp == (
        f"amqp://{rabbitmq['RABBITMQ_DEFAULT_USER']}:{rabbitmq['RABBITMQ_DEFAULT_PASS']}"
        f"@rabbitmq:5672/{rabbitmq['RABBITMQ_DEFAULT_VHOST']}"
    )
    for shell in [OPERATOR, {**OPERATOR, "CELERY_BROKER_URL": amqp}]:
        environment = {name: interpolated(v, shell) for name, v in worker["environment"].items()}
        environment.update(PATH="/usr/bin:/bin", DJANGO_SETTINGS_MODULE="superfast.settings")
        environment["VAR_DIR"] = "/app/var"  # the image's
        result = subprocess.run(
            [sys.executable, "manage.py", "check", "--deploy"],
            cwd=ROOT,
            env=environment,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        media = next(v for v in worker["volumes"] if v.split(":")[1] == environment["MEDIA_ROOT"])
        assert media.split(":")[0] in COMPOSE["volumes"]  # a named volume all replicas mount


def test_web_and_workers_share_a_private_folder_for_uploaded_lists_outside_media():
    """The web process stores an uploaded list, a worker reads it: one named volume both
    mount, set as PRIVATE_ROOT, that is not the served media folder nor inside it."""
    mounts = []
    for service in ["web", "worker"]:
        environment = SERVICES[service]["environment"]
        private_root = environment["PRIVATE_ROOT"]
        assert not f"{private_root}/".startswith(f"{environment['MEDIA_ROOT']}/")
        volume = next(v for v in SERVICES[service]["volumes"] if v.split(":")[1] == private_root)
        assert volume.split(":")[0] in COMPOSE["volumes"]
        mounts.append(volume)
    assert mounts[0] == mounts[1]
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert f"chown -R superfast /app/var /media {mounts[0].split(':')[1]}" in dockerfile
