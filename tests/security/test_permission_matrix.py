"""Every admin URL and every admin action, tried as every role, against the table.

The URLs come from the admin's own URLconf and the actions from every registered
ModelAdmin: a page or action without a row in ``permission_table`` fails
``test_every_admin_url_has_a_row`` / ``test_every_admin_action_has_a_row``. Each role is a
login in the group the data migration made (so the groups are tested too), or a
superuser; each request runs in a savepoint of one dataset built for the module.
"""

import json
import re
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.contrib import admin
from django.core.cache import cache
from django.db import transaction
from django.test import TestCase
from django.urls import URLPattern, URLResolver

from . import permission_table as table
from .permission_dataset import DEFAULT_TARGETS, Dataset

DOCS = Path(__file__).resolve().parents[2] / "docs" / "permissions.md"
LOGIN = "/admin/login/"


def admin_routes(patterns=None, prefix=""):
    """Every route of the admin site, as its pattern reads (``issues/issue/<int:pk>/…``)."""
    if patterns is None:
        patterns = admin.site.get_urls()
    for pattern in patterns:
        route = prefix + str(pattern.pattern)
        if isinstance(pattern, URLResolver):
            yield from admin_routes(pattern.url_patterns, route)
        else:
            assert isinstance(pattern, URLPattern)
            yield route


def admin_actions():
    for model, model_admin in admin.site._registry.items():
        for _func, name, _description in model_admin._get_base_actions():
            yield f"{model._meta.label_lower}:{name}"


def test_every_admin_url_has_a_row():
    routes = list(admin_routes())
    assert len(routes) == len(set(routes)), "two admin URLs share a pattern"
    assert set(routes) == set(table.URLS)


def test_every_admin_action_has_a_row():
    assert set(admin_actions()) == set(table.ACTIONS)


def test_the_permissions_page_is_generated_from_the_table():
    assert DOCS.read_text() == table.markdown(), (
        "docs/permissions.md is out of date: "
        "python -m tests.security.permission_table > docs/permissions.md"
    )


@pytest.fixture(scope="module")
def dataset(django_db_setup, django_db_blocker):
    """One dataset for the module, rolled back at its end; each test's own changes are
    rolled back after it (pytest-django's savepoint), each request's after it (ours)."""
    from superfast.celery import app

    tasks = []
    with pytest.MonkeyPatch.context() as patch:
        # Tasks a request sends to the broker at once (test copies) are noted, not sent.
        patch.setattr(app, "send_task", lambda name, *args, **kwargs: tasks.append(name))
        with django_db_blocker.unblock(), transaction.atomic():
            dataset = Dataset()
            dataset.sent_tasks = tasks
            yield dataset
            transaction.set_rollback(True)


def url_for(route: str, dataset: Dataset, target) -> str:
    if route.startswith("^"):  # the app index's regular expression
        return "/admin/issues/"
    if route == "(?P<url>.*)$":
        return "/admin/no-such-page/"
    values = dataset.url_kwargs(route, target)
    return "/admin/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(values[m.group(1)]), route)


def post_body(row: table.Row, route: str, dataset: Dataset) -> dict:
    if row.data is not None:
        return row.data(dataset)
    if row.form:
        model = row.form.removesuffix("_form")
        kind = "add" if route.endswith("/add/") else "change"
        if f"{model}_{kind}" in dataset.forms:  # none where even a superuser may not
            return dataset.posted_form(f"{model}_{kind}", row.edit)
    return {}


@contextmanager
def attempt(dataset: Dataset, role: str, method: str, url: str, body, *, as_json=False):
    """One request as ``role``, in a savepoint rolled back once the caller has looked."""

    cache.clear()  # rate limits and presence: each attempt starts as the first
    dataset.sent_tasks.clear()
    client = dataset.client_for(role)
    dataset.user = dataset.users.get(role)
    with transaction.atomic():
        with TestCase.captureOnCommitCallbacks() as queued:
            if method == "GET":
                response = client.get(url, body)
            elif as_json:
                response = client.post(url, json.dumps(body), content_type="application/json")
            else:
                response = client.post(url, body)
        dataset.queued = [*queued, *dataset.sent_tasks]
        yield response
        transaction.set_rollback(True)


def outcome(response) -> str:
    location = response.get("Location", "")
    if response.status_code == 302 and location.startswith(LOGIN):
        return "login"
    return str(response.status_code)


def judge(row, role, method, response, dataset) -> str | None:
    """What is wrong with this answer, if anything."""
    got = outcome(response)
    allowed_roles = row.get if method == "GET" else row.post_roles
    if role == "anonymous":
        allowed = row.public
        if not allowed:
            return None if got == "login" else f"anonymous got {got}, not the login page"
    elif allowed_roles == table.REFUSED:
        return None if got in ("400", "405") else f"{role} got {got} for a {method}, not 405"
    else:
        allowed = role in allowed_roles
    effect = row.effect if method == "POST" else None
    if allowed:
        if got not in ("200", "302"):
            return f"{role} may, but got {got}"
        if effect is not None and not effect(dataset):
            return f"{role} may, got {got}, but nothing happened {form_errors(response)}"
        return None
    expected = str(row.denied_status)
    if got != expected:
        return f"{role} may not, but got {got} (expected {expected})"
    if effect is not None and effect(dataset):
        return f"{role} may not, got {got}, and yet it happened"
    return None


def form_errors(response) -> str:
    """The errors of a form that came back, to tell a bad test post from a refusal."""
    context = getattr(response, "context_data", None) or {}
    errors = [str(context[k].form.errors) for k in ("adminform",) if k in context]
    errors += [str(f.errors) for f in context.get("inline_admin_formsets", []) for f in [f.formset]]
    return " ".join(e for e in errors if e and e != "[]")


ROLES_AND_VISITOR = (*table.ROLES, "anonymous")


@pytest.mark.django_db
@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("route", list(table.URLS))
def test_admin_url(dataset, route, method):
    row = table.URLS[route]
    target = dataset.target(route, row.target)
    url = url_for(route, dataset, target)
    problems = []
    for role in ROLES_AND_VISITOR:
        dataset.user = dataset.users.get(role)
        body = row.query if method == "GET" else post_body(row, route, dataset)
        with attempt(dataset, role, method, url, body, as_json=row.json) as response:
            problem = judge(row, role, method, response, dataset)
        if problem:
            problems.append(problem)
    assert not problems, f"{method} {url}: " + "; ".join(problems)


def changelist_of(key: str) -> str:
    label = key.split(":")[0].replace(".", "/")
    return f"/admin/{label}/"


ACTION_TARGETS = {
    "issues.welcomesequence:resume_selected": "paused_sequence",
    "issues.newsletter:delete_selected": "second_newsletter",
}


@pytest.mark.django_db
@pytest.mark.parametrize("key", list(table.ACTIONS))
def test_admin_action(dataset, key):
    """Ticked and with "select all" (deleting: ticked only, so nothing protected is in
    the way): refused, nothing changes; allowed, it happens."""
    action = table.ACTIONS[key]
    url = changelist_of(key)
    name = key.split(":")[1]
    target_name = ACTION_TARGETS.get(key) or DEFAULT_TARGETS[url.removeprefix("/admin/")]
    target = getattr(dataset, target_name)
    body = {
        "action": name,
        "_selected_action": [target.pk],
        "select_across": "0" if name == "delete_selected" else "1",
        "index": "0",
        **{field: dataset.resolve(value) for field, value in action.data.items()},
    }
    problems = []
    for role in ROLES_AND_VISITOR:
        with attempt(dataset, role, "POST", url, body) as response:
            happened = action.effect(dataset)
            allowed = role in action.roles
            if allowed and not happened:
                problems.append(f"{role} may, but nothing happened ({outcome(response)})")
            if not allowed and happened:
                problems.append(f"{role} may not, and yet it happened ({outcome(response)})")
    assert not problems, f"{key}: " + "; ".join(problems)
