"""What a pasted link's page says about itself, kept for a week (the link preview cache).

A table rather than the cache: the worker that fetches and the web process the editor polls
must share it, and without Redis (``make demo``) each process has a cache of its own.
"""

from django.db import models


class LinkPreview(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Being fetched"
        READY = "ready", "Ready"
        FAILED = "failed", "Could not be fetched"

    url_hash = models.CharField(max_length=64, unique=True, help_text="SHA-256 of the URL.")
    url = models.TextField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    title = models.CharField(max_length=300, blank=True)
    note = models.CharField(max_length=300, blank=True)
    error = models.CharField(max_length=300, blank=True)
    requested_at = models.DateTimeField()
    fetched_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.url
