"""Image uploads through Pillow, and the renditions emails and pages use.

Every upload is decoded and re-encoded: that refuses what is not really an image, caps the
pixel count of all its frames together before any is decoded (decompression bombs, animated
ones included, so decoding needs at most MAX_PIXELS pixels of memory), the byte size and the
aspect ratio, and drops EXIF (camera, GPS) on the way. Uploads are stored under random
names: a draft's images must not be found by guessing. Renditions are made once per width
and kept in storage; later renders only look them up.
"""

import io
import secrets
import warnings
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000  # about 8000 x 5000, all frames together; far beyond any email's
# Wider (or taller) than this many times the other side: a 600 px rendition would be less
# than a pixel high, and no layout shows it.
MAX_ASPECT_RATIO = 20
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
            check_dimensions(image)
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


def check_dimensions(image: Image.Image) -> None:
    """Refuse, from the header alone, sizes that decoding or layout cannot survive.

    Counting frames reads only their headers; the pixel budget covers every frame, since
    re-encoding an animation holds all of them in memory.
    """
    width, height = image.size
    frames = getattr(image, "n_frames", 1)
    if width * height * frames > MAX_PIXELS:
        if frames > 1:
            raise ValidationError(
                f"This animation has {frames} frames of {width} x {height} pixels, too many "
                "to process safely; keep frames × pixels below 40 megapixels."
            )
        raise ValidationError(
            f"This image is {width} x {height} pixels, too large to process "
            "safely; resize it below 40 megapixels."
        )
    if max(width, height) > MAX_ASPECT_RATIO * max(min(width, height), 1):
        raise ValidationError(
            f"This image is {width} x {height} pixels: one side may be at most "
            f"{MAX_ASPECT_RATIO} times the other. Crop it to a less extreme shape."
        )


def scaled_height(width: int, height: int, to_width: int) -> int:
    """The height at ``to_width``, never 0 (an image stored before the aspect check)."""
    return max(1, round(height * to_width / max(width, 1)))


def random_name(fmt: str) -> str:
    """A file name nobody can guess from the picture or its original name."""
    return f"{secrets.token_urlsafe(16)}.{FORMATS[fmt]}"


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
    return ContentFile(data, name=random_name(image.format))


def store_upload(uploaded) -> StoredImage:
    """Check, clean and store an uploaded file (a Django UploadedFile or bytes)."""
    image, data = cleaned(uploaded)
    fmt = image.format
    name = default_storage.save(f"{UPLOAD_FOLDER}/{random_name(fmt)}", ContentFile(data))
    width, height = ImageOps.exif_transpose(image).size if fmt != "GIF" else image.size
    return StoredImage(path=name, width=width, height=height)


def rendition(original: StoredImage, width: int) -> StoredImage:
    """``original`` scaled to ``width`` pixels wide (never up), made once and then reused."""
    if original.width <= width or original.path.endswith(".gif"):
        return original
    height = scaled_height(original.width, original.height, width)
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
