"""Admin forms: one block form shows every kind's fields and validates the chosen kind's.

Kind fields are named ``<kind>__<field>``; the editor's script shows only the chosen kind's
fieldset. On submit the other kinds' fields are disabled (never validated, never saved), so a
half-filled field of a kind the editor switched away from cannot block saving.
"""

import re

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from ..images import cleaned_file
from ..models import Block, Issue, LibraryBlock, Newsletter
from .kinds import KINDS, get_kind, kind_choices

SEPARATOR = "__"


def kind_field_name(kind: str, name: str) -> str:
    return f"{kind}{SEPARATOR}{name}"


def kind_fieldsets() -> list[tuple[str, dict]]:
    """One admin fieldset per kind that has fields, classed so the script can toggle it."""
    return [
        (
            kind.label,
            {
                "fields": [kind_field_name(kind.name, name) for name in kind.fields()],
                "classes": ["sf-kind", f"sf-kind-{kind.name}"],
                "description": kind.help,
            },
        )
        for kind in KINDS.values()
        if kind.fields()
    ]


class BlockContentForm(forms.ModelForm):
    """Kind and content of a block (an issue's or the library's)."""

    use_required_attribute = False  # hidden kinds' fields must not block the browser's submit

    kind = forms.ChoiceField()

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = self.kind_choices()
        if self.instance.pk and self.instance.kind in KINDS:
            kind = KINDS[self.instance.kind]
            for name, value in kind.form_values(self.instance.data).items():
                field_name = kind_field_name(self.instance.kind, name)
                if field_name in self.fields:
                    self.initial[field_name] = value
        chosen = self.data.get(self.add_prefix("kind")) if self.is_bound else None
        for name, field in self.fields.items():
            kind, sep, _ = name.partition(SEPARATOR)
            if sep and self.is_bound and kind != chosen:
                field.disabled, field.required = True, False

    def kind_choices(self):
        return [("", "Choose a kind…"), *kind_choices()]

    def content(self, kind_name: str) -> dict:
        """The chosen kind's cleaned fields as its data, after the kind's own rules."""
        kind = get_kind(kind_name)
        data = {
            name: self.cleaned_data.get(kind_field_name(kind_name, name)) for name in kind.fields()
        }
        if not any(self.has_error(kind_field_name(kind_name, name)) for name in kind.fields()):
            try:
                data = kind.clean(data)
            except ValidationError as error:
                if hasattr(error, "error_dict"):
                    for name, errors in error.error_dict.items():
                        self.add_error(kind_field_name(kind_name, name), errors)
                else:
                    self.add_error(None, error)
        return data

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind in KINDS:
            self.instance.data = self.content(kind)
        return cleaned


class IssueBlockForm(BlockContentForm):
    """A block in an issue's stream: own content, or a placement from the library."""

    save_to_library_as = forms.CharField(
        required=False,
        max_length=200,
        help_text="Give a name to keep this block in the library and reuse it in other issues.",
    )

    class Meta:
        model = Block
        fields = ["kind", "library_block", "position"]
        widgets = {"position": forms.HiddenInput(attrs={"class": "sf-position"})}

    def kind_choices(self):
        return [*super().kind_choices(), (Block.LIBRARY, "From the block library")]

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Block.LIBRARY:
            if not cleaned.get("library_block"):
                self.add_error("library_block", "Choose the library block to place here.")
            self.instance.data = {}
        else:
            cleaned["library_block"] = None
        name = cleaned.get("save_to_library_as", "").strip()
        if name and kind == Block.LIBRARY:
            self.add_error("save_to_library_as", "This block is in the library already.")
        elif name and LibraryBlock.objects.filter(name=name).exists():
            self.add_error("save_to_library_as", f"The library has a block named “{name}”.")
        return cleaned

    def save(self, commit=True):
        name = self.cleaned_data.get("save_to_library_as", "").strip()
        block = super().save(commit=False)
        if name:
            block.library_block = LibraryBlock.objects.create(
                name=name, kind=block.kind, data=block.data
            )
            block.kind, block.data = Block.LIBRARY, {}
        if commit:
            block.save()
        return block


class LibraryBlockForm(BlockContentForm):
    class Meta:
        model = LibraryBlock
        fields = ["name", "kind"]


def with_kind_fields(form_class):
    """``form_class`` with every kind's fields declared, as the admin's fieldsets need."""
    fields = {}
    for kind in KINDS.values():
        for name, field in kind.fields().items():
            field.label = field.label or name.replace("_", " ").capitalize()
            fields[kind_field_name(kind.name, name)] = field
    return type(form_class.__name__, (form_class,), {**fields, "__module__": __name__})


IssueBlockForm = with_kind_fields(IssueBlockForm)
LibraryBlockForm = with_kind_fields(LibraryBlockForm)


class CheckedImagesForm(forms.ModelForm):
    """Model image fields (cover, logo) pass the same Pillow checks as block images."""

    image_fields: tuple[str, ...] = ()

    def clean(self):
        cleaned = super().clean()
        for name in self.image_fields:
            upload = self.files.get(self.add_prefix(name))
            if upload and not self.has_error(name):
                try:
                    cleaned[name] = cleaned_file(upload)
                except ValidationError as error:
                    self.add_error(name, error)
        return cleaned


class IssueForm(CheckedImagesForm):
    image_fields = ("cover_image",)

    class Meta:
        model = Issue
        fields = ["newsletter", "title", "subject", "preheader", "cover_image", "number", "slug"]


class NewsletterForm(CheckedImagesForm):
    image_fields = ("logo",)

    class Meta:
        model = Newsletter
        fields = [
            "name",
            "slug",
            "description",
            "from_name",
            "from_email",
            "reply_to",
            "footer_text",
            "brand_color",
            "logo",
            "language",
        ]


class SendTestForm(forms.Form):
    addresses = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3, "cols": 60}),
        help_text="One or more addresses, separated by commas, spaces or new lines.",
    )

    def clean_addresses(self):
        addresses = [a for a in re.split(r"[\s,;]+", self.cleaned_data["addresses"]) if a]
        bad = []
        for address in addresses:
            try:
                validate_email(address)
            except ValidationError:
                bad.append(address)
        if bad:
            raise ValidationError(f"Not an email address: {', '.join(bad)}")
        if len(addresses) > 20:
            raise ValidationError("A test goes to at most 20 addresses.")
        return list(dict.fromkeys(addresses))
