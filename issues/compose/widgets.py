"""Form widgets of the block editor: item rows and the image input that shows the stored image."""

import re

from django import forms


class ItemRowsWidget(forms.Widget):
    """Item rows, one input per part, named ``<name>-<row>-<part>``; ``<name>-pick`` is the radio.

    Empty rows are rendered server-side so a form works without JavaScript; the editor's script
    adds and removes rows. Each row carries its own error messages (see ``ItemRowsBoundField``).
    """

    template_name = "issues/widgets/item_rows.html"
    ROW_KEY = re.compile(r"-(\d+)-(\w+)$")

    def __init__(self, parts, pick_label="", empty_rows=2, attrs=None):
        super().__init__(attrs)
        self.parts, self.pick_label, self.empty_rows = parts, pick_label, empty_rows

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
        rows += [{}] * (self.empty_rows + (1 if not rows else 0))
        id_ = context["widget"]["attrs"].get("id", name)
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

    def id_for_label(self, id_):
        return f"{id_}-0-title" if id_ else id_

    def format_value(self, value):
        return value


class CurrentImageInput(forms.ClearableFileInput):
    template_name = "issues/widgets/image_input.html"
