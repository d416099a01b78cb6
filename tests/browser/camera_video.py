"""Fake-camera footage for browser tests: images of labels and barcodes written as a YUV4MPEG2 (.y4m) video.

Chromium's `--use-file-for-fake-video-capture=<file>.y4m` plays the file in a loop as the camera. Frames are
4:2:0 (C420): a full-size luma plane, then Cb and Cr at half size, converted with Pillow alone.
"""

from __future__ import annotations

import io
from pathlib import Path

import zxingcpp
from PIL import Image

WIDTH, HEIGHT = 640, 480


def code128(text: str, scale: int = 3) -> Image.Image:
    """A Code 128 barcode of text with its quiet zones, as a manufacturer's serial sticker carries it."""
    bar = zxingcpp.create_barcode(text, zxingcpp.BarcodeFormat.Code128).to_image(scale=scale)
    view = memoryview(bar)
    return Image.frombytes("L", (view.shape[1], view.shape[0]), view.tobytes()).convert("RGB")


def qr_svg(text: str) -> str:
    """The QR code of text as SVG, drawn by the same `qrcode` library the app prints labels with."""
    import qrcode
    import qrcode.image.svg

    return qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=20, border=4).to_string(
        encoding="unicode"
    )


def from_png(data: bytes) -> Image.Image:
    """An image from PNG bytes (a screenshot of a printed label, say)."""
    return Image.open(io.BytesIO(data)).convert("RGB")


def framed(image: Image.Image) -> Image.Image:
    """The image centred on a light-grey camera frame, scaled down if it does not fit."""
    frame = Image.new("RGB", (WIDTH, HEIGHT), (236, 236, 236))
    img = image.copy()
    img.thumbnail((WIDTH - 40, HEIGHT - 40))
    frame.paste(img, ((WIDTH - img.width) // 2, (HEIGHT - img.height) // 2))
    return frame


def blank() -> Image.Image:
    """A frame with nothing to read."""
    return Image.new("RGB", (WIDTH, HEIGHT), (200, 205, 210))


def write_y4m(path: Path, scenes: list[tuple[Image.Image, int]], fps: int = 10) -> Path:
    """Write scenes (image, number of frames) as a C420 YUV4MPEG2 video at fps frames per second."""
    with path.open("wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for image, count in scenes:
            frame = _i420(framed(image) if image.size != (WIDTH, HEIGHT) else image)
            for _ in range(count):
                out.write(b"FRAME\n")
                out.write(frame)
    return path


def _i420(image: Image.Image) -> bytes:
    y, cb, cr = image.convert("YCbCr").split()
    half = (WIDTH // 2, HEIGHT // 2)
    return y.tobytes() + cb.resize(half, Image.BOX).tobytes() + cr.resize(half, Image.BOX).tobytes()
