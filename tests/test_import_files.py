"""Real files: semicolons, tabs, Windows-1252, byte-order marks, headers of one's own (named once, remembered),
duplicate and formula identifiers, bad rows counted as rows with their values quoted and close matches offered;
and the way past bad rows: import the good ones, download the bad ones to fix, from the page and the CLI."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, ImportKind, ImportRun, Role
from app.models.imports import ImportMapping
from app.services import importing, snipeit
from app.services.csvio import HeaderError, mapped
from tests import factories

GAM = Path("/work/shared/fixtures/google-admin/gam-print-cros.csv").read_bytes()
HEAD = ["Asset Tag", "Serial Number", "Model Name", "Manufacturer", "Status", "Location", "Notes", "Email"]


def _file(rows: list[list[str]], *, sep: str = ",", header: list[str] = HEAD, encoding: str = "utf-8") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=sep, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode(encoding)


def _row(tag: str, serial: str, notes: str = "", email: str = "", location: str = "LHS") -> list[str]:
    return [tag, serial, "Chromebook 3100", "Dell", "Ready to Deploy", location, notes, email]


@pytest.fixture
def world(ctx):
    lhs = factories.make_campus("LHS")
    factories.make_room(lhs, "LHS-117")
    factories.make_person(lhs, "Chloe Kim", email="c.kim@students.example.org", username="ckim")
    return {"campus": lhs, "admin": factories.make_user()}


@pytest.mark.parametrize(
    "sep,encoding,bom",
    [(";", "cp1252", ""), ("\t", "utf-8", ""), (",", "utf-8", "\ufeff"), (";", "utf-8", "\ufeff")],
)
def test_separators_and_encodings(world, sep, encoding, bom):
    data = bom.encode("utf-8") + _file([_row("LHS-1", "SN1", "José Núñez-Renée; 1,5 €")], sep=sep, encoding=encoding)
    report = snipeit.run(data, by=world["admin"], dry_run=False)
    assert report.ok, report.errors
    assert db.session.scalar(sa.select(Asset.notes)) == "José Núñez-Renée; 1,5 €"


def test_bad_rows_are_counted_as_rows_with_their_values_quoted(world):
    data = _file(
        [
            _row("LHS-1", "SN1"),
            _row("LHS-1", "SN1"),  # duplicate tag and serial: two problems, one row
            _row("=1+2", "SN3"),  # a formula
            _row("'=HYPERLINK(1)", "SN4"),  # a formula behind the export's guard
            _row("LHS-5", "SN5", email="ckim@students.example.org"),  # nobody; Chloe is close
            _row("LHS-6", "SN6", location="LHS-171"),  # no such room; LHS-117 is close
        ]
    )
    report = snipeit.run(data, by=world["admin"], dry_run=True)
    assert len(report.errors) == 6 and report.bad_rows == 5 and report.counts()["errors"] == 5
    assert "5 bad row(s)" in report.summary()
    messages = {e.line: [] for e in report.errors}
    for e in report.errors:
        messages[e.line].append(e.message)
    assert messages[3] == ["The asset tag 'LHS-1' is also on line 2.", "The serial number 'SN1' is also on line 2."]
    assert "'=1+2' starts like a spreadsheet formula" in messages[4][0]
    assert "'=HYPERLINK(1)' starts like a spreadsheet formula" in messages[5][0]
    assert messages[6] == [
        "No person with email 'ckim@students.example.org'; did you mean 'c.kim@students.example.org'?"
    ]
    assert messages[7] == ["No campus or room called 'LHS-171'; did you mean 'LHS-117'?"]


def test_missing_columns_name_the_files_headers_and_a_mapping_reads_it(world):
    data = _file([["LHS-1", "SN1", "Chromebook 3100", "Dell"]], header=["Tag ID", "Serial No", "Model", "Maker"])
    with pytest.raises(HeaderError) as exc:
        snipeit.run(data, by=world["admin"], dry_run=True)
    assert str(exc.value) == (
        "This file has no Asset Tag or Serial Number column. Its columns are: Tag ID, Serial No, Model, Maker."
    )
    assert "asset_tag" not in str(exc.value)
    columns = importing.chosen_columns(exc.value, {"asset_tag": "tag id", "serial": "Serial No"})
    assert columns == {"asset_tag": "Tag ID", "serial": "Serial No"}
    importing.remember_mapping(ImportKind.snipeit, columns, by=world["admin"])
    report = snipeit.run(
        mapped(data, importing.mapping_for(ImportKind.snipeit)),
        by=world["admin"],
        default_campus=world["campus"],
        dry_run=True,
    )
    assert report.ok and report.created == 1, report.errors


def test_good_rows_only_keeps_every_other_rows_line(world):
    data = _file([_row("LHS-1", "SN1"), _row("=bad", "SN2", notes="two\nlines"), _row("LHS-3", "SN3")])
    dry = snipeit.run(data, by=world["admin"], dry_run=True)
    assert [e.line for e in dry.errors] == [4]
    good, approved = importing.good_rows_only(data, dry.plan.to_bytes())
    report = snipeit.run(good, by=world["admin"], dry_run=False, approved=approved)
    assert report.ok and not report.different and report.created == 2
    assert [c["line"] for c in report.changes] == [2, 5]
    rejected = "".join(importing.rejected_csv(data, importing.bad_lines(dry)))
    rows = list(csv.reader(io.StringIO(rejected.removeprefix("\ufeff"))))
    assert rows[0] == [*HEAD, "error"]
    assert rows[1][:7] == ["'=bad", "SN2", "Chromebook 3100", "Dell", "Ready to Deploy", "LHS", "two\nlines"]
    assert rows[1][-1].startswith("Asset Tag: The asset tag '=bad' starts like a spreadsheet formula")


# --- the page ---------------------------------------------------------------------------------------------------


def _upload(client, kind: str, data: bytes, **form):
    body = {"file": (io.BytesIO(data), "devices.csv"), **form}
    return client.post(f"/imports/{kind}", data=body, content_type="multipart/form-data")


def _token(resp) -> str:
    return re.search(r"/imports/runs/([0-9a-f]{32})", resp.headers["Location"]).group(1)


@pytest.fixture
def campus(app):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        factories.make_room(lhs, "LHS-117")
        db.session.commit()
        return lhs.id


def test_page_asks_which_columns_are_which_and_remembers(client, login_as, app, campus):
    login_as(Role.admin)
    data = _file([_row("LHS-1", "SN1")], header=["Tag ID", *HEAD[1:]])
    resp = _upload(client, "snipeit", data)
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'aria-invalid="true"' in page
    assert "This file has no Asset Tag column. Its columns are: Tag ID, Serial Number" in page
    token = re.search(r"/imports/runs/([0-9a-f]{32})/columns", page).group(1)
    assert '<option value="Tag ID">Tag ID</option>' in page
    refused = client.post(f"/imports/runs/{token}/columns", data={"column-asset_tag": "Nope"})
    assert refused.status_code == 422 and "Choose which of the file&#39;s columns is Asset Tag." in refused.get_data(
        as_text=True
    )
    resp = client.post(f"/imports/runs/{token}/columns", data={"column-asset_tag": "Tag ID"})
    assert resp.status_code == 303 and _token(resp) == token
    assert 'data-count="created">1<' in client.get(f"/imports/runs/{token}").get_data(as_text=True)
    # The next file with those headers just reads.
    assert _upload(client, "snipeit", data).status_code == 303
    with app.app_context():
        kept = db.session.scalar(sa.select(ImportMapping).where(ImportMapping.kind == ImportKind.snipeit))
        assert kept.columns == {"asset_tag": "Tag ID"}


def test_page_imports_the_good_rows_and_hands_back_the_bad(client, login_as, app, campus):
    login_as(Role.admin)
    data = _file([_row("LHS-1", "SN1"), _row("LHS-1", "SN2", notes="José"), _row("LHS-3", "SN3")], sep=";")
    token = _token(_upload(client, "snipeit", data))
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert 'data-count="errors">1<' in page and "Import the 2 good rows" in page
    rejected = client.get(f"/imports/runs/{token}/rejected.csv")
    assert rejected.status_code == 200 and rejected.data.startswith("\ufeffAsset Tag,".encode())
    # Without asking, all or nothing still holds.
    client.post(f"/imports/runs/{token}/apply")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Asset)) == 0
    resp = client.post(f"/imports/runs/{token}/apply", data={"skip_bad_rows": "1"})
    assert resp.status_code == 303
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert "Applied" in page and "1 bad row was left out." in page
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Asset.asset_tag))) == ["LHS-1", "LHS-3"]
        assert db.session.scalar(sa.select(ImportRun.state).where(ImportRun.token == token)).value == "applied"
    # The bad row, fixed in the downloaded file, goes in on its own.
    fixed = client.get(f"/imports/runs/{token}/rejected.csv").data.replace(b"LHS-1,SN2", b"LHS-2,SN2")
    again = _token(_upload(client, "snipeit", fixed))
    page = client.get(f"/imports/runs/{again}").get_data(as_text=True)
    assert 'data-count="created">1<' in page and 'data-count="errors">0<' in page and "Ignored unknown" not in page
    client.post(f"/imports/runs/{again}/apply")
    with app.app_context():
        assert db.session.scalar(sa.select(Asset.notes).where(Asset.asset_tag == "LHS-2")) == "José"


def test_google_file_good_rows_too(client, login_as, app):
    with app.app_context():
        for code in ("LHS", "JMS", "RES"):
            factories.make_campus(code)
        for line in GAM.decode().splitlines()[1:4]:
            cells = line.split(",")
            factories.make_asset(factories.make_campus(cells[6][:3]), asset_tag=cells[6], serial=cells[1])
        db.session.commit()
    login_as(Role.admin)
    lines = GAM.decode().splitlines()
    broken = lines[2].replace("2026-11-18T02:00:00.000Z", "yesterday")
    data = "\r\n".join([lines[0], lines[1], broken, lines[3]]).encode()
    token = _token(_upload(client, "google-admin", data))
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert 'data-count="errors">1<' in page and "Import the 2 good rows" in page
    assert client.post(f"/imports/runs/{token}/apply", data={"skip_bad_rows": "1"}).status_code == 303
    with app.app_context():
        synced = set(db.session.scalars(sa.select(Asset.serial).where(Asset.org_unit.is_not(None))))
        assert synced == {lines[1].split(",")[1], lines[3].split(",")[1]}
    rejected = client.get(f"/imports/runs/{token}/rejected.csv").get_data(as_text=True)
    assert "yesterday" in rejected and rejected.splitlines()[0].endswith(",error")


def test_new_routes_are_admins_and_their_own_runs(client, login_as, app, campus):
    login_as(Role.admin)
    token = _token(_upload(client, "snipeit", _file([_row("LHS-1", "SN1"), _row("LHS-1", "SN2")])))
    assert client.get(f"/imports/runs/{token}/rejected.csv").status_code == 200
    login_as(Role.tech, "LHS")
    assert client.get(f"/imports/runs/{token}/rejected.csv").status_code == 403
    assert client.post(f"/imports/runs/{token}/columns", data={}).status_code == 403
    login_as(Role.admin, "LHS")
    assert client.get(f"/imports/runs/{token}/rejected.csv").status_code == 404
    assert client.post(f"/imports/runs/{token}/columns", data={}).status_code == 404
    assert client.get("/imports/runs/0123456789abcdef0123456789abcdef/rejected.csv").status_code == 404


# --- the command line -------------------------------------------------------------------------------------------


def test_cli_skip_bad_rows_map_and_rejected(app, tmp_path, campus):
    runner = app.test_cli_runner()
    source = tmp_path / "devices.csv"
    source.write_bytes(
        _file([_row("LHS-1", "SN1"), _row("@SUM", "SN2"), _row("LHS-3", "SN3")], header=["Tag", *HEAD[1:]])
    )
    result = runner.invoke(args=["import", "snipeit", str(source)])
    assert result.exit_code == 1 and "1 bad row(s); nothing was imported" in result.output
    wrong = tmp_path / "wrong.csv"
    wrong.write_bytes(_file([_row("LHS-1", "SN1")], header=["Tag ID", *HEAD[1:]]))
    result = runner.invoke(args=["import", "snipeit", str(wrong)])
    assert result.exit_code == 1 and "Its columns are: Tag ID, Serial Number" in result.output
    assert "--map 'Asset Tag=Tag ID'" in result.output
    rejected = tmp_path / "rejected.csv"
    result = runner.invoke(args=["import", "snipeit", str(source), "--skip-bad-rows", "--rejected", str(rejected)])
    assert result.exit_code == 0, result.output
    assert "1 bad row(s) left out." in result.output and "2 new" in result.output
    assert rejected.read_bytes().startswith("\ufeffTag,Serial Number".encode()) and b"'@SUM" in rejected.read_bytes()
    result = runner.invoke(args=["import", "snipeit", str(wrong), "--map", "Asset Tag=Tag ID", "--dry-run"])
    assert result.exit_code == 0 and "0 new, 0 updated, 1 unchanged" in result.output, result.output
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Asset.asset_tag))) == ["LHS-1", "LHS-3"]
