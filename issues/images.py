"""Image uploads through Pillow, and the renditions emails and pages use.

Every upload is decoded and re-encoded: that refuses what is not really an image, caps the
pixel count (decompression bombs) and the byte size, and drops EXIF (camera, GPS) on the way.
Renditions are made once per width and kept in storage; later renders only look them up.
"""

import hashlib
import io
import warnings
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 8000 x 5000; far beyond anything an email needs
RENDITION_WIDTHS = (600, 1200)
FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
UPLOAD_FOLDER = "images"
RENDITION_FOLDER = "renditions"


@dataclass(frozen=True)
class StoredImage:
    """An image in storage, with the size emails need for their width/height attributes."""

    path: str
    width: int
    height: int

    @property
    def url(self):
        return default_storage.url(self.path)

    @property
    def absolute_url(self):
        url = self.url
        return url if url.startswith(("http://", "https://")) else settings.SITE_URL + url

    def __str__(self):
        return PurePosixPath(self.path).name

    def as_dict(self):
        return asdict(self)

    @classmethod
    def from_data(cls, value):
        if isinstance(value, cls) or not value:
            return value or None
        return cls(path=value["path"], width=int(value["width"]), height=int(value["height"]))


def too_big(size: int) -> ValidationError:
    return ValidationError(
        f"This file is {size / 1024 / 1024:.0f} MB; images may be at most "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
    )


def open_checked(raw: bytes) -> Image.Image:
    """Decode ``raw`` fully, or raise a ValidationError an editor can act on."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise too_big(len(raw))
    try:
        with warnings.catch_warnings():
            # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse those too.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(raw))
            if image.format not in FORMATS:
                raise ValidationError(
                    f"{image.format} images are not accepted: upload JPEG, PNG, GIF or WebP."
                )
            if image.width * image.height > MAX_PIXELS:
                raise ValidationError(
                    f"This image is {image.width} x {image.height} pixels, too large to process "
                    "safely; resize it below 40 megapixels."
                )
            image.load()
    except ValidationError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ValidationError(
            "This image declares more pixels than can be processed safely."
        ) from None
    except Exception:  # Pillow raises many types for truncated or foreign files
        raise ValidationError(
            "This file is not an image that can be read: upload JPEG, PNG, GIF or WebP."
        ) from None
    return image


def encode(image: Image.Image, fmt: str) -> bytes:
    """Re-encode without metadata; EXIF orientation is applied first so nothing turns."""
    out = io.BytesIO()
    if fmt == "GIF":
        # Keep animation: frames are re-saved, metadata is not carried over.
        image.save(out, format="GIF", save_all=getattr(image, "is_animated", False))
        return out.getvalue()
    image = ImageOps.exif_transpose(image)
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options = {"quality": 85, "optimize": True} if fmt in ("JPEG", "WEBP") else {}
    image.info.pop("exif", None)
    image.save(out, format=fmt, **options)
    return out.getvalue()


def cleaned(uploaded) -> tuple[Image.Image, bytes]:
    """The decoded upload and its re-encoded bytes (checked, EXIF gone), or ValidationError."""
    if getattr(uploaded, "size", 0) > MAX_UPLOAD_BYTES:
        raise too_big(uploaded.size)  # before reading a huge file into memory
    raw = uploaded if isinstance(uploaded, bytes) else uploaded.read()
    image = open_checked(raw)
    return image, encode(image, image.format)


def cleaned_file(uploaded) -> ContentFile:
    """For model ImageFields (covers, logos): the same checks and cleaning, as a file."""
    image, data = cleaned(uploaded)
    name = PurePosixPath(getattr(uploaded, "name", "") or "image").stem or "image"
    return ContentFile(data, name=f"{name}.{FORMATS[image.format]}")


def store_upload(uploaded) -> StoredImage:
    """Check, clean and store an uploaded file (a Django UploadedFile or bytes)."""
    image, data = cleaned(uploaded)
    fmt = image.format
    digest = hashlib.sha256(data).hexdigest()[:20]
    name = f"{UPLOAD_FOLDER}/{digest}.{FORMATS[fmt]}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    width, height = ImageOps.exif_transpose(image).size if fmt != "GIF" else image.size
    return StoredImage(path=name, width=width, height=height)


def rendition(original: StoredImage, width: int) -> StoredImage:
    """``original`` scaled to ``width`` pixels wide (never up), made once and then reused."""
    if original.width <= width or original.path.endswith(".gif"):
        return original
    height = round(original.height * width / original.width)
    stem = PurePosixPath(original.path).stem
    suffix = PurePosixPath(original.path).suffix
    name = f"{RENDITION_FOLDER}/{stem}-{width}w{suffix}"
    if not default_storage.exists(name):
        with default_storage.open(original.path, "rb") as source:
            image = Image.open(source)
            image.load()
        fmt = image.format
        resized = image.resize((width, height), Image.Resampling.LANCZOS)
        default_storage.save(name, ContentFile(encode(resized, fmt)))
    return StoredImage(path=name, width=width, height=height)
