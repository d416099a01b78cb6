"""The import pages: upload, dry run, apply, the mismatch list, permissions and the export button."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Campus, ImportRun, Role
from tests import factories
from tests.conftest import hx

GAM = Path("/work/shared/fixtures/google-admin/gam-print-cros.csv").read_bytes()
SNIPE = Path("/work/shared/fixtures/snipeit/assets-export.csv").read_bytes()


@pytest.fixture
def devices(app):
    with app.app_context():
        campuses = {c: factories.make_campus(c) for c in ("LHS", "JMS", "RES")}
        for line in GAM.decode().splitlines()[1:11]:
            cells = line.split(",")
            factories.make_asset(campuses[cells[6][:3]], asset_tag=cells[6], serial=cells[1])
        db.session.commit()


def _upload(client, kind: str, data: bytes, name: str = "devices.csv", **form):
    return client.post(
        f"/imports/{kind}", data={"file": (io.BytesIO(data), name), **form}, content_type="multipart/form-data"
    )


def _token(resp) -> str:
    return re.search(r"/imports/runs/([0-9a-f]{32})", resp.headers["Location"]).group(1)


def test_upload_dry_run_apply_and_mismatches(client, login_as, devices, app):
    login_as(Role.admin)
    resp = _upload(client, "google-admin", GAM)
    assert resp.status_code == 303
    token = _token(resp)
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert "Dry run: nothing saved yet" in page and 'data-count="updated">10<' in page
    assert "30</strong> in Google, not in Rollcall" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == 0
    applied = client.post(f"/imports/runs/{token}/apply")
    assert applied.status_code == 303
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert "Applied" in page and "Open the mismatch list" in page
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == 10
        assert db.session.scalar(sa.select(ImportRun.content).where(ImportRun.token == token)) is None
        # The import's own entry and one in each of the 10 devices' histories.
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 11
    device = client.get("/assets/RES-1001").get_data(as_text=True)
    assert "Google: " in device and "/Students/RES" in device
    # Applying twice is a no-op; the same file again changes nothing.
    assert client.post(f"/imports/runs/{token}/apply").status_code == 303
    again = _token(_upload(client, "google-admin", GAM))
    assert 'data-count="updated">0<' in client.get(f"/imports/runs/{again}").get_data(as_text=True)
    full = client.get("/imports/google-admin/mismatches")
    fragment = client.get("/imports/google-admin/mismatches", headers=hx())
    assert full.status_code == fragment.status_code == 200
    assert "<html" in full.get_data(as_text=True) and "<html" not in fragment.get_data(as_text=True)
    assert "RES-1001" in fragment.get_data(as_text=True)  # recent user, assigned to no one
    csv_text = client.get("/imports/google-admin/mismatches.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffAsset Tag,Serial Number") and "RES-1001" in csv_text
    errors = client.get(f"/imports/runs/{token}/not_in_rollcall.csv").get_data(as_text=True)
    assert errors.count("\r\n") == 31


def test_bad_file_shows_rows_and_cannot_be_applied(client, login_as, devices, app):
    login_as(Role.admin)
    bad = b"serialNumber,autoUpdateThrough\nMKQQA7MSUA,2029-06-01\n\nMKQQA7MSUA,June 2029\nWJ8D51111G,whenever\n"
    token = _token(_upload(client, "google-admin", bad))
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert "Line 4, Serial Number: Serial MKQQA7MSUA is also on line 2." in page
    assert "Line 5, Auto Update Expiration" in page and "data-apply" not in page
    assert client.post(f"/imports/runs/{token}/apply").status_code == 422
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.google_aue_date.is_not(None))) == 0


@pytest.mark.parametrize(
    "data,message",
    [(b"Device,Model\nX,Y\n", "no Serial Number column"), (b"  \n", "That file is empty.")],
)
def test_unreadable_files_are_field_errors(client, login_as, devices, data, message):
    login_as(Role.admin)
    resp = _upload(client, "google-admin", data)
    assert resp.status_code == 422
    assert message in resp.get_data(as_text=True) and 'aria-invalid="true"' in resp.get_data(as_text=True)
    assert _upload(client, "nothing", data).status_code == 404


def test_only_admins_and_only_their_runs(client, login_as, devices, app):
    login_as(Role.tech, "LHS")
    assert client.get("/imports").status_code == 403
    assert _upload(client, "google-admin", GAM).status_code == 403
    # The mismatch list names assignees and their emails: an admin's report, like the import it comes from.
    assert client.get("/imports/google-admin/mismatches").status_code == 403
    login_as(Role.admin, "LHS")
    token = _token(_upload(client, "google-admin", GAM))
    login_as(Role.admin, "JMS")
    assert client.get(f"/imports/runs/{token}").status_code == 404
    assert client.post(f"/imports/runs/{token}/apply").status_code == 404


def test_campus_admin_updates_only_their_campus(client, login_as, devices, app):
    login_as(Role.admin, "LHS")
    token = _token(_upload(client, "google-admin", GAM))
    assert "on other campuses (left alone)" in client.get(f"/imports/runs/{token}").get_data(as_text=True)
    client.post(f"/imports/runs/{token}/apply")
    with app.app_context():
        touched = set(db.session.scalars(sa.select(Asset.asset_tag).where(Asset.org_unit.is_not(None))))
        assert touched and all(t.startswith("LHS-") for t in touched)


def test_snipeit_upload_and_export_button(client, login_as, app):
    with app.app_context():
        for code in ("LHS", "JMS", "RES"):
            factories.make_campus(code)
        db.session.commit()
    login_as(Role.admin)
    token = _token(_upload(client, "snipeit", SNIPE))
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    # The sample's checked-out people are not in this roster: every such row is named.
    assert "No person with email" in page and "data-apply" not in page
    stripped = b"\n".join(line.rsplit(b",", 3)[0] for line in SNIPE.splitlines())
    token = _token(_upload(client, "snipeit", stripped))
    assert 'data-count="created">30<' in client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert client.post(f"/imports/runs/{token}/apply").status_code == 303
    export = client.get("/imports/export/assets.csv")
    assert export.status_code == 200 and export.get_data(as_text=True).count("\r\n") == 31
    index = client.get("/imports").get_data(as_text=True)
    assert "Snipe-IT · devices.csv" in index and "/imports/export/assets.csv" in index


def test_apply_refuses_when_a_device_was_added_since_the_dry_run(client, login_as, devices, app):
    """Dry run; a device with a serial the file has (and the dry run found nowhere) is added; the apply changes
    nothing, says which row and why, and shows the dry run again, which can then be applied."""
    login_as(Role.admin)
    token = _token(_upload(client, "google-admin", GAM))
    with app.app_context():
        parked = db.session.scalar(sa.select(ImportRun).where(ImportRun.token == token))
        serial = parked.report["not_in_rollcall"][0]["serial"]
        lhs = db.session.scalar(sa.select(Campus).where(Campus.code == "LHS"))
        factories.make_asset(lhs, asset_tag="LHS-7777", serial=serial)
        db.session.commit()
        before = _inventory()
    refused = client.post(f"/imports/runs/{token}/apply")
    page = refused.get_data(as_text=True)
    assert refused.status_code == 409
    assert "Not applied: the inventory changed since the dry run" in page and "Nothing was changed." in page
    assert f"({serial}): the dry run found a device not in Rollcall; now it would change" in page
    assert "LHS-7777" in page and 'data-count="updated">11<' in page
    with app.app_context():
        assert _inventory() == before
        assert db.session.scalar(sa.select(ImportRun.state).where(ImportRun.token == token)).value == "checked"
    # The dry run shown is the one now approved: applying it goes through.
    assert client.post(f"/imports/runs/{token}/apply").status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(Asset.org_unit).where(Asset.asset_tag == "LHS-7777")) == "/Students/LHS"


def _inventory() -> list:
    return [
        *db.session.execute(sa.select(Asset.asset_tag, Asset.serial, Asset.org_unit).order_by(Asset.id)),
        db.session.scalar(sa.select(sa.func.count()).select_from(Activity)),
    ]


def _big_export(size: int) -> bytes:
    """A Google export of about `size` bytes: the sample's first ten devices, then devices Rollcall lacks."""
    lines = GAM.splitlines(keepends=True)
    out = bytearray().join(lines[:11])
    n = 0
    while len(out) < size:
        out += b"c2fbd8a3cfdcc257-x%d,SN%09d,ACTIVE,HP Chromebook 11 G9 EE,/Students/LHS,,,,,,,,,,\n" % (n, n)
        n += 1
    return bytes(out)


def test_upload_limit_is_the_import_setting_stated_on_the_page(client, login_as, devices, app, monkeypatch):
    """Imports take bodies up to their own limit, above the app's; the page states it from the same setting."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1024 * 1024)
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", 3 * 1024 * 1024)
    login_as(Role.admin)
    index = client.get("/imports").get_data(as_text=True)
    assert index.count("Up to 3 MB.") == 2 and 'data-max-bytes="3145728"' in index
    big = _big_export(2 * 1024 * 1024)
    resp = _upload(client, "google-admin", big)
    assert resp.status_code == 303
    token = _token(resp)
    page = client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert 'data-count="updated">10<' in page
    with app.app_context():
        run = db.session.scalar(sa.select(ImportRun).where(ImportRun.token == token))
        # Parked compressed, with the dry run's plan beside it.
        assert run.content.startswith(b"PK") and len(run.content) < len(big) / 3
        stream, plan = run.parked()
        assert stream.read() == big and len(plan) == 13 * run.report["rows"]


def test_upload_over_the_limit_is_413_on_the_import_page(client, login_as, devices, app, monkeypatch):
    monkeypatch.setitem(app.config, "IMPORT_MAX_CONTENT_LENGTH", 1024 * 1024)
    login_as(Role.admin)
    for kind in ("google-admin", "snipeit"):
        resp = _upload(client, kind, _big_export(1024 * 1024 + 10))
        page = resp.get_data(as_text=True)
        assert resp.status_code == 413
        assert "<h1>Imports and exports</h1>" in page
        assert (
            f'<p class="error" id="{kind}-file-error">That file is larger than 1 MB, the most an import takes.' in page
        )
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(ImportRun)) == 0
    login_as(Role.tech, "LHS")
    resp = _upload(client, "google-admin", _big_export(1024 * 1024 + 10))
    assert resp.status_code == 413 and "Imports and exports" not in resp.get_data(as_text=True)
