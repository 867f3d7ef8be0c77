"""``{{ fieldset|block_fieldset }}``: one fieldset of a block in the admin's stream editor.

The admin's aligned fieldset layout, drawn in Python: a 100-block issue has three fieldsets a
block and hundreds of fields, and the template engine's lookups made them the page's largest
cost. The markup is the admin's (labels, help texts tied by ``aria-describedby``, errors).
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import mark_safe

register = template.Library()


@register.filter
def block_fieldset(fieldset) -> str:
    heading = (
        format_html('<h4 class="fieldset-heading">{}</h4>', fieldset.name) if fieldset.name else ""
    )
    description = (
        format_html('<div class="description">{}</div>', mark_safe(fieldset.description))
        if fieldset.description
        else ""
    )
    fields = mark_safe(
        "".join(
            readonly_row(admin_field) if admin_field.is_readonly else field_row(admin_field.field)
            for line in fieldset
            for admin_field in line
        )
    )
    return format_html(
        '<fieldset class="module aligned {}">{}{}\n{}\n</fieldset>',
        fieldset.classes,
        heading,
        description,
        fields,
    )


def readonly_row(admin_field) -> str:
    """A field shown to someone who may only look (a view-only editor): label and value."""
    return format_html(
        '<div class="form-row field-{}"><div><div class="flex-container">{}'
        '<div class="readonly">{}</div></div></div></div>',
        admin_field.field["name"],
        admin_field.label_tag(),
        admin_field.contents(),
    )


def field_row(field) -> str:
    """A visible field's row: errors, label, input, help text; a hidden field as it is."""
    if field.is_hidden:
        return str(field)
    errors = field.errors
    id_for_label = field.id_for_label
    help_text = (
        format_html(
            '<div class="help" id="{}_helptext"><div>{}</div></div>',
            id_for_label,
            mark_safe(field.help_text),
        )
        if field.help_text
        else ""
    )
    return format_html(
        '<div class="form-row field-{}{}">{}<div><div class="flex-container">'
        '<label for="{}"{}>{}:</label>{}</div>{}</div></div>',
        field.name,
        mark_safe(" errors") if errors else "",
        errors if errors else "",
        id_for_label,
        mark_safe(' class="required"') if field.field.required else "",
        field.label,
        field,
        help_text,
    )
