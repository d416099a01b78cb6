"""Photos from the public: checked by content, re-encoded to a plain JPEG with every bit of metadata dropped."""

from __future__ import annotations

import io
import warnings
from dataclasses import dataclass

from PIL import Image, ImageOps, UnidentifiedImageError

from app.services.errors import DomainError, Invalid

MAX_BYTES = 10 * 1024 * 1024
MAX_SIDE = 2048
# Decoding cost grows with pixels, not bytes: a small file can claim a huge canvas (a "pixel flood").
# 50 MP covers every phone camera's normal output; Pillow raises past twice its limit and warns past it.
MAX_PIXELS = 50_000_000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
# Formats we decode; Pillow refuses anything else (SVG and HTML are not images to it at all). HEIF and AVIF
# come in only where the installed Pillow can read them.
ACCEPTED_FORMATS = ("JPEG", "MPO", "PNG", "WEBP", "HEIF", "AVIF")
JPEG_QUALITY = 85


class PhotoTooLarge(DomainError):
    status = 413
    code = "too_large"


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
    Image.init()
    formats = [f for f in ACCEPTED_FORMATS if f in Image.OPEN]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=formats) as im:
                if im.width * im.height > MAX_PIXELS:
                    raise Invalid("That image is too big to process.", field=field)
                im.load()
                upright = ImageOps.exif_transpose(im)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise Invalid("That image is too big to process.", field=field) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise Invalid("That file is not a photo we can read (use JPEG, PNG, WebP or HEIC).", field=field) from exc
    rgb = _flatten(upright)
    rgb.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    # A brand-new image carries no info dict at all: no EXIF, GPS, XMP, ICC profile or comments.
    clean = Image.new("RGB", rgb.size)
    clean.paste(rgb)
    out = io.BytesIO()
    clean.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return CleanPhoto(out.getvalue(), clean.width, clean.height)


def _flatten(im: Image.Image) -> Image.Image:
    """RGB pixels; transparency is laid over white (a phone screenshot may be a PNG with alpha)."""
    if im.mode in ("RGBA", "LA") or (im.mode == "P" and "transparency" in im.info):
        rgba = im.convert("RGBA")
        white = Image.new("RGB", rgba.size, (255, 255, 255))
        white.paste(rgba, mask=rgba.getchannel("A"))
        return white
    return im.convert("RGB")
