"""What was brought over from another platform, so a second run imports nothing twice."""

from django.db import models

from .content import Issue


class ImportedPost(models.Model):
    """One post of another platform's export, and the issue it became.

    Matched by platform and the platform's own id: running the same export again (or a
    newer one with more posts) skips every post already here, even one renamed since.
    """

    platform = models.CharField(max_length=20)
    external_id = models.CharField(max_length=200)
    issue = models.ForeignKey(Issue, on_delete=models.CASCADE, related_name="imported_from")
    old_path = models.CharField(max_length=500, blank=True, help_text="Its address there.")
    imported_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["platform", "external_id"], name="imported_post_unique_per_platform"
            )
        ]

    def __str__(self):
        return f"{self.platform} {self.external_id} → {self.issue_id}"
