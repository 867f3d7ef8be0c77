"""What was brought over from another platform, so a second run imports nothing twice."""

from django.conf import settings
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


class PlatformImport(models.Model):
    """One import of another platform's export started in the admin, run by a worker.

    The export waits in the private storage under ``stored`` until the worker has read it.
    The worker counts posts and readers as it goes, so the admin's page can show how far
    it is; the report and the list of what was skipped stay here for the editor to read.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Waiting for a worker"
        RUNNING = "running", "Importing"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    platform = models.CharField(max_length=20)
    newsletter = models.ForeignKey("issues.Newsletter", on_delete=models.CASCADE)
    stored = models.CharField(max_length=200, help_text="The export's name in private storage.")
    fetch_images = models.BooleanField(default=False)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    posts_total = models.PositiveIntegerField(default=0)
    posts_done = models.PositiveIntegerField(default=0)
    readers_total = models.PositiveIntegerField(default=0)
    readers_done = models.PositiveIntegerField(default=0)
    report = models.TextField(blank=True)
    skipped_csv = models.TextField(blank=True)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.platform} import {self.pk} ({self.status})"
