"""A development mail backend: one .eml file per message, so any mail client opens them."""

import uuid
from pathlib import Path

from django.conf import settings
from django.core.mail.backends.base import BaseEmailBackend
from django.utils import timezone


class EmlFileBackend(BaseEmailBackend):
    """Write each message to ``EMAIL_FILE_PATH/<time>-<id>.eml`` instead of sending it."""

    def __init__(self, file_path=None, **kwargs):
        super().__init__(**kwargs)
        self.folder = Path(file_path or settings.EMAIL_FILE_PATH)

    def send_messages(self, email_messages):
        self.folder.mkdir(parents=True, exist_ok=True)
        for message in email_messages:
            name = f"{timezone.now():%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:12]}.eml"
            (self.folder / name).write_bytes(message.message().as_bytes())
        return len(email_messages)
