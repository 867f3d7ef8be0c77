"""Helpers every app's admin pages share: a URL of the admin, and a page in the admin's frame.

Generic on purpose (no app imported): a ModelAdmin's extra views render through
``admin_page`` so each has the admin's navigation, breadcrumbs back to its object and the
same context keys, and link through ``admin_url`` instead of spelling URL names by hand.
"""

from typing import Any

from django.contrib.admin import ModelAdmin
from django.db.models import Model
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import reverse


def admin_url(obj: Model | type[Model], view: str = "change", *args: Any) -> str:
    """The admin URL named ``<app>_<model>_<view>``: of ``obj`` (its pk first) or of a model
    class (``changelist``, ``add``, or a view of the whole list)."""
    opts = obj._meta
    name = f"admin:{opts.app_label}_{opts.model_name}_{view}"
    if isinstance(obj, Model):
        return reverse(name, args=[obj.pk, *args])
    return reverse(name, args=args)


def admin_page(
    model_admin: ModelAdmin,
    request: HttpRequest,
    template: str,
    obj: Model | None = None,
    **context: Any,
) -> TemplateResponse:
    """``template`` rendered in the admin's frame, about ``obj`` when there is one: the site's
    context, the model's ``opts``, ``original`` and a ``change_url`` back to its page."""
    page = {**model_admin.admin_site.each_context(request), "opts": model_admin.opts}
    if obj is not None:
        page |= {"original": obj, "change_url": admin_url(obj)}
    return TemplateResponse(request, template, page | context)
