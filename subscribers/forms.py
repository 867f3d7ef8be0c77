"""Forms of the public pages and the admin pages (import, tagging, segments)."""

from django import forms
from django.core.exceptions import ValidationError

from superfast.validators import refuse_control_characters

from .csv_io import ImportFileError
from .imports import check_header
from .models import Segment, Tag, refuse_tag_separator
from .segments import SegmentRule, tags_named
from .selectors import newsletter_model
from .services import MAX_NAME_LENGTH, normalize_email

# Bots fill every field; people never see this one (hidden by CSS, not by type=hidden,
# which bots skip).
HONEYPOT_FIELD = "website"


class SubscribeForm(forms.Form):
    email = forms.CharField(max_length=320)
    name = forms.CharField(
        max_length=MAX_NAME_LENGTH, required=False, validators=[refuse_control_characters]
    )
    newsletter = forms.ModelChoiceField(
        queryset=None, to_field_name="slug", required=False, empty_label=None
    )
    website = forms.CharField(required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletter"].queryset = newsletter_model().objects.order_by("name")

    def clean_email(self):
        return normalize_email(self.cleaned_data["email"])

    def clean_newsletter(self):
        newsletter = self.cleaned_data.get("newsletter")
        if newsletter is not None:
            return newsletter
        choices = list(self.fields["newsletter"].queryset[:2])
        if len(choices) == 1:
            return choices[0]
        raise ValidationError(
            "Choose a newsletter." if choices else "There is no newsletter to subscribe to yet."
        )

    @property
    def is_bot(self):
        return bool(self.cleaned_data.get(HONEYPOT_FIELD))


class PreferencesForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_NAME_LENGTH, required=False, validators=[refuse_control_characters]
    )
    newsletters = forms.ModelMultipleChoiceField(
        queryset=None, required=False, widget=forms.CheckboxSelectMultiple
    )
    no_tracking = forms.BooleanField(
        required=False,
        label="Don't record what I open or click (links keep working)",
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletters"].queryset = newsletter_model().objects.order_by("name")


class ImportForm(forms.Form):
    file = forms.FileField(
        help_text="CSV with a header row: email (required), name and tags (optional)."
    )
    newsletter = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletter"].queryset = newsletter_model().objects.order_by("name")

    def clean_file(self):
        """A file whose header is unusable is refused at once, not after a queue."""
        upload = self.cleaned_data["file"]
        try:
            check_header(upload)
        except ImportFileError as error:
            raise forms.ValidationError(str(error)) from None
        return upload


class TagChoiceForm(forms.Form):
    """The tag a bulk action adds or removes: an existing one, or (to add) a new name."""

    tag = forms.ModelChoiceField(queryset=None, required=False, label="Tag")
    new_tag = forms.CharField(
        max_length=100,
        required=False,
        label="or a new tag",
        validators=[refuse_control_characters],
    )

    def __init__(self, *args, may_create: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["tag"].queryset = Tag.objects.all()
        if not may_create:
            del self.fields["new_tag"]
            self.fields["tag"].required = True

    def clean(self):
        data = super().clean()
        new = (data.get("new_tag") or "").strip()
        if data.get("tag") and new:
            raise ValidationError("Choose a tag or type a new one, not both.")
        if "new_tag" in self.fields and not data.get("tag") and not new:
            raise ValidationError("Choose a tag or type a new one.")
        if new:
            refuse_tag_separator(new)
        data["new_tag"] = new
        return data

    def chosen_tag(self):
        """The chosen tag; a new name becomes a tag (or finds one spelled in another case)."""
        if self.cleaned_data.get("tag"):
            return self.cleaned_data["tag"]
        name = self.cleaned_data["new_tag"]
        return tags_named([name])[name.casefold()]


class SegmentForm(forms.ModelForm):
    """A segment's conditions, refused together when they cannot hold (see SegmentRule)."""

    class Meta:
        model = Segment
        fields = [
            "name",
            "description",
            "newsletter",
            "tags_any",
            "tags_all",
            "tags_none",
            "signed_up_after",
            "signed_up_before",
            "clicked_in_last_issues",
            "never_clicked",
        ]

    RULE_FIELDS = Meta.fields[2:]

    def clean(self):
        data = super().clean()
        for name, problem in self.rule_problems().items():
            self.add_error(name, problem)
        return data

    def rule_errors(self) -> dict[str, list[str]]:
        """Errors of the conditions alone (a name still to type does not stop a count)."""
        self.is_valid()
        return {
            name: list(errors) for name, errors in self.errors.items() if name in self.RULE_FIELDS
        }

    def rule_problems(self) -> dict[str, str]:
        if any(name in self.errors for name in self.RULE_FIELDS):
            return {}
        return SegmentRule.from_form(self.cleaned_data).problems()

    def rule(self) -> SegmentRule:
        return SegmentRule.from_form(self.cleaned_data)
