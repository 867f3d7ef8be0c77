"""Services of its own for each pytest-xdist worker, set before Django reads its settings.

``make test`` runs the suite in three processes (``-n 3``) on two cores. Each needs what one
run alone has: pytest-django already gives every worker its own test database
(``test_<name>_gw0``, ``test_<name>_gw1``…); this plugin gives each its own Redis db numbers
for the broker and the cache (a worker started by one process must never take the other's
tasks, and a cache flush of one must not empty the other's) and its own ``VAR_DIR``.

It is a plugin (``-p tests.support.parallel`` in ``addopts``), not a conftest: pytest-django
loads the settings before any conftest is imported, and xdist names the worker in the
environment before that.
"""

import os
import re
from pathlib import Path

REDIS_DBS = 16  # redis-server's default number of databases
REDIS_SETTINGS = ("CELERY_BROKER_URL", "REDIS_URL")
DB_NUMBER = re.compile(r"^(redis://[^/]+)/(\d+)$")


def worker_index() -> int | None:
    """0 for ``gw0``, 1 for ``gw1``…; None when the suite runs in one process."""
    name = os.environ.get("PYTEST_XDIST_WORKER", "")
    return int(name.removeprefix("gw")) if name.startswith("gw") else None


def redis_databases() -> dict[str, tuple[str, int]]:
    """The Redis URLs the run was given, as (server, db number), by setting name."""
    found = {}
    for name in REDIS_SETTINGS:
        match = DB_NUMBER.match(os.environ.get(name, ""))
        if match:
            found[name] = (match[1], int(match[2]))
    return found


def give_worker_its_own_services(index: int) -> None:
    """Worker ``index`` takes the db numbers after those of the workers before it: with the
    broker on 1 and the cache on 2, gw0 keeps 1 and 2 and gw1 takes 3 and 4."""
    databases = redis_databases()
    if databases:
        numbers = [number for _, number in databases.values()]
        stride = max(numbers) - min(numbers) + 1
        for name, (server, number) in databases.items():
            mine = number + index * stride
            if mine >= REDIS_DBS:
                raise RuntimeError(
                    f"{name}: worker gw{index} would need Redis db {mine}; give the suite "
                    f"lower db numbers or fewer workers (-n)."
                )
            os.environ[name] = f"{server}/{mine}"
    var_dir = os.environ.get("VAR_DIR")
    if var_dir:
        os.environ["VAR_DIR"] = str(Path(var_dir) / f"gw{index}")


_index = worker_index()
if _index is not None:
    give_worker_its_own_services(_index)
