"""Image uploads through Pillow, and the renditions emails and pages use.

Every upload is decoded and re-encoded: that refuses what is not really an image, caps the
pixel count of all its frames together before any is decoded (decompression bombs, animated
ones included, so decoding needs at most IMAGE_MAX_PIXELS pixels of memory), the frame
count, the byte size and the aspect ratio, and drops EXIF (camera, GPS) on the way.

Checking an upload happens in the editor's request, so its CPU is bounded too: the file's
structure is counted first (``issues.compose.image_files``: frames, chunks, scans) in milliseconds;
decoding is bounded by the pixel budget; and re-encoding, the costly part, by the size
kept: a still image is stored at most STORED_MAX_WIDTH wide and STORED_MAX_PIXELS large
(twice the widest rendition, more than any email or page shows), and a GIF keeps its own
compressed frames, rewritten without metadata, instead of being quantized frame by frame
again. ``tests/security/test_image_costs.py`` measures the worst accepted file of each kind.

Uploads are stored under random names: a draft's images must not be found by guessing.
Renditions are made once per width and kept in storage; later renders only look them up.
"""

import io
import math
import secrets
import warnings
from dataclasses import asdict, dataclass
from pathlib import PurePosixPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageOps

from . import image_files

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
# Wider (or taller) than this many times the other side: a 600 px rendition would be less
# than a pixel high, and no layout shows it.
MAX_ASPECT_RATIO = 20
RENDITION_WIDTHS = (600, 1200)
# The largest still image kept: twice the widest rendition, and a tall infographic's area.
STORED_MAX_WIDTH = 2 * RENDITION_WIDTHS[-1]
STORED_MAX_PIXELS = 4_000_000
FORMATS = {"JPEG": "jpg", "PNG": "png", "GIF": "gif", "WEBP": "webp"}
UPLOAD_FOLDER = "images"
RENDITION_FOLDER = "renditions"
UNREADABLE = "This file is not an image that can be read: upload JPEG, PNG, GIF or WebP."
# The EXIF orientation tag, and its values that turn the picture a quarter (width and
# height swap).
ORIENTATION = 0x0112
QUARTER_TURNS = {5, 6, 7, 8}


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


@dataclass(frozen=True)
class CleanedImage:
    """An upload checked and re-encoded: the bytes to store and the size pages show."""

    format: str
    width: int
    height: int
    data: bytes


def too_big(size: int) -> ValidationError:
    return ValidationError(
        f"This file is {size / 1024 / 1024:.0f} MB; images may be at most "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB."
    )


def read_structure(raw: bytes) -> image_files.GifStructure | None:
    """Count the file's pieces before Pillow parses them; a GIF's cleaned blocks, if GIF."""
    try:
        if image_files.is_gif(raw):
            return image_files.read(raw, max_frames=settings.IMAGE_MAX_FRAMES)
        if raw.startswith(b"\x89PNG"):
            image_files.check_png(raw, max_frames=settings.IMAGE_MAX_FRAMES)
        elif raw.startswith(b"\xff\xd8"):
            image_files.check_jpeg(raw)
    except image_files.Refused as refusal:
        raise ValidationError(str(refusal)) from None
    return None


class PillowErrors:
    """Pillow's many exceptions for foreign, truncated or bomb files, as ValidationErrors."""

    def __enter__(self):
        self.warnings = warnings.catch_warnings()
        self.warnings.__enter__()
        # Pillow only warns between MAX_IMAGE_PIXELS and twice that; refuse those too.
        warnings.simplefilter("error", Image.DecompressionBombWarning)

    def __exit__(self, kind, error, traceback):
        self.warnings.__exit__(kind, error, traceback)
        if kind is None or issubclass(kind, ValidationError):
            return False
        if issubclass(kind, (Image.DecompressionBombError, Image.DecompressionBombWarning)):
            message = "This image declares more pixels than can be processed safely."
        elif issubclass(kind, Exception):
            message = UNREADABLE
        else:
            return False
        raise ValidationError(message) from None


def opened(raw: bytes) -> tuple[Image.Image, image_files.GifStructure | None]:
    """``raw`` opened and checked from its headers and structure; no pixel decoded yet."""
    if len(raw) > MAX_UPLOAD_BYTES:
        raise too_big(len(raw))
    gif = read_structure(raw)
    with PillowErrors():
        image = Image.open(io.BytesIO(raw if gif is None else gif.cleaned))
        if image.format not in FORMATS:
            raise ValidationError(
                f"{image.format} images are not accepted: upload JPEG, PNG, GIF or WebP."
            )
        if gif is None:
            check_dimensions(image.size, getattr(image, "n_frames", 1))
        else:
            check_dimensions((gif.width, gif.height), gif.frames)
    return image, gif


def decode(image: Image.Image, gif: image_files.GifStructure | None) -> None:
    """Decode the picture (every frame of a GIF, the stored file keeps them all)."""
    with PillowErrors():
        for frame in range(gif.frames if gif else 1):
            image.seek(frame)
            image.load()
        image.seek(0)


def open_checked(raw: bytes) -> Image.Image:
    """Decode ``raw`` fully, or raise a ValidationError an editor can act on."""
    image, gif = opened(raw)
    decode(image, gif)
    return image


def check_dimensions(size: tuple[int, int], frames: int) -> None:
    """Refuse, from the header alone, sizes that decoding or layout cannot survive.

    The pixel budget covers every frame, since decoding an animation draws each on the
    whole canvas.
    """
    width, height = size
    budget = settings.IMAGE_MAX_PIXELS
    if frames > settings.IMAGE_MAX_FRAMES:
        raise ValidationError(
            f"This animation has {frames} frames; keep it to {settings.IMAGE_MAX_FRAMES} or fewer."
        )
    if width * height * frames > budget:
        if frames > 1:
            raise ValidationError(
                f"This animation has {frames} frames of {width} x {height} pixels, too many "
                f"to process safely; keep frames × pixels below {budget / 1e6:g} megapixels."
            )
        raise ValidationError(
            f"This image is {width} x {height} pixels, too large to process "
            f"safely; resize it below {budget / 1e6:g} megapixels."
        )
    if max(width, height) > MAX_ASPECT_RATIO * max(min(width, height), 1):
        raise ValidationError(
            f"This image is {width} x {height} pixels: one side may be at most "
            f"{MAX_ASPECT_RATIO} times the other. Crop it to a less extreme shape."
        )


def scaled_height(width: int, height: int, to_width: int) -> int:
    """The height at ``to_width``, never 0 (an image stored before the aspect check)."""
    return max(1, round(height * to_width / max(width, 1)))


def stored_size(width: int, height: int) -> tuple[int, int]:
    """The size a still image is kept at: its own, or smaller within the stored maximums."""
    scale = min(1.0, STORED_MAX_WIDTH / width, math.sqrt(STORED_MAX_PIXELS / (width * height)))
    return max(1, int(width * scale)), max(1, int(height * scale))


def shrunk(image: Image.Image) -> Image.Image:
    """``image`` upright (EXIF orientation applied) and within the stored maximums.

    A JPEG is asked to decode at the smallest scale its DCT allows above the target (half,
    a quarter, an eighth): most of a large photo's decoding cost is never paid.
    """
    orientation = image.getexif().get(ORIENTATION, 1)
    turned = orientation in QUARTER_TURNS
    upright = image.size[::-1] if turned else image.size
    target = stored_size(*upright)
    if target != upright and image.format == "JPEG":
        image.draft(None, target[::-1] if turned else target)
    image.load()
    if orientation != 1:  # transposing copies the picture: only when it turns
        image = ImageOps.exif_transpose(image)
    if image.size != target:
        if image.mode not in ("RGB", "RGBA", "L", "LA"):
            image = image.convert("RGBA")
        # Averaging whole blocks of pixels first, then Lanczos over the last factor below 2:
        # Lanczos alone over 40 megapixels costs 0.8 s, this a fifth.
        image = image.resize(target, Image.Resampling.LANCZOS, reducing_gap=1.0)
    return image


def random_name(fmt: str) -> str:
    """A file name nobody can guess from the picture or its original name."""
    return f"{secrets.token_urlsafe(16)}.{FORMATS[fmt]}"


def encode(image: Image.Image, fmt: str) -> bytes:
    """Re-encode a still picture without metadata (EXIF included)."""
    out = io.BytesIO()
    if fmt == "JPEG" and image.mode not in ("RGB", "L"):
        image = image.convert("RGB")
    options = ENCODER_OPTIONS[fmt]
    image.info.pop("exif", None)
    image.save(out, format=fmt, **options)
    return out.getvalue()


# The encoders' effort, chosen for a bounded cost: PNG's zlib level 6 spends up to 0.8 s per
# megapixel on low-contrast noise, level 2 a sixth of that for 15 % larger screenshots; WebP's
# method 1 a third of the default method 4's time for files 5 % larger.
ENCODER_OPTIONS = {
    "JPEG": {"quality": 85, "optimize": True},
    "WEBP": {"quality": 85, "method": 1},
    "PNG": {"compress_level": 2},
    "GIF": {},
}


def cleaned(uploaded) -> CleanedImage:
    """The upload checked and re-encoded (EXIF gone, within the stored size), or ValidationError."""
    if getattr(uploaded, "size", 0) > MAX_UPLOAD_BYTES:
        raise too_big(uploaded.size)  # before reading a huge file into memory
    raw = uploaded if isinstance(uploaded, bytes) else uploaded.read()
    image, gif = opened(raw)
    fmt = image.format
    if gif is not None:
        decode(image, gif)  # proves every frame reads; the stored file is the cleaned blocks
        return CleanedImage(fmt, gif.width, gif.height, gif.cleaned)
    with PillowErrors():
        image = shrunk(image)
        return CleanedImage(fmt, image.width, image.height, encode(image, fmt))


def cleaned_file(uploaded) -> ContentFile:
    """For model ImageFields (covers, logos): the same checks and cleaning, as a file."""
    image = cleaned(uploaded)
    return ContentFile(image.data, name=random_name(image.format))


def store_upload(uploaded) -> StoredImage:
    """Check, clean and store an uploaded file (a Django UploadedFile or bytes)."""
    image = cleaned(uploaded)
    name = default_storage.save(
        f"{UPLOAD_FOLDER}/{random_name(image.format)}", ContentFile(image.data)
    )
    return StoredImage(path=name, width=image.width, height=image.height)


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
