"""Forms of the public pages and the admin import page."""

from django import forms
from django.core.exceptions import ValidationError

from superfast.validators import refuse_control_characters

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
    file = forms.FileField(help_text="CSV with a header row: email (required), name (optional).")
    newsletter = forms.ModelChoiceField(queryset=None)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["newsletter"].queryset = newsletter_model().objects.order_by("name")
