"""Uploads go through Pillow: bombs, huge and foreign files are refused; EXIF never stored."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.urls import reverse
from PIL import Image

from issues.compose import images
from issues.models import Block
from tests.support.composing import image_bytes, upload


def refusal(data, name="file.png"):
    with pytest.raises(ValidationError) as error:
        images.store_upload(upload(data, name))
    return " ".join(error.value.messages)


def test_decompression_bomb_is_refused():
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")  # small file, 400 megapixels
    assert len(out.getvalue()) < 2_000_000
    assert "pixels" in refusal(out.getvalue())


def test_image_just_over_the_pixel_limit_is_refused_with_its_size():
    out = io.BytesIO()
    Image.new("L", (8_000, 5_001)).save(out, format="PNG")
    assert "8000 x 5001 pixels, too large to process safely" in refusal(out.getvalue())


def test_fifty_megabyte_file_is_refused_before_decoding():
    assert "50 MB; images may be at most 20 MB" in refusal(b"\0" * (50 * 1024 * 1024))


@pytest.mark.parametrize(
    "data, message",
    [
        (b"GIF89a but not really", "not an image that can be read"),
        (b"<svg onload=alert(1)/>", "not an image that can be read"),
        (image_bytes(fmt="PNG")[:200], "not an image that can be read"),
        (image_bytes(fmt="BMP"), "BMP images are not accepted: upload JPEG, PNG, GIF or WebP"),
        (image_bytes(fmt="TIFF"), "TIFF images are not accepted"),
    ],
    ids=["text", "svg", "truncated", "bmp", "tiff"],
)
def test_bad_files_are_refused_with_a_clear_message(data, message):
    assert message in refusal(data)


@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "GIF", "WEBP"])
def test_allowed_formats_are_stored(fmt):
    stored = images.store_upload(upload(image_bytes((50, 40), fmt=fmt)))
    assert (stored.width, stored.height) == (50, 40)
    assert default_storage.exists(stored.path)


def test_exif_is_stripped_and_orientation_applied():
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."  # Make
    exif[0x0112] = 6  # Orientation: rotate 90° clockwise to display
    raw = image_bytes((300, 100), fmt="JPEG", exif=exif.tobytes())
    assert b"SpyCam" in raw
    stored = images.store_upload(upload(raw, "photo.jpg"))
    with default_storage.open(stored.path) as saved:
        data = saved.read()
    assert b"SpyCam" not in data
    assert not Image.open(io.BytesIO(data)).getexif()
    assert (stored.width, stored.height) == (100, 300)


def test_renditions_are_made_once_at_600_and_1200_and_never_upscaled():
    stored = images.store_upload(upload(image_bytes((2400, 1200))))
    small, large = (images.rendition(stored, w) for w in (600, 1200))
    assert (small.width, small.height, large.width, large.height) == (600, 300, 1200, 600)
    made = default_storage.get_modified_time(large.path)
    assert images.rendition(stored, 1200) == large
    assert default_storage.get_modified_time(large.path) == made
    narrow = images.store_upload(upload(image_bytes((400, 200))))
    assert images.rendition(narrow, 1200) == narrow


def test_admin_form_shows_the_image_error_and_saves_nothing(admin_client, issue):
    out = io.BytesIO()
    Image.new("1", (20_000, 20_000)).save(out, format="PNG")
    data = {
        "newsletter": issue.newsletter_id,
        "title": issue.title,
        "number": issue.number,
        "slug": issue.slug,
        "blocks-TOTAL_FORMS": 1,
        "blocks-INITIAL_FORMS": 0,
        "blocks-MIN_NUM_FORMS": 0,
        "blocks-MAX_NUM_FORMS": 1000,
        "blocks-0-kind": "image",
        "blocks-0-position": 1,
        "blocks-0-image__alt": "Huge",
        "blocks-0-image__image": upload(out.getvalue(), "bomb.png"),
    }
    response = admin_client.post(reverse("admin:issues_issue_change", args=[issue.pk]), data)
    assert response.status_code == 200
    assert "more pixels than can be processed safely" in response.content.decode()
    assert not Block.objects.exists()


def test_cover_image_passes_the_same_checks_and_loses_its_exif(admin_client, issue):
    exif = Image.Exif()
    exif[0x010F] = "SpyCam Inc."
    data = {
        "newsletter": issue.newsletter_id,
        "title": issue.title,
        "number": issue.number,
        "slug": issue.slug,
        "blocks-TOTAL_FORMS": 0,
        "blocks-INITIAL_FORMS": 0,
        "blocks-MIN_NUM_FORMS": 0,
        "blocks-MAX_NUM_FORMS": 1000,
    }
    url = reverse("admin:issues_issue_change", args=[issue.pk])
    bad = admin_client.post(url, {**data, "cover_image": upload(image_bytes(fmt="BMP"), "a.bmp")})
    assert "BMP images are not accepted" in bad.content.decode()
    jpeg = image_bytes((64, 32), fmt="JPEG", exif=exif.tobytes())
    assert admin_client.post(url, {**data, "cover_image": upload(jpeg, "c.jpg")}).status_code == 302
    issue.refresh_from_db()
    assert issue.cover_image.name.endswith(".jpg") and issue.cover_image.width == 64
    with issue.cover_image.open("rb") as cover:
        assert b"SpyCam" not in cover.read()
