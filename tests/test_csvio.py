"""The shared CSV reader and writer."""

from __future__ import annotations

import io
from datetime import date

import pytest

from app.services.csvio import (
    HeaderError,
    encoding_of,
    has_text,
    parse_date,
    read_table,
    safe_cell,
    sniff_delimiter,
    unguard,
    write_csv,
)

ALIASES = {"serial": ("Serial Number", "serialNumber"), "aue": ("Auto Update Expiration", "autoUpdateThrough")}


def test_bom_aliases_blank_lines_and_line_numbers():
    data = "\ufeffSERIAL number,Auto-update expiration,Extra\r\n\r\n  ABC1 ,June 2029,x\r\nDEF2,2028-06,y\r\n".encode()
    table = read_table(data, ALIASES, required=["serial"])
    rows = list(table.rows)
    assert [r.line for r in rows] == [3, 4]
    assert rows[0].cells == {"serial": "ABC1", "aue": "June 2029"}
    assert table.unknown_headers == ["Extra"]


def test_a_stream_is_read_row_by_row_and_left_open(tmp_path):
    """An upload spooled to disk is parsed from the file, in its encoding, and is still there for parking."""
    path = tmp_path / "upload.csv"
    # Past the first megabyte a byte that is not UTF-8: the whole file is Windows-1252 (as Excel writes it).
    path.write_bytes(b"serial,aue\r\n" + b"ABC,2029-06\r\n" * 100_000 + b"Caf\xe9,2029-06\r\n")
    with path.open("rb") as stream:
        table = read_table(stream, ALIASES, required=["serial"])
        first = next(table.rows)
        assert (first.line, first.cells["serial"]) == (2, "ABC")
        *_, last = table.rows
        assert (last.line, last.cells["serial"]) == (100_002, "Caf\u00e9")
        del table
        stream.seek(0)
        assert stream.read(6) == b"serial"
    with path.open("rb") as stream:
        assert encoding_of(stream) == "cp1252" and stream.tell() == 0
    assert encoding_of(io.BytesIO("\ufeffserial\nÉ\n".encode())) == "utf-8-sig"


def test_has_text_looks_past_white_space():
    assert not has_text(io.BytesIO(b"  \r\n\t\n"))
    stream = io.BytesIO(b" " * 3_000_000 + b"x")
    assert has_text(stream) and stream.tell() == 0


def test_missing_required_column_names_it():
    with pytest.raises(HeaderError, match="no Serial Number column"):
        read_table(b"name,aue\nx,y\n", ALIASES, required=["serial"])
    with pytest.raises(HeaderError, match="empty"):
        read_table(b"\n\n", ALIASES)


@pytest.mark.parametrize(
    "text,expected",
    [
        ("2029-06-01", date(2029, 6, 1)),
        ("2029-06", date(2029, 6, 1)),
        ("June 2029", date(2029, 6, 1)),
        ("Jun 2029", date(2029, 6, 1)),
        ("06/30/2027", date(2027, 6, 30)),
        ("2026-11-18T21:00:00.000Z", date(2026, 11, 18)),
        # A timestamp is the day it names, whatever its zone.
        ("2027-06-30T23:30:00-07:00", date(2027, 6, 30)),
        ("06/2027", date(2027, 6, 1)),
        ("6/2027", date(2027, 6, 1)),
        ("6/1/2027", date(2027, 6, 1)),
        ("June 2027", date(2027, 6, 1)),
        ("1811635200000", date(2027, 5, 30)),
        ("", None),
    ],
)
def test_parse_date(text, expected):
    assert parse_date(text) == expected


def test_parse_date_rejects_nonsense():
    with pytest.raises(ValueError):
        parse_date("someday")


@pytest.mark.parametrize("cell", ["=1+1", "+SUM(A1)", "-2", "@cmd", "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell):
    assert safe_cell(cell) == "'" + cell
    out = "".join(write_csv(["h"], [[cell]]))
    assert "'" + cell.strip() in out or "'" + cell in out


def test_plain_cells_untouched():
    assert safe_cell("LHS-1000") == "LHS-1000" and safe_cell(None) == "" and safe_cell(12) == "12"


def test_a_cell_past_the_csv_limit_is_a_header_error_naming_its_line():
    big = "x" * 200_000
    table = read_table(f"asset_tag,serial\nLHS-1,S1\nLHS-2,{big}\n", {"asset_tag": (), "serial": ()})
    with pytest.raises(HeaderError, match="Line 3 cannot be read"):
        list(table.rows)
    with pytest.raises(HeaderError, match="Line 1 cannot be read"):
        read_table(f"{big},serial\n", {"asset_tag": ()})


@pytest.mark.parametrize(
    "line,sep", [("a,b;c", ","), ("a;b;c", ";"), ("a\tb\tc,d", "\t"), ('"x;y",b', ","), ("a", ",")]
)
def test_sniff_delimiter(line, sep):
    assert sniff_delimiter(line) == sep


@pytest.mark.parametrize("cell", ["=1+2", "'=1+2", "''@x", "plain", "'quoted'", "-", "'"])
def test_guard_and_unguard_give_every_cell_back(cell):
    assert unguard(safe_cell(cell)) == cell
