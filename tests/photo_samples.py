"""Photos that cost memory to decode, and a probe that cleans one in a fresh process and reports its peak.

Shared by tests/test_photos_memory.py (which asserts the budget) and bench/bench_photos.py (which reports it).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import zlib
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent

# Runs in its own interpreter, so nothing else the test process holds is counted. The peak is the kernel's
# high-water mark of resident memory (VmHWM), reset just before the call (clear_refs 5); ru_maxrss cannot be reset
# and, after exec, still carries the parent's size. The baseline is the resident size at that moment, with the
# app, Pillow and the file already loaded.
PROBE = """
import json, sys, time
from PIL import Image
from app.services import photos

def status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])

data = open(sys.argv[1], "rb").read()
Image.init()
with open("/proc/self/clear_refs", "w") as f:
    f.write("5")
before = status_kb("VmRSS")
started = time.perf_counter()
try:
    out = photos.clean_photo(data)
    result = {"ok": True, "size": [out.width, out.height], "bytes": len(out.content)}
except photos.DomainError as exc:
    result = {"ok": False, "error": type(exc).__name__, "message": exc.message}
result["seconds"] = time.perf_counter() - started
result["peak_mb"] = (status_kb("VmHWM") - before) / 1024
print(json.dumps(result))
"""


def probe(path: Path) -> dict:
    """Clean the photo at `path` in a new Python process: ok, size or error, seconds and peak_mb above baseline."""
    out = subprocess.run(
        [sys.executable, "-c", PROBE, str(path)], cwd=ROOT, capture_output=True, text=True, check=True, timeout=120
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def flat_png(width: int, height: int, *, alpha: bool = True) -> bytes:
    """A PNG of one flat colour, written row by row so that making it never holds the decoded canvas.

    A 7060×7060 RGBA one is 200 MB of pixels and compresses to ~190 KB: the pixel flood from the issue.
    """

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    bands = 4 if alpha else 3
    row = b"\x00" + b"\x80" * (width * bands)  # filter byte, then the pixels
    packer = zlib.compressobj(9)
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 6 if alpha else 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def camera_jpeg(width: int, height: int, *, orientation: int | None = None) -> bytes:
    """A JPEG of the given size with a little structure in it, optionally with an EXIF orientation."""
    im = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    exif = Image.Exif()
    if orientation:
        exif[0x0112] = orientation
    out = io.BytesIO()
    im.save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()
