"""A photo never costs a worker more than photos.MEMORY_BUDGET_MB, measured as the peak RSS of a real process."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from app.services import photos
from tests.photo_samples import camera_jpeg, flat_png, probe
from tests.test_student_report import heic_photo

BUDGET = photos.MEMORY_BUDGET_MB


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    folder = tmp_path_factory.mktemp("photos")
    files = {
        "flood": flat_png(7060, 7060),
        "jpeg_24mp": camera_jpeg(6000, 4000),
        "phone_12mp": camera_jpeg(4032, 3024, orientation=6),
        # The largest PNG that is still taken: RGB just under the decode budget.
        "png_at_limit": flat_png(3540, 3540, alpha=False),
        # An iPhone's 12 MP HEIC, decoded by libheif whole (HEIC has no reduced-scale decode).
        "heic_12mp": heic_photo(size=(4032, 3024), with_gps=False),
    }
    paths = {}
    for name, data in files.items():
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return paths


def test_pixel_flood_png_is_refused_before_it_is_decoded(samples):
    assert samples["flood"].stat().st_size < 300_000, "the flood is small on the wire"
    result = probe(samples["flood"])
    assert result == {**result, "ok": False, "error": "PhotoTooBig"}
    # Decoding it would take 200 MB and cleaning it used to take ~930 MB.
    assert result["peak_mb"] < 20, result


def test_big_jpeg_is_decoded_at_reduced_scale_within_budget(samples):
    result = probe(samples["jpeg_24mp"])
    assert result["ok"] and result["size"] == [2048, 1365], result
    # Its full-size decode alone would be 96 MB.
    assert result["peak_mb"] < BUDGET, result
    assert result["peak_mb"] < 70, result


def test_phone_photo_still_works_upright_and_within_budget(samples):
    result = probe(samples["phone_12mp"])
    # Decoded at half scale (2016×1512), turned upright by its EXIF orientation.
    assert result["ok"] and result["size"] == [1512, 2016], result
    assert result["peak_mb"] < BUDGET, result


def test_worst_accepted_png_stays_within_budget(samples):
    result = probe(samples["png_at_limit"])
    assert result["ok"] and result["size"] == [2048, 2048], result
    assert result["peak_mb"] < BUDGET, result


def test_phone_heic_stays_within_budget(samples):
    result = probe(samples["heic_12mp"])
    assert result["ok"] and result["size"] == [2048, 1536], result
    assert result["peak_mb"] < BUDGET, result


@pytest.mark.parametrize(
    "mode,size,ok",
    [
        ("RGB", (3540, 3540), True),
        ("RGB", (3600, 3600), False),
        ("RGBA", (2500, 2500), True),
        ("RGBA", (2600, 2600), False),
        ("P", (2300, 2300), True),
    ],
)
def test_decode_cost_decides_by_the_declared_canvas(mode, size, ok):
    cost = photos.decode_cost(mode, size, transparent=mode == "P")
    assert (cost <= photos.MAX_DECODE_BYTES) is ok


def test_transparent_png_is_laid_over_white():
    out = io.BytesIO()
    Image.new("RGBA", (400, 300), (0, 0, 255, 0)).save(out, "PNG")
    cleaned = photos.clean_photo(out.getvalue())
    assert Image.open(io.BytesIO(cleaned.content)).convert("RGB").getpixel((10, 10)) >= (250, 250, 250)
