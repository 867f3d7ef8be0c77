"""Image files read by their structure, before Pillow sees them: pieces and frames counted.

Pillow reads the chunks of a PNG, the segments of a JPEG header and the blocks of a GIF one
Python iteration each: a 1 x 1 PNG padded with 1.5 million empty chunks, or a JPEG with 4
million comments, costs 3.5 s of CPU to open, and a progressive JPEG decodes its whole
picture once per scan. The counts here stop at a limit, in milliseconds.

GIFs get more: Pillow counts a GIF's frames by walking all of them in Python (0.4 s for
200,000 frames of one pixel, nearly 2 s for the 20 MB an upload may be), and re-saving an
animation quantizes every frame again (6 s for 1,000 frames of 200 x 200). This module
walks the block structure instead, stops at the first frame over the limit, and writes the
cleaned file from the blocks it kept: the frames' own compressed data, without comments,
text or application extensions (XMP and other metadata) and without anything after the
trailer. No pixel is decoded or encoded here; ``issues.compose.images`` decodes every frame once to
prove it reads.
"""

import struct
from dataclasses import dataclass

SIGNATURES = (b"GIF87a", b"GIF89a")
IMAGE_DESCRIPTOR = 0x2C
EXTENSION = 0x21
TRAILER = 0x3B
GRAPHIC_CONTROL = 0xF9
APPLICATION = 0xFF
# The application extensions that carry the animation's loop count; every other one is
# metadata nobody reading a newsletter needs.
LOOP_EXTENSIONS = (b"NETSCAPE2.0", b"ANIMEXTS1.0")
# GIF blocks and data sub-blocks walked, at most. Encoders write image data in sub-blocks
# of 255 bytes, so a 20 MB GIF has about 82,000 of them; a file made of far more, far
# smaller pieces exists only to make a parser loop (each costs Pillow a Python iteration).
MAX_BLOCKS = 400_000
# PNG chunks, or JPEG segments before the picture: an APNG of 1,000 frames has about 2,000,
# a 20 MB PNG in 8 kB data chunks 2,500, a photo's JPEG header a dozen.
MAX_PIECES = 20_000
# Scans of a JPEG (a progressive one has about 10, one more per embedded thumbnail): each
# scan makes the decoder walk the whole picture again.
MAX_SCANS = 64
TOO_MANY_PIECES = (
    "This image is built of more pieces than any image needs; save it again with an "
    "ordinary image editor."
)


class Refused(ValueError):
    """The file is not a GIF this site processes; the message says why, for an editor."""


@dataclass(frozen=True)
class GifStructure:
    """What the blocks say: the canvas every frame is drawn on, the frames, the clean file."""

    width: int
    height: int
    frames: int
    cleaned: bytes


def is_gif(raw: bytes) -> bool:
    return raw[:6] in SIGNATURES


class Reader:
    """A cursor over the file that counts what it walks and refuses a truncated file."""

    def __init__(self, raw: bytes):
        self.raw = raw
        self.at = 0
        self.blocks = 0

    def take(self, size: int) -> bytes:
        end = self.at + size
        if end > len(self.raw):
            raise Refused("This file is not an image that can be read: the GIF is cut short.")
        piece = self.raw[self.at : end]
        self.at = end
        return piece

    def byte(self) -> int:
        return self.take(1)[0]

    def sub_blocks(self) -> bytes:
        """Data sub-blocks up to and including their zero terminator, as they were."""
        start = self.at
        while True:
            self.blocks += 1
            if self.blocks > MAX_BLOCKS:
                raise Refused(TOO_MANY_PIECES)
            size = self.byte()
            if size == 0:
                return self.raw[start : self.at]
            self.take(size)


def colour_table(reader: Reader, packed: int) -> bytes:
    """The colour table a descriptor's packed byte announces (none when its top bit is 0)."""
    return reader.take(3 * 2 ** ((packed & 0x07) + 1)) if packed & 0x80 else b""


def read(raw: bytes, *, max_frames: int) -> GifStructure:
    """Walk ``raw``; raise Refused past ``max_frames`` frames, on bad or truncated blocks."""
    reader = Reader(raw)
    signature = reader.take(6)
    screen = reader.take(7)
    width, height, packed = struct.unpack("<HHB", screen[:5])
    kept = [signature, None, colour_table(reader, packed)]
    frames = 0
    while True:
        introducer = reader.byte()
        if introducer == TRAILER:
            break
        if introducer == IMAGE_DESCRIPTOR:
            frames += 1
            if frames > max_frames:
                raise too_many_frames(max_frames)
            descriptor = reader.take(9)
            left, top, frame_width, frame_height, frame_packed = struct.unpack("<HHHHB", descriptor)
            # Pillow draws a frame that reaches past the screen on a canvas grown to fit it.
            width, height = max(width, left + frame_width), max(height, top + frame_height)
            table = colour_table(reader, frame_packed)
            code_size = reader.take(1)
            kept += [bytes([introducer]), descriptor, table, code_size, reader.sub_blocks()]
        elif introducer == EXTENSION:
            label = reader.byte()
            body = reader.sub_blocks()
            application = body[1:12] if len(body) > 12 else b""
            if label == GRAPHIC_CONTROL or (
                label == APPLICATION and application in LOOP_EXTENSIONS
            ):
                kept += [bytes([introducer, label]), body]
        else:
            raise Refused(
                "This file is not an image that can be read: a block of the GIF is damaged."
            )
    if frames == 0:
        raise Refused("This file is not an image that can be read: the GIF has no picture.")
    kept[1] = struct.pack("<HH", width, height) + screen[4:]
    kept.append(bytes([TRAILER]))
    return GifStructure(width=width, height=height, frames=frames, cleaned=b"".join(kept))


def too_many_frames(max_frames: int) -> Refused:
    return Refused(
        f"This animation has more than {max_frames} frames; keep it to {max_frames} or fewer."
    )


def check_png(raw: bytes, *, max_frames: int) -> None:
    """Refuse a PNG of more chunks than MAX_PIECES, or an APNG announcing too many frames.

    Truncation and bad checksums are Pillow's to report.
    """
    at, pieces = 8, 0
    while at + 8 <= len(raw):
        pieces += 1
        if pieces > MAX_PIECES:
            raise Refused(TOO_MANY_PIECES)
        length, kind = int.from_bytes(raw[at : at + 4], "big"), raw[at + 4 : at + 8]
        if kind == b"IEND":
            return
        if kind == b"acTL" and int.from_bytes(raw[at + 8 : at + 12], "big") > max_frames:
            raise too_many_frames(max_frames)
        at += 12 + length


def check_jpeg(raw: bytes) -> None:
    """Refuse a JPEG whose header has more than MAX_PIECES segments or MAX_SCANS scans.

    The scan marker cannot occur inside compressed data (a 0xFF there is followed by 0), so
    counting its bytes counts scans, plus those of a thumbnail: cheap, and never too few.
    """
    at, pieces = 2, 0
    while at + 4 <= len(raw) and raw[at] == 0xFF:
        pieces += 1
        if pieces > MAX_PIECES:
            raise Refused(TOO_MANY_PIECES)
        marker = raw[at + 1]
        if marker == 0xFF:  # fill byte before a marker
            at += 1
            continue
        if marker == 0xDA:  # the first scan: the header ends here
            break
        at += (
            2
            if 0xD0 <= marker <= 0xD9 or marker == 0x01
            else 2 + int.from_bytes(raw[at + 2 : at + 4], "big")
        )
    if raw.count(b"\xff\xda") > MAX_SCANS:
        raise Refused(
            f"This JPEG is saved in more than {MAX_SCANS} passes; save it again as an "
            "ordinary (baseline or progressive) JPEG."
        )
