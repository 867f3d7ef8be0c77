"""Form fields of the block kinds: one-line text, Markdown, item rows (title, URL, note) and
checked image uploads."""

import re
from collections.abc import Callable, Mapping

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Model

from superfast.validators import LINE_BREAKS, refuse_control_characters

from .images import StoredImage, store_upload
from .widgets import CurrentImageInput, ItemRowsWidget


def url_field(**kwargs):
    return forms.URLField(assume_scheme="https", max_length=2000, **kwargs)


class OneLineField(forms.CharField):
    """A title, label, note or alt text: one line, as it is shown and as the Markdown
    export writes it (a line break there would start a new line of the syntax)."""

    default_validators = [refuse_control_characters]


class MarkdownField(forms.CharField):
    """Long Markdown text. Every kind of line break becomes ``\\n``: browsers post CRLF, and a
    pasted U+2028 or form feed would end a line for the Markdown import but not on screen."""

    def __init__(self, *, rows: int = 3, **kwargs):
        # data-markdown: the editor's Markdown toolbar (markdown_toolbar.js) equips the field.
        attrs = {"rows": rows, "class": "vLargeTextField", "data-markdown": ""}
        super().__init__(widget=forms.Textarea(attrs=attrs), **kwargs)

    def to_python(self, value):
        return one_newline(super().to_python(value))


NEWLINES = re.compile("\r\n|[" + "".join(sorted(LINE_BREAKS)) + "]")


def one_newline(value):
    """Text with each line break as ``\\n``."""
    return NEWLINES.sub("\n", value) if isinstance(value, str) else value


class ItemError(ValidationError):
    """A problem with one part of one item row: shown next to that input, not above the rows."""

    def __init__(self, row: int, part: str, detail: str):
        super().__init__(f"Item {row + 1}: {detail}", code="item")
        self.row, self.part, self.detail = row, part, detail


EMPTY_ROWS_HELP = "Rows left empty are skipped; save to get more empty rows."


def link_lines(text: str) -> list[dict]:
    """``Title | URL | note`` lines (the compact form imports and fixtures use) as item rows."""
    rows = []
    for line in text.splitlines():
        if line.strip():
            title, url, *note = [part.strip() for part in line.split("|")] + [""]
            rows.append({"title": title, "url": url, "note": " | ".join(p for p in note if p)})
    return rows


class ItemRowsBoundField(forms.BoundField):
    """Errors of one item part go to its row; the field's own list keeps only a summary."""

    def all_errors(self) -> list[ValidationError]:
        return self.form.errors[self.name].data if self.name in self.form.errors else []

    def item_errors(self) -> list[ItemError]:
        return [error for error in self.all_errors() if isinstance(error, ItemError)]

    @property
    def errors(self):
        own = [error for error in self.all_errors() if not isinstance(error, ItemError)]
        if self.item_errors():
            own.append(ValidationError("Correct the items marked below."))
        return self.form.error_class(own, renderer=self.form.renderer)

    def value(self):
        rows = [dict(row) for row in super().value() or []]
        for error in self.item_errors():
            if error.row < len(rows):
                rows[error.row].setdefault("errors", {}).setdefault(error.part, []).append(
                    error.detail
                )
        return rows


class ItemRowsField(forms.Field):
    """Items of a list (title, URL, note), edited one row each; cleans to ``[{title, url, note}]``.

    ``pick_label`` adds a radio to choose one item (a quiz's lie): the chosen item gets
    ``"pick": True`` and needs no URL. Until one is chosen, ``pick_missing`` says so once,
    and no row is told to add a link it may not need. Rows left empty are dropped.
    """

    def __init__(self, *, parts=None, pick_label="", pick_missing="", min_rows=0, **kwargs):
        self.parts = parts or {"title": "Title", "url": "Link", "note": "One-line note"}
        self.pick_label = pick_label
        self.pick_missing = pick_missing or f"Mark one row as “{pick_label}”."
        kwargs.setdefault("widget", ItemRowsWidget(self.parts, pick_label, min_rows=min_rows))
        super().__init__(**kwargs)

    def get_bound_field(self, form, field_name):
        return ItemRowsBoundField(form, self, field_name)

    def prepare_value(self, value):
        return link_lines(value) if isinstance(value, str) else value

    def to_python(self, value):
        rows = self.prepare_value(value) or []
        unpicked = bool(self.pick_label) and not any(row.get("pick") for row in rows)
        items, errors = [], []
        for n, row in enumerate(rows):
            item = {part: str(row.get(part) or "").strip() for part in ("title", "url", "note")}
            picked = bool(self.pick_label and row.get("pick"))
            if not any(item.values()) and not picked:
                continue
            title, url = (self.parts[part].lower() for part in ("title", "url"))
            for part in ("title", "note"):
                try:
                    refuse_control_characters(item[part])
                except ValidationError as error:
                    errors.append(ItemError(n, part, error.messages[0]))
            if not item["title"]:
                errors.append(ItemError(n, "title", f"Write the {title}."))
            if item["note"] and "note" not in self.parts:
                errors.append(ItemError(n, "title", f"Only a {title} and a {url}, please."))
            if len(item["note"]) > 300:
                errors.append(ItemError(n, "note", "Keep the note to one line (300 characters)."))
            if item["url"] or not (picked or unpicked):
                try:
                    item["url"] = url_field().clean(item["url"])
                except ValidationError:
                    detail = (
                        f"“{item['url']}” is not a web address (https://…)."
                        if item["url"]
                        else f"Add the {url} (https://…)."
                    )
                    errors.append(ItemError(n, "url", detail))
            items.append({**item, "pick": True} if picked else item)
        if unpicked and items:
            errors.insert(0, ValidationError(self.pick_missing, code="pick"))
        if errors:
            raise ValidationError(errors)
        return items

    def validate(self, value):
        if self.required and not value:
            raise ValidationError(self.error_messages["required"], code="required")


class ImageUploadField(forms.FileField):
    """An upload checked and stored by ``issues.compose.images``; cleans to the stored image's dict.

    With no new file the image already stored stays (Django passes it as ``initial``).
    """

    widget = CurrentImageInput

    def __init__(self, **kwargs):
        kwargs.setdefault("widget", CurrentImageInput(attrs={"accept": "image/*"}))
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return StoredImage.from_data(value) if isinstance(value, dict) else value

    def clean(self, data, initial=None):
        if isinstance(data, StoredImage):  # stored by an earlier post of this form
            return data.as_dict()
        initial = StoredImage.from_data(initial) if isinstance(initial, dict) else initial
        value = super().clean(data, initial)
        if value is False or value is None:
            return None
        if isinstance(value, StoredImage):
            return value.as_dict()
        value.stored_image = store_upload(value)  # shown again if the form has other errors
        return value.stored_image.as_dict()

    def bound_data(self, data, initial):
        if data in (None, False):
            return initial
        return getattr(data, "stored_image", data)

    def has_changed(self, initial, data):
        return not self.disabled and data is not None


class PreloadedModelChoiceField(forms.ModelChoiceField):
    """A choice among objects loaded once and shared by many forms.

    A model choice field queries its table to render its options and again to validate, once
    per form: a formset of 100 blocks would pay that 100 times. ``objects`` returns the
    choices by primary key (as text); the caller loads them once and caches them. Options
    are listed only when a widget shows them (never for a hidden primary key).
    """

    def __init__(self, objects: Callable[[], Mapping[str, Model]], **kwargs):
        self.objects = objects
        super().__init__(queryset=None, **kwargs)
        self.widget.choices = PreloadedChoices(self)

    @property
    def queryset(self):
        return None

    @queryset.setter
    def queryset(self, value):  # the objects stand in for a queryset
        pass

    @property
    def choices(self):
        return PreloadedChoices(self)

    @choices.setter
    def choices(self, value):
        pass

    def to_python(self, value):
        if value in self.empty_values:
            return None
        try:
            return self.objects()[str(getattr(value, "pk", value))]
        except KeyError:
            raise ValidationError(
                self.error_messages["invalid_choice"], code="invalid_choice"
            ) from None


class PreloadedChoices:
    """The options of a ``PreloadedModelChoiceField``, listed when iterated."""

    def __init__(self, field: PreloadedModelChoiceField):
        self.field = field

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        for pk, obj in self.field.objects().items():
            yield (pk, str(obj))
