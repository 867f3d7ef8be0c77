"""Helpers every app's admin pages share: a URL of the admin, a page in the admin's frame,
and names for inputs the admin leaves unnamed.

Generic on purpose (no app imported): a ModelAdmin's extra views render through
``admin_page`` so each has the admin's navigation, breadcrumbs back to its object and the
same context keys, and link through ``admin_url`` instead of spelling URL names by hand.
"""

from typing import Any

from django import forms
from django.contrib.admin import ModelAdmin
from django.db.models import Model
from django.forms.models import BaseInlineFormSet
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


def part_name(widget: forms.Widget, number: int) -> str:
    if isinstance(widget, forms.DateInput):
        return "date"
    if isinstance(widget, forms.TimeInput):
        return "time"
    return f"part {number}"


def name_controls(field: forms.Field, name: str, *, whole: bool) -> None:
    """Give a field's inputs an accessible name (``aria-label``) from its label.

    A widget of several inputs (date and time) has one label, which can point at one input
    only: each input is named by the field and its part. With ``whole``, a single input is
    named too: in a tabular inline the label is a column heading, which assistive
    technology does not tie to the inputs beneath it.
    """
    label = str(field.label or name.replace("_", " ").capitalize())
    widget = getattr(field.widget, "widget", field.widget)  # inside the admin's wrapper
    parts = getattr(widget, "widgets", None)
    if parts:
        for number, part in enumerate(parts, start=1):
            part.attrs.setdefault("aria-label", f"{label}: {part_name(part, number)}")
    elif whole:
        widget.attrs.setdefault("aria-label", label)


class NamedWidgetPartsMixin:
    """For a ModelAdmin: each input of a date-and-time field has a name of its own."""

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        formfield = super().formfield_for_dbfield(db_field, request, **kwargs)  # type: ignore[misc]
        if formfield is not None:
            name_controls(formfield, db_field.name, whole=False)
        return formfield


class LabelledInlineFormSet(BaseInlineFormSet):
    """A tabular inline's formset whose every input (its delete box too) has a name."""

    def add_fields(self, form, index):
        super().add_fields(form, index)
        for name, field in form.fields.items():
            name_controls(field, name, whole=True)
