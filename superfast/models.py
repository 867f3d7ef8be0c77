"""Project-wide state that belongs to no app: the workers' heartbeat."""

from django.db import models


class WorkerHeartbeat(models.Model):
    """When a worker last ran the heartbeat task; beat sends one a minute."""

    name = models.CharField(max_length=100, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return f"{self.name} @ {self.seen_at:%Y-%m-%d %H:%M:%S}"
