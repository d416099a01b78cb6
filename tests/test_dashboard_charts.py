"""The SVG chart macros on empty, single-value and large data: no division by zero, text clear of the bars."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

from app.services.dashboard import Bar

SVG = "{http://www.w3.org/2000/svg}"


def _render(app, macro: str, *args, **kwargs) -> str:
    with app.test_request_context():
        module = app.jinja_env.get_template("_macros/charts.html").make_module({})
        return str(getattr(module, macro)(*args, **kwargs))


def _svg(html: str) -> ET.Element:
    match = re.search(r"<svg.*</svg>", html, re.S)
    assert match, html
    return ET.fromstring(match.group(0).replace("<svg", '<svg xmlns="http://www.w3.org/2000/svg"', 1))


def _bars(n: int, value=lambda i: i) -> list[Bar]:
    return [Bar(f"Label {i}", value(i), href=f"/assets?i={i}") for i in range(n)]


@pytest.mark.parametrize("macro", ["hbar", "line"])
def test_empty_data_says_so(app, macro):
    html = _render(app, macro, [], "Empty")
    assert "<svg" not in html and "to show" in html


def test_all_zero_bars_draw_zero_width_bars(app):
    root = _svg(_render(app, "hbar", _bars(3, lambda i: 0), "Zeros"))
    assert [float(r.get("width")) for r in root.findall(f".//{SVG}rect")] == [0, 0, 0]
    _check_hbar(root)


def _check_hbar(root: ET.Element) -> None:
    """Every label sits above its bar; every value starts after its bar ends."""
    rows = root.findall(f".//{SVG}a")
    assert rows
    for row in rows:
        label, value = row.findall(f"{SVG}text")
        rect = row.find(f"{SVG}rect")
        bar_top, bar_end = float(rect.get("y")), float(rect.get("x")) + float(rect.get("width"))
        assert float(label.get("y")) + 3 < bar_top  # text baseline + descenders stay above the bar
        assert float(value.get("x")) > bar_end
        assert bar_end >= 0 and float(value.get("x")) + 8 * len(value.text) <= 340 + 1


def test_hbar_single_value(app):
    root = _svg(_render(app, "hbar", [Bar("Only", 7, href="/x")], "One"))
    _check_hbar(root)
    assert root.find(f".//{SVG}rect").get("width") == f"{340 - 18:.1f}"


def test_hbar_large_data(app):
    bars = _bars(60, lambda i: i * 123_457)
    root = _svg(_render(app, "hbar", bars, "Many"))
    _check_hbar(root)
    assert len(root.findall(f".//{SVG}rect")) == 60
    assert "7,283,963" in ET.tostring(root, encoding="unicode")
    # The tiniest non-zero value is still a visible bar; zero draws nothing wider than zero.
    widths = [float(r.get("width")) for r in root.findall(f".//{SVG}rect")]
    assert widths[0] == 0 and widths[1] >= 2


def test_stacked_handles_empty_rows_and_big_totals(app):
    segs = [Bar("deployed", 250_000, href="/a", css="st-deployed"), Bar("missing", 1, href="/b", css="st-missing")]
    rows = [
        {"label": "LHS", "total": 250_001, "href": "/c", "segments": segs},
        {"label": "EMPTY", "total": 0, "href": "/d", "segments": [Bar("deployed", 0, href="/e")]},
    ]
    html = _render(app, "stacked", rows, segs, "Status")
    root = _svg(html)
    rects = root.findall(f".//{SVG}rect")
    assert len(rects) == 2 and abs(sum(float(r.get("width")) for r in rects) - 340) < 0.1
    assert "250,001" in html
    assert "No devices" in _render(app, "stacked", [], [], "Status")


def test_line_single_and_many_points(app):
    one = _svg(_render(app, "line", [Bar("Nov 2026", 0, href="/x")], "One"))
    point = one.find(f".//{SVG}circle")
    assert point.get("cx") == f"{34 + (340 - 34 - 26) / 2:.1f}"  # centred, and a zero maximum divides by one
    many = _svg(_render(app, "line", _bars(36, lambda i: i * 1000), "Many"))
    assert len(many.findall(f".//{SVG}circle")) == 36
    ticks = [t for t in many.findall(f".//{SVG}text") if t.get("text-anchor") == "middle"]
    assert 2 <= len(ticks) <= 5  # thinned so the month labels never crowd
    assert all("nan" not in (c.get("cy") or "") for c in many.findall(f".//{SVG}circle"))
