"""Findings 5 and 7, and draft upload names: images posted through the admin's issue form."""

import io
import json
import subprocess
import sys

import pytest
from django.urls import reverse
from PIL import Image

from issues.models import Block
from tests.support.composing import (
    add_block,
    change_form_data,
    image_bytes,
    post_image_block,
    upload,
)
from tests.support.processes import ROOT, child_env

# Uploads and renditions of each test in its own folder.
pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("media_root")]


def gif_bomb(frames=5, size=(6000, 6000)):
    """Few kilobytes of GIF that decode into ``frames`` full frames of ``size`` pixels."""
    out = io.BytesIO()
    pictures = [Image.new("P", size, n) for n in range(frames)]
    pictures[0].save(out, format="GIF", save_all=True, append_images=pictures[1:])
    return out.getvalue()


def test_animated_gif_bomb_is_refused_before_its_frames_are_decoded(editor_client, issue):
    bomb = gif_bomb()
    assert len(bomb) < 200_000
    response = post_image_block(editor_client, issue, bomb, "bomb.gif")
    assert response.status_code == 200
    assert "frames" in response.content.decode()
    assert not Block.objects.exists()


# Peak RSS of this process alone: VmHWM starts afresh at exec, while ru_maxrss would
# carry over the parent's (pytest's) peak.
CHILD = """
import django, json, re, sys
django.setup()
from django.core.files.uploadedfile import SimpleUploadedFile
from issues.compose import images
data = open(sys.argv[1], "rb").read()
try:
    images.store_upload(SimpleUploadedFile("bomb.gif", data))
    outcome = "stored"
except Exception as error:
    outcome = type(error).__name__
peak = re.search(r"VmHWM:\\s+(\\d+) kB", open("/proc/self/status").read()).group(1)
print(json.dumps({"outcome": outcome, "rss_kb": int(peak)}))
"""


@pytest.mark.slow  # measures a process of its own
def test_checking_a_gif_bomb_stays_within_a_small_memory_bound(tmp_path):
    """Measured in a fresh process: its peak RSS is the upload check's and nothing else's."""
    path = tmp_path / "bomb.gif"
    path.write_bytes(gif_bomb())
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(path)],
        cwd=ROOT,
        env=child_env(MEDIA_ROOT=tmp_path / "media"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    measured = json.loads(result.stdout.strip().splitlines()[-1])
    print(f"gif bomb check: {measured}")
    assert measured["outcome"] == "ValidationError"
    assert measured["rss_kb"] < 250_000  # 5 frames of 6000x6000 used to take 1.1 GB


def long_strip():
    out = io.BytesIO()
    Image.new("1", (1_000_000, 30)).save(out, format="PNG")
    return out.getvalue()


def test_extreme_aspect_ratio_png_is_refused_with_a_message(editor_client, issue):
    strip = long_strip()
    assert len(strip) < 10_000
    response = post_image_block(editor_client, issue, strip, "strip.png")
    assert response.status_code == 200
    assert "1000000 x 30" in response.content.decode()
    assert not Block.objects.exists()


def test_an_image_stored_before_the_check_breaks_no_page(editor_client, issue, settings):
    """A block saved with such an image earlier: previews, change page and render still work."""
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from issues.compose import images

    path = default_storage.save("images/legacy-strip.png", ContentFile(long_strip()))
    stored = images.StoredImage(path=path, width=1_000_000, height=30)
    add_block(issue, "image", data={"image": stored.as_dict(), "alt": "strip", "caption": ""})
    assert images.rendition(stored, 600).height >= 1
    change = reverse("admin:issues_issue_change", args=[issue.pk])
    assert editor_client.get(change).status_code == 200
    for channel in ("web", "email", "text"):
        url = reverse("admin:issues_issue_preview_channel", args=[issue.pk, channel])
        assert editor_client.get(url).status_code == 200, channel


def test_a_failing_presend_check_leaves_the_change_page_working(editor_client, issue, monkeypatch):
    def broken(issue, rendered=None):
        raise ZeroDivisionError("a check that fails on its own")

    monkeypatch.setattr("issues.admin.issues.presend_warnings", broken)
    response = editor_client.get(reverse("admin:issues_issue_change", args=[issue.pk]))
    assert response.status_code == 200
    assert "could not" in response.content.decode()


def test_draft_uploads_are_stored_under_random_names(editor_client, issue):
    """Names derived from content or the file's name let outsiders guess a draft's images."""
    picture = image_bytes((40, 30))
    response = post_image_block(editor_client, issue, picture, "embargoed-launch-photo.png")
    assert response.status_code == 302
    first = Block.objects.get().data["image"]["path"]
    import hashlib

    assert hashlib.sha256(picture).hexdigest()[:12] not in first
    assert "embargoed" not in first
    Block.objects.all().delete()
    post_image_block(editor_client, issue, picture, "embargoed-launch-photo.png")
    assert Block.objects.get().data["image"]["path"] != first
    cover = reverse("admin:issues_issue_change", args=[issue.pk])
    data = {**change_form_data(issue, []), "cover_image": upload(picture, "embargoed-cover.png")}
    assert editor_client.post(cover, data).status_code == 302
    issue.refresh_from_db()
    assert "embargoed" not in issue.cover_image.name
