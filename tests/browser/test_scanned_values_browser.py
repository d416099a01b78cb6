"""One meaning for a scanned value in the browser: static/js/codes.js's scannedValue against the shared table of
cases (tests/cases/scanned_values.json, which pytest holds app.tagcodes.scanned_value to), and the camera reading
a code the same way as the field."""

from __future__ import annotations

import json
from pathlib import Path

TABLE = json.loads((Path(__file__).parent.parent / "cases" / "scanned_values.json").read_text())
CASES = [(case["input"], case["value"]) for case in TABLE["cases"]]

RUN_TABLE = """async (inputs) => {
  const { scannedValue } = await import("/static/js/codes.js");
  return inputs.map((text) => scannedValue(text));
}"""
# A camera on the page, fed each raw value as if its detector had read it; what it hands on is what it names.
CAMERA_READS = """async (inputs) => {
  const { CameraScanner } = await import("/static/js/camera.js");
  const root = document.createElement("div");
  document.body.append(root);
  const named = [];
  const camera = new CameraScanner(root, { onScan: (value) => { named.push(value); } });
  inputs.forEach((raw, i) => camera.handle(raw, "qr_code", i * 10_000));
  return named;
}"""


def test_every_case_of_the_shared_table_in_the_browser(phone):
    # A page of the app: the module comes from its own origin under its own CSP, as the pages load it.
    phone.goto("/offline")
    inputs = [text for text, _ in CASES]
    assert phone.evaluate(RUN_TABLE, inputs) == [value for _, value in CASES]


def test_the_camera_names_what_the_field_would(phone):
    phone.goto("/offline")
    readable = [(text, value) for text, value in CASES if text]
    assert phone.evaluate(CAMERA_READS, [text for text, _ in readable]) == [value for _, value in readable]
