"""Old public addresses and where they went: one table, edited by those who may publish.

A redirect changes what a visitor gets at an address, so adding, changing or removing one
takes the send permission (as correcting a published page does); anyone who may view
issues may read the table. Saving goes through ``add_redirect``, so hand-made entries
collapse chains and never loop, like the ones corrections write.
"""

from django import forms
from django.contrib import admin

from ..archive.redirects import add_redirect
from ..models import Redirect
from .base import may_send


class RedirectForm(forms.ModelForm):
    class Meta:
        model = Redirect
        fields = ["old_path", "new_path"]

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("old_path") and cleaned.get("old_path") == cleaned.get("new_path"):
            self.add_error("new_path", "An address cannot redirect to itself.")
        return cleaned


@admin.register(Redirect)
class RedirectAdmin(admin.ModelAdmin):
    form = RedirectForm
    list_display = ["old_path", "new_path", "created_at"]
    search_fields = ["old_path", "new_path"]

    def has_view_permission(self, request, obj=None):
        return super().has_view_permission(request, obj) or request.user.has_perm(
            "issues.view_issue"
        )

    def has_add_permission(self, request):
        return may_send(request)

    def has_change_permission(self, request, obj=None):
        return may_send(request)

    def has_delete_permission(self, request, obj=None):
        return may_send(request)

    def save_model(self, request, obj, form, change):
        """Through ``add_redirect``: a changed old path gives up its former row first."""
        if change and "old_path" in form.changed_data:
            Redirect.objects.filter(pk=obj.pk).delete()
        saved = add_redirect(obj.old_path, obj.new_path)
        if saved is not None:
            obj.pk, obj.new_path, obj.created_at = saved.pk, saved.new_path, saved.created_at
