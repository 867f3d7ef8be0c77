"""Admin forms: a block form holds the chosen kind's fields only, so it posts only those.

Kind fields are named ``<kind>__<field>``. A bound form takes its kind from the posted data, an
unbound one from its block (or ``initial``): fields of other kinds are not in the form at all, so
a 100-block issue posts a few fields a block, not every kind's. The editor's script swaps a
block's fields from per-kind ``<template>`` elements when the editor adds a block or changes
its kind.
"""

import json
import re
from collections.abc import Callable
from functools import cached_property

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.forms.formsets import DELETION_FIELD_NAME
from django.forms.models import BaseInlineFormSet
from django.utils.choices import BaseChoiceIterator

from superfast.mail import domain_of, unusable_domain

from ..models import Block, Issue, LibraryBlock, Newsletter
from ..models.content import RESERVED_SLUGS
from .blocks import KINDS, get_kind, kind_choices
from .fields import OneLineField, PreloadedModelChoiceField
from .images import cleaned_file
from .widgets import StreamHiddenInput, StreamSelect, StreamTextInput, one_step

SEPARATOR = "__"


def kind_field_name(kind: str, name: str) -> str:
    return f"{kind}{SEPARATOR}{name}"


def kind_form_fields(kind_name: str) -> dict[str, forms.Field]:
    """Fresh form fields of one kind, by their form names."""
    kind = KINDS.get(kind_name)
    if kind is None:
        return {}
    fields = {}
    for name, field in kind.fields().items():
        field.label = field.label or name.replace("_", " ").capitalize()
        field.widget = one_step(field.widget)
        fields[kind_field_name(kind.name, name)] = field
    return fields


def kind_fieldsets(kind_name: str) -> list[tuple[str | None, dict]]:
    """The admin fieldset of one kind's fields (none for a kind without fields)."""
    kind = KINDS.get(kind_name)
    if kind is None or not kind.fields():
        return []
    return [
        (
            kind.label,
            {
                "fields": list(kind_form_fields(kind_name)),
                "classes": ["sf-kind", f"sf-kind-{kind.name}"],
                "description": kind.help,
            },
        )
    ]


def block_part_fieldsets(kind_name: str, *, in_issue: bool = True) -> list[tuple[str | None, dict]]:
    """The fieldsets of a block that change with its kind, after the kind choice itself.

    In an issue, a placement chooses its library block, and a block of content can be saved
    to the library; in the library itself only the kind's fields remain.
    """
    if kind_name == Block.LIBRARY and in_issue:
        return [(None, {"fields": ["library_block"], "classes": ["sf-library"]})]
    if kind_name not in KINDS:
        return []
    save = (None, {"fields": ["save_to_library_as"], "classes": ["sf-save-to-library"]})
    return [*kind_fieldsets(kind_name), *([save] if in_issue else [])]


class ReadyChoices(BaseChoiceIterator):
    """Choices already in Django's canonical form (value, label pairs), taken as they are.

    Every block form sets its kind's choices; Django normalises a plain list once for the
    field and once for its widget, which cost a 100-block live preview a fifth of its time.
    """

    def __init__(self, choices: list[tuple[str, str]]):
        self.choices = choices

    def __iter__(self):
        return iter(self.choices)


class BlockContentForm(forms.ModelForm):
    """Kind and content of a block (an issue's or the library's): the chosen kind's fields."""

    use_required_attribute = False  # the browser must not block submit on a folded block

    kind = forms.ChoiceField(widget=StreamSelect)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["kind"].choices = self.kind_choices()
        self.kind_name = self.chosen_kind()
        self.fields.update(kind_form_fields(self.kind_name))
        kind = KINDS.get(self.kind_name)
        if self.instance.pk and kind and self.instance.kind == kind.name:
            for name, value in kind.form_values(self.instance.data).items():
                self.initial[kind_field_name(self.kind_name, name)] = value

    def chosen_kind(self) -> str:
        """The posted kind of a bound form; else the block's (or the one ``initial`` gives)."""
        if self.is_bound:
            return self.data.get(self.add_prefix("kind")) or ""
        return self.initial.get("kind") or self.instance.kind or ""

    def kind_choices(self):
        return ReadyChoices([("", "Choose a kind…"), *kind_choices()])

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
    """A block in an issue's stream: own content, or a placement from the library.

    ``library`` returns the library's blocks by id: the formset loads them once for all its
    forms, where a model choice field would query the library once per block.
    """

    save_to_library_as = OneLineField(
        required=False,
        widget=StreamTextInput,
        max_length=200,
        help_text="Give a name to keep this block in the library and reuse it in other issues.",
    )

    class Meta:
        model = Block
        fields = ["kind", "position"]
        widgets = {"position": StreamHiddenInput(attrs={"class": "sf-position"})}

    LIBRARY_REFUSAL = "Saving to the library needs the permission to add library blocks."

    def __init__(
        self,
        *args,
        library: Callable[[], dict] | None = None,
        may_save_to_library: bool = True,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.may_save_to_library = may_save_to_library
        if self.kind_name == Block.LIBRARY:
            self.fields["library_block"] = PreloadedModelChoiceField(
                library or library_blocks,
                help_text=Block._meta.get_field("library_block").help_text,
            )
            self.initial.setdefault("library_block", self.instance.library_block_id)
        if self.kind_name not in KINDS:
            del self.fields["save_to_library_as"]
        elif not may_save_to_library:
            self.fields["save_to_library_as"].disabled = True
            self.fields["save_to_library_as"].help_text = self.LIBRARY_REFUSAL

    @property
    def left_out(self) -> bool:
        """A new form whose kind was never posted: the editor added, then removed, this block."""
        posted = self.add_prefix("kind") in self.data
        return self.is_bound and self.instance.pk is None and not posted

    def has_changed(self):
        return not self.left_out and super().has_changed()

    def kind_choices(self):
        return ReadyChoices([("", "Choose a kind…"), *issue_block_kinds()])

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind == Block.LIBRARY:
            if not cleaned.get("library_block"):
                self.add_error("library_block", "Choose the library block to place here.")
            self.instance.library_block = cleaned.get("library_block")
            self.instance.data = {}
        else:
            self.instance.library_block = None
        posted_name = self.data.get(self.add_prefix("save_to_library_as"), "")
        if not self.may_save_to_library and posted_name.strip():
            self.add_error("save_to_library_as", self.LIBRARY_REFUSAL)
        name = cleaned.get("save_to_library_as", "").strip()
        if name and LibraryBlock.objects.filter(name=name).exists():
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


def issue_block_kinds() -> list[tuple[str, str]]:
    """What a block in an issue can be: each kind, or a placement from the library."""
    return [*kind_choices(), (Block.LIBRARY, "From the block library")]


class BlockFormSet(BaseInlineFormSet):
    """An issue's blocks, at a cost that does not grow with their number.

    The library and the issue's blocks are read once for all forms (model choice fields would
    query once per form to render and validate), and changed blocks are written in one
    ``bulk_update``: reordering 100 blocks changes 100 positions.
    """

    @cached_property
    def library(self) -> dict:
        return library_blocks()

    @cached_property
    def blocks_by_pk(self) -> dict:
        return {str(block.pk): block for block in self.get_queryset()}

    # Whether the editor may add to the library ("Save to library as"): set per request.
    may_save_to_library = True

    def get_form_kwargs(self, index):
        return {
            **super().get_form_kwargs(index),
            "library": lambda: self.library,
            "may_save_to_library": self.may_save_to_library,
        }

    def add_fields(self, form, index):
        super().add_fields(form, index)
        if DELETION_FIELD_NAME in form.fields:
            one_step(form.fields[DELETION_FIELD_NAME].widget)
        pk = form.fields[self.model._meta.pk.name]
        form.fields[self.model._meta.pk.name] = PreloadedModelChoiceField(
            lambda: self.blocks_by_pk, initial=pk.initial, required=False, widget=StreamHiddenInput
        )

    def save_existing_objects(self, commit=True):
        self.unsaved_blocks = []
        saved = super().save_existing_objects(commit)
        if commit and self.unsaved_blocks:
            Block.objects.bulk_update(
                self.unsaved_blocks, ["kind", "position", "data", "library_block"]
            )
        return saved

    def save_existing(self, form, obj, commit=True):
        block = form.save(commit=False)
        self.unsaved_blocks.append(block)
        return block


def library_blocks() -> dict[str, LibraryBlock]:
    """The library's blocks by id, in the order the editor picks from."""
    return {str(block.pk): block for block in LibraryBlock.objects.order_by("name")}


class LibraryBlockForm(BlockContentForm):
    class Meta:
        model = LibraryBlock
        fields = ["name", "kind"]
        field_classes = {"name": OneLineField}


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


def public_address_holder(newsletter, slug: str, *, but=None) -> Issue | None:
    """The other issue whose public page (its snapshot's slug) is at ``slug``, if any: an
    issue's own slug may move on while its published address stays until a correction."""
    return Issue.objects.filter(newsletter=newsletter, snapshot__slug=slug).exclude(pk=but).first()


class IssueForm(CheckedImagesForm):
    """The issue's own fields; the inbox line they make is previewed by ``issue_form.js``."""

    image_fields = ("cover_image",)
    WIDE = {"class": "vTextField sf-wide-input", "size": 100}

    class Media:
        css = {"all": ["issues/issue_form.css"]}
        js = ["issues/issue_form.js"]

    class Meta:
        model = Issue
        fields = ["newsletter", "title", "subject", "preheader", "cover_image", "number", "slug"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("title", "subject", "preheader"):
            if name in self.fields:
                self.fields[name].widget.attrs.update(self.WIDE)
        if "newsletter" not in self.fields:
            return
        newsletters = list(Newsletter.objects.only("pk", "name", "from_name"))
        if not self.instance.pk and len(newsletters) == 1:
            self.initial.setdefault("newsletter", newsletters[0].pk)
        select = self.fields["newsletter"].widget
        select = getattr(select, "widget", select)  # inside the admin's add/change wrapper
        senders = {n.pk: n.from_name or n.name for n in newsletters}
        select.attrs["data-senders"] = json.dumps(senders)

    def clean(self):
        cleaned = super().clean()
        slug = cleaned.get("slug")
        newsletter = cleaned.get("newsletter") or self.instance.newsletter_id
        if slug and newsletter:
            holder = public_address_holder(newsletter, slug, but=self.instance.pk)
            if holder is not None:
                self.add_error(
                    "slug",
                    f"“{slug}” is the public address of {holder}; choose another slug.",
                )
        return cleaned

    def _get_validation_exclusions(self):
        """Numbers are unique per newsletter and kind: the kind (not a form field) still
        takes part in that check, so a taken number is a message, not a database error."""
        exclusions = super()._get_validation_exclusions()
        exclusions.discard("kind")
        return exclusions


# What the reports may measure about a newsletter's readers (issues.engagement).
ENGAGEMENT_FIELDS = ["track_clicks", "track_opens", "utm_parameters", "subscriber_history"]


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
            "postal_address",
            "brand_color",
            "logo",
            "language",
            *ENGAGEMENT_FIELDS,
        ]

    def clean_from_email(self):
        """In production, a sender whose domain no receiver can check (localhost, a bare host
        name, an IP address) would have every issue rejected or binned."""
        address = self.cleaned_data["from_email"]
        problem = unusable_domain(domain_of(address))
        if problem and not settings.DEBUG:
            raise forms.ValidationError(
                f"The domain of {address} {problem}: use an address on a domain you own."
            )
        return address

    def clean_slug(self):
        """A slug the site uses at the top level would have the newsletter's pages answered
        by something else (``RESERVED_SLUGS``)."""
        slug = self.cleaned_data["slug"]
        if slug in RESERVED_SLUGS:
            raise forms.ValidationError(
                f"“{slug}” is taken by the site's own addresses; choose another slug."
            )
        return slug


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
