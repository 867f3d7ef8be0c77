"""Uploads move to S3 by environment variables alone (django-storages), no code change."""

import json
import subprocess
import sys

import pytest

from tests.support.processes import ROOT, child_env

pytestmark = pytest.mark.slow  # starts a Django process

PROBE = """
import django, json
django.setup()
from django.core.files.storage import storages
default_storage = storages["default"]
print(json.dumps({
    "class": type(default_storage).__module__ + "." + type(default_storage).__name__,
    "bucket": default_storage.bucket_name,
    "url": default_storage.url("images/cover.png"),
}))
"""


def test_storage_variables_configure_an_s3_bucket_served_from_a_custom_domain():
    env = child_env(
        STORAGE_BACKEND="storages.backends.s3.S3Storage",
        STORAGE_BUCKET="weekly-gradient-media",
        STORAGE_REGION="eu-west-1",
        STORAGE_CUSTOM_DOMAIN="media.example.org",
        AWS_ACCESS_KEY_ID="test-key",
        AWS_SECRET_ACCESS_KEY="test-secret",
    )
    result = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    storage = json.loads(result.stdout.strip().splitlines()[-1])
    assert storage["class"] == "storages.backends.s3.S3Storage"
    assert storage["bucket"] == "weekly-gradient-media"
    assert storage["url"] == "https://media.example.org/images/cover.png"
