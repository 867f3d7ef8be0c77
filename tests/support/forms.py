"""A page's form read the way a browser submits it, so tests post what an editor's browser posts.

The HTML standard's "constructing the entry list": every named, enabled control of the form,
inside or outside hidden fieldsets, but nothing inside ``<template>`` elements; checkboxes and
radios only when checked; a select's selected option (the first when none is marked); the one
submit button that was pressed. File inputs post an empty file when nothing was chosen.
"""

from html.parser import HTMLParser

NOT_POSTED_INPUTS = {"submit", "button", "reset", "image", "file"}


class _FormReader(HTMLParser):
    def __init__(self, form_id: str):
        super().__init__(convert_charrefs=True)
        self.form_id = form_id
        self.in_form = False
        self.template_depth = 0
        self.fields: list[tuple[str, str]] = []
        self.files: list[str] = []
        self.select: dict | None = None
        self.option: dict | None = None
        self.textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form" and attrs.get("id") == self.form_id:
            self.in_form = True
        if not self.in_form:
            return
        if tag == "template":
            self.template_depth += 1
        if self.template_depth:
            return
        named = attrs.get("name") and "disabled" not in attrs
        if tag == "input" and named:
            kind = (attrs.get("type") or "text").lower()
            if kind == "file":
                self.files.append(attrs["name"])
            elif kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.fields.append((attrs["name"], attrs.get("value", "on")))
            elif kind not in NOT_POSTED_INPUTS:
                self.fields.append((attrs["name"], attrs.get("value") or ""))
        elif tag == "select" and named:
            self.select = {"name": attrs["name"], "first": None, "chosen": None}
        elif tag == "option" and self.select is not None:
            self.option = {"value": attrs.get("value"), "text": "", "selected": "selected" in attrs}
        elif tag == "textarea" and named:
            self.textarea = {"name": attrs["name"], "text": ""}

    def handle_endtag(self, tag):
        if not self.in_form:
            return
        if tag == "template":
            self.template_depth -= 1
            return
        if self.template_depth:
            return
        if tag == "form":
            self.in_form = False
        elif tag == "option" and self.option is not None:
            self._end_option()
        elif tag == "select" and self.select is not None:
            if self.option is not None:
                self._end_option()
            value = (
                self.select["chosen"] if self.select["chosen"] is not None else self.select["first"]
            )
            if value is not None:
                self.fields.append((self.select["name"], value))
            self.select = None
        elif tag == "textarea" and self.textarea is not None:
            text = self.textarea["text"]
            self.fields.append((self.textarea["name"], text[1:] if text.startswith("\n") else text))
            self.textarea = None

    def _end_option(self):
        value = self.option["value"] if self.option["value"] is not None else self.option["text"]
        if self.select["first"] is None:
            self.select["first"] = value
        if self.option["selected"]:
            self.select["chosen"] = value
        self.option = None

    def handle_data(self, data):
        if self.template_depth:
            return
        if self.textarea is not None:
            self.textarea["text"] += data
        elif self.option is not None:
            self.option["text"] += data


def submitted_fields(html: str, form_id: str) -> list[tuple[str, str]]:
    """(name, value) pairs the browser posts for the form ``form_id`` (no submit button)."""
    reader = _FormReader(form_id)
    reader.feed(html)
    reader.close()
    return reader.fields


def as_post_data(fields: list[tuple[str, str]]) -> dict[str, str | list[str]]:
    """The pairs as the test client's ``post`` data (repeated names become lists)."""
    data: dict[str, list[str]] = {}
    for name, value in fields:
        data.setdefault(name, []).append(value)
    return {name: values[0] if len(values) == 1 else values for name, values in data.items()}
