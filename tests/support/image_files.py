"""Image files built byte by byte: the hostile ones Pillow would take minutes to write.

A GIF, an animated WebP or an APNG of many frames is a header and one frame's compressed
data repeated; writing them with Pillow would encode every frame on its own.
"""

import io
import struct
import zlib

from PIL import Image


def tiny_frames_gif(frames: int) -> bytes:
    """A looping GIF of ``frames`` frames of 1 x 1 pixel."""
    screen = struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff"
    loop = b"\x21\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00"
    control = b"\x21\xf9\x04\x00\x01\x00\x00\x00"
    image = b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00"
    return b"GIF89a" + screen + loop + (control + image) * frames + b"\x3b"


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def apng(frames: int, picture: Image.Image | None = None) -> bytes:
    """An APNG of ``frames`` frames, each ``picture`` (RGB; 1 x 1 black by default)."""
    picture = (picture or Image.new("RGB", (1, 1))).convert("RGB")
    width, height = picture.size
    row = 3 * width
    raw = picture.tobytes()
    pixels = zlib.compress(b"".join(b"\0" + raw[y * row : (y + 1) * row] for y in range(height)))

    def control(sequence):
        timing = struct.pack(">IIIIIHHBB", sequence, width, height, 0, 0, 1, 10, 0, 0)
        return png_chunk(b"fcTL", timing)

    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
    chunks = [header, png_chunk(b"acTL", struct.pack(">II", frames, 0)), control(0)]
    chunks.append(png_chunk(b"IDAT", pixels))
    for sequence in range(1, 2 * frames - 1, 2):
        chunks.append(control(sequence))
        chunks.append(png_chunk(b"fdAT", struct.pack(">I", sequence + 1) + pixels))
    return b"\x89PNG\r\n\x1a\n" + b"".join(chunks) + png_chunk(b"IEND", b"")


def riff_chunk(kind: bytes, data: bytes) -> bytes:
    return kind + struct.pack("<I", len(data)) + data + (b"\x00" if len(data) % 2 else b"")


def animated_webp(frames: int, picture: Image.Image | None = None) -> bytes:
    """An animated WebP of ``frames`` frames, each ``picture`` (1 x 1 red by default)."""
    picture = picture or Image.new("RGB", (1, 1), "red")
    still = io.BytesIO()
    picture.save(still, format="WEBP", quality=50)
    bitstream = still.getvalue()[12:]  # the VP8 chunk, whole
    width, height = (side - 1 for side in picture.size)
    size = width.to_bytes(3, "little") + height.to_bytes(3, "little")
    frame = riff_chunk(b"ANMF", b"\0" * 6 + size + b"\x64\0\0\0" + bitstream)
    header = riff_chunk(b"VP8X", b"\x02\0\0\0" + size)
    anim = riff_chunk(b"ANIM", b"\xff\xff\xff\xff\0\0")
    body = b"WEBP" + header + anim + frame * frames
    return b"RIFF" + struct.pack("<I", len(body)) + body


def padded_png(chunks: int) -> bytes:
    """A 1 x 1 PNG followed by ``chunks`` empty chunks of a private kind (before IEND)."""
    pixel = png_chunk(b"IDAT", zlib.compress(b"\0\0"))
    header = png_chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 0, 0, 0, 0))
    padding = png_chunk(b"zzZz", b"") * chunks
    return b"\x89PNG\r\n\x1a\n" + header + pixel + padding + png_chunk(b"IEND", b"")


def padded_jpeg(comments: int) -> bytes:
    """An 8 x 8 JPEG whose header carries ``comments`` empty comment segments."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG")
    plain = out.getvalue()
    return plain[:2] + b"\xff\xfe\x00\x02" * comments + plain[2:]
