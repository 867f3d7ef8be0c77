"""Form widgets of the block editor: item rows and the image input that shows the stored image."""

import re

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from . import uploads
from .images import StoredImage


class ItemRowsWidget(forms.Widget):
    """Item rows, one input per part, named ``<name>-<row>-<part>``; ``<name>-pick`` is the radio.

    Empty rows are rendered server-side so a form works without JavaScript; the editor's script
    adds and removes rows. Each row carries its own error messages (see ``ItemRowsBoundField``).
    """

    template_name = "issues/widgets/item_rows.html"
    ROW_KEY = re.compile(r"-(\d+)-(\w+)$")

    def __init__(self, parts, pick_label="", empty_rows=2, attrs=None, *, min_rows=0):
        super().__init__(attrs)
        self.parts, self.pick_label, self.empty_rows = parts, pick_label, empty_rows
        self.min_rows = min_rows

    def value_from_datadict(self, data, files, name):
        if name in data:  # whole items, as imports and fixtures pass them
            return data[name]
        rows: dict[int, dict] = {}
        for key in data:
            match = self.ROW_KEY.match(key[len(name) :]) if key.startswith(name + "-") else None
            if match and match[2] in self.parts:
                rows.setdefault(int(match[1]), {})[match[2]] = data.get(key, "")
        if not rows:
            return None
        pick = data.get(f"{name}-pick")
        return [{**rows[n], "pick": str(n) == pick} for n in sorted(rows)]

    def value_omitted_from_data(self, data, files, name):
        return name not in data and not any(key.startswith(name + "-") for key in data)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        rows = list(value or [])
        while rows and not any(rows[-1].get(key) for key in (*self.parts, "pick", "errors")):
            rows.pop()  # blank rows sent back after an error; fresh ones follow
        # A new list gets rows to fill; a filled one a single spare (each posts its inputs).
        rows += [{}] * (1 if rows else self.empty_rows + 1)
        id_ = context["widget"]["attrs"].get("id", name)
        rows += [{}] * (self.min_rows - len(rows))  # at least that many (a quiz has four)
        context["widget"].update(
            parts=self.parts,
            pick_label=self.pick_label,
            disabled=bool(context["widget"]["attrs"].get("disabled")),
            rows=[
                {
                    "index": n,
                    "pick": bool(row.get("pick")),
                    "cells": [
                        {
                            "name": f"{name}-{n}-{part}",
                            "id": f"{id_}-{n}-{part}",
                            "part": part,
                            "label": label,
                            "value": row.get(part) or "",
                            "errors": row.get("errors", {}).get(part, []),
                        }
                        for part, label in self.parts.items()
                    ],
                }
                for n, row in enumerate(rows)
            ],
        )
        return context

    def render(self, name, value, attrs=None, renderer=None):
        """The rows drawn in Python, not through the template per cell: a 100-block issue
        has hundreds of cells, and the template engine made them a third of the page's cost.
        The markup is that of ``template_name``, which stays as its reference."""
        widget = self.get_context(name, value, attrs)["widget"]
        disabled = mark_safe(" disabled") if widget["disabled"] else ""
        pick = widget["pick_label"]
        head = format_html_join("", "<span>{}</span>", ((label,) for label in self.parts.values()))
        rows = format_html_join(
            "",
            '<div class="sf-item">\n    <span class="sf-item-number"></span>\n    {}\n    {}\n'
            '    <button type="button" class="sf-item-remove" title="Remove this item"'
            ' aria-label="Remove item {}">✕</button>\n  </div>',
            (
                (
                    mark_safe(
                        "".join(self.render_cell(cell, number, disabled) for cell in row["cells"])
                    ),
                    format_html(
                        '<label class="sf-item-pick">'
                        '<input type="radio" name="{}-pick" value="{}"{}{}> {}</label>',
                        name,
                        row["index"],
                        mark_safe(" checked") if row["pick"] else "",
                        disabled,
                        pick,
                    )
                    if pick
                    else "",
                    number,
                )
                for number, row in enumerate(widget["rows"], start=1)
            ),
        )
        return format_html(
            '<div class="sf-items{}" data-columns="{}">\n'
            '  <div class="sf-item sf-items-head" aria-hidden="true">'
            "<span></span>{}{}<span></span></div>\n"
            "  {}\n"
            '  <button type="button" class="button sf-item-add">+ Add a row</button>\n'
            "</div>",
            mark_safe(" sf-items-pick") if pick else "",
            len(self.parts),
            head,
            mark_safe("<span></span>") if pick else "",
            rows,
        )

    @staticmethod
    def render_cell(cell: dict, number: int, disabled: str) -> str:
        """One row's input for one part, with its errors (``number`` counts rows from 1)."""
        if cell["part"] == "url":
            hint = mark_safe(' inputmode="url" placeholder="https://…"')
        else:
            hint = format_html(' placeholder="{}"', cell["label"])
        errors = cell["errors"]
        described = (
            format_html(' aria-invalid="true" aria-describedby="{}-errors"', cell["id"])
            if errors
            else ""
        )
        error_list = (
            format_html(
                '<ul class="errorlist" id="{}-errors">{}</ul>',
                cell["id"],
                format_html_join("", "<li>{}</li>", ((error,) for error in errors)),
            )
            if errors
            else ""
        )
        return format_html(
            '<div class="sf-item-part sf-item-{}">\n'
            '      <input type="text" name="{}" id="{}" value="{}"'
            ' aria-label="{}, item {}"{}{}{}>\n'
            "      {}\n    </div>",
            cell["part"],
            cell["name"],
            cell["id"],
            cell["value"],
            cell["label"],
            number,
            hint,
            described,
            disabled,
            error_list,
        )

    def id_for_label(self, id_):
        return f"{id_}-0-title" if id_ else id_

    def format_value(self, value):
        return value


class CurrentImageInput(forms.ClearableFileInput):
    """Shows the stored image and carries it (signed) so a form with errors keeps it."""

    template_name = "issues/widgets/image_input.html"

    def value_from_datadict(self, data, files, name):
        value = super().value_from_datadict(data, files, name)
        if value is None:  # no new file and not cleared: the image the form carried, if any
            return uploads.kept(data.get(uploads.kept_name(name))) or value
        return value

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        if isinstance(value, StoredImage):
            context["widget"]["kept_name"] = uploads.kept_name(name)
            context["widget"]["kept_value"] = uploads.keep(value)
        return context


class StreamSelect(forms.Select):
    """A select drawn in one step, not a template per option: every block of a 100-block
    issue has one (its kind), and Django's templates made it a tenth of the page's cost."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            (
                (
                    option["value"],
                    mark_safe(" selected") if option["selected"] else "",
                    option["label"],
                )
                for _, group, _ in widget["optgroups"]
                for option in group
            ),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(widget["attrs"]), options
        )


class OneStepInput:
    """An input drawn in one step instead of three nested templates, for the block stream."""

    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        shown = "" if widget["value"] is None else format_html(' value="{}"', widget["value"])
        return format_html(
            '<input type="{}" name="{}"{}{}>', widget["type"], name, shown, flatatt(widget["attrs"])
        )


class StreamHiddenInput(OneStepInput, forms.HiddenInput):
    pass


class StreamTextInput(OneStepInput, forms.TextInput):
    pass


class StreamURLInput(OneStepInput, forms.URLInput):
    pass


class StreamCheckboxInput(OneStepInput, forms.CheckboxInput):
    pass


class StreamTextarea(forms.Textarea):
    def render(self, name, value, attrs=None, renderer=None):
        widget = self.get_context(name, value, attrs)["widget"]
        return format_html(
            '<textarea name="{}"{}>\n{}</textarea>',
            name,
            flatatt(widget["attrs"]),
            widget["value"] or "",
        )


ONE_STEP = {
    forms.TextInput: StreamTextInput,
    forms.URLInput: StreamURLInput,
    forms.Textarea: StreamTextarea,
    forms.Select: StreamSelect,
    forms.CheckboxInput: StreamCheckboxInput,
}


def one_step(widget: forms.Widget) -> forms.Widget:
    """``widget`` drawn in one step when its class has a one-step twin (same behaviour)."""
    twin = ONE_STEP.get(type(widget))
    if twin is not None:
        widget.__class__ = twin
    return widget
