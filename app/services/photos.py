"""Photos from the public: checked by content and by the size they declare, decoded within a memory budget, and
re-encoded to a plain JPEG with every bit of metadata dropped.

Memory budget: cleaning one photo never costs a worker more than MEMORY_BUDGET_MB of memory (measured by
tests/test_photos_memory.py; bench/bench_photos.py reports the figures). Decoding cost grows with pixels, not bytes:
a 190 KB PNG can declare a 7060×7060 RGBA canvas that takes 200 MB to decode and used to cost ~930 MB to clean. So
the decision is made from the header, before any pixel is decoded: the full-size pixels the clean-up will hold (the
decoded image plus the one full-size copy that flattening it to RGB makes) must fit in MAX_DECODE_BYTES. JPEGs are
decoded straight at 1/2, 1/4 or 1/8 scale (libjpeg's DCT scaling), so every JPEG a phone takes fits and none is
ever held at full size; the original is dropped before the result is shrunk to MAX_SIDE.
"""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import ExifTags, Image, UnidentifiedImageError

from app.services.errors import DomainError, Invalid

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
# No phone camera's normal output declares more; past this the photo is refused whatever its format.
MAX_PIXELS = 50_000_000
# Pillow raises past twice its limit and warns past it; the limit also guards any other decode in the process.
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# The full-size pixels one photo may hold while it is cleaned. Pillow keeps every multi-band pixel in 4 bytes, so
# this is 12.5 MP of RGB, or 6.2 MP of RGBA (flattening over white needs a second full-size canvas). A JPEG is
# decoded at 1/2, 1/4 or 1/8 scale until it fits, so no JPEG under MAX_PIXELS is refused for it.
MAX_DECODE_BYTES = 48 * 1024 * 1024
# A JPEG is decoded at half (or less) its size when that still leaves this long side, so a 12 MP phone photo
# (4032×3024) comes out 2016×1512 instead of 2048×1536 and never holds its 49 MB full-size decode.
SCALED_MIN_SIDE = MAX_SIDE * 9 // 10
# What the budget above comes to in a worker, with the reduced copy, the MAX_SIDE result and the JPEG encoder.
MEMORY_BUDGET_MB = 120


def _register_heif() -> bool:
    """Teach Pillow HEIC/HEIF, what iPhones and many Android phones take photos in; False where no pillow-heif
    wheel exists for the platform, and then nothing offers HEIC."""
    try:
        from pillow_heif import register_heif_opener
    except ImportError:
        return False
    register_heif_opener()
    return True


HEIC_READABLE = _register_heif()
# Formats we decode; Pillow refuses anything else (SVG and HTML are not images to it at all). HEIF (through
# pillow-heif) and AVIF come in only where the installed Pillow can read them.
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF")
SCALABLE_FORMATS = ("JPEG", "MPO")
JPEG_QUALITY = 85

# Bytes Pillow keeps per pixel for single-band modes; every multi-band mode (RGB included) is stored in 4.
_BAND_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_ALPHA_MODES = ("RGBA", "LA", "PA", "RGBa", "La")
# ImageOps.exif_transpose turns the full-size image (and copies it even when there is nothing to turn); the
# orientation is read first and applied to the small result instead.
_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


class PhotoTooLarge(DomainError):
    """The file is over MAX_BYTES (413)."""

    status = 413
    code = "too_large"


class PhotoTooBig(Invalid):
    """The image declares more pixels than a worker may decode (422 on the form's photo field)."""

    code = "too_big"


@dataclass(frozen=True)
class CleanPhoto:
    content: bytes
    width: int
    height: int


def clean_photo(data: bytes, *, field: str = "photo") -> CleanPhoto:
    """Check an uploaded image by its content and return it as a metadata-free JPEG at most MAX_SIDE px."""
    if len(data) > MAX_BYTES:
        raise PhotoTooLarge(f"That photo is too large; the limit is {MAX_BYTES // (1024 * 1024)} MB.", field=field)
    if not data:
        raise Invalid("That file is empty.", field=field)
    too_big = PhotoTooBig("That photo is too big to process; take it again at a smaller size.", field=field)
    Image.init()
    formats = [f for f in ACCEPTED_FORMATS if f in Image.OPEN]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            # Image.open reads the header only; nothing is decoded until load().
            im = Image.open(io.BytesIO(data), formats=formats)
            if im.width * im.height > MAX_PIXELS:
                raise too_big
            if im.format in SCALABLE_FORMATS:
                scale = _jpeg_scale(im.mode, im.size)
                if scale > 1:
                    im.draft("RGB", (im.width // scale, im.height // scale))
            if decode_cost(im.mode, im.size, transparent="transparency" in im.info) > MAX_DECODE_BYTES:
                raise too_big
            im.load()
            turn = _ORIENTATION.get(im.getexif().get(ExifTags.Base.Orientation, 1))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise too_big from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Invalid(f"That file is not a photo we can read (use {readable_formats()}).", field=field) from exc
    rgb = _flatten(im)
    # Dropping the decoded original before shrinking keeps at most two full-size canvases alive at once.
    del im
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    if turn is not None:
        rgb = rgb.transpose(turn)
    # A brand-new image carries no info dict at all: no EXIF, GPS, XMP, ICC profile or comments.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    del rgb
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), clean.width, clean.height)


def readable_formats() -> str:
    """The photo formats to name to people, HEIC only where it can be read."""
    return "JPEG, PNG, WebP or HEIC" if HEIC_READABLE else "JPEG, PNG or WebP"


def decode_cost(mode: str, size: tuple[int, int], *, transparent: bool = False) -> int:
    """Bytes of full-size pixels cleaning an image of this mode and size holds: decoded, plus its RGB flattening."""
    pixels = size[0] * size[1]
    cost = pixels * _BAND_BYTES.get(mode, 4)
    if mode == "RGB":
        return cost
    if mode in _ALPHA_MODES or transparent:
        # An RGBA copy unless it is one already, then the white canvas it is laid over.
        return cost + (0 if mode == "RGBA" else pixels * 4) + pixels * 4
    return cost + pixels * 4


def _jpeg_scale(mode: str, size: tuple[int, int]) -> int:
    """1, 2, 4 or 8: how much smaller libjpeg should decode; as small as keeps SCALED_MIN_SIDE, then within budget."""
    w, h = size
    scale = 1
    while scale < 8 and max(w, h) // (scale * 2) >= SCALED_MIN_SIDE:
        scale *= 2
    while scale < 8 and decode_cost(mode, (-(-w // scale), -(-h // scale))) > MAX_DECODE_BYTES:
        scale *= 2
    return scale


def _flatten(im: Image.Image) -> Image.Image:
    """RGB pixels; transparency is laid over white (a phone screenshot may be a PNG with alpha)."""
    if im.mode == "RGB":
        return im
    if im.mode in _ALPHA_MODES or (im.mode == "P" and "transparency" in im.info):
        rgba = im if im.mode == "RGBA" else im.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        # An RGBA image as its own mask uses its alpha band in place (getchannel would copy it).
        white.paste(rgba, mask=rgba)
        return white
    return im.convert("RGB")
