"""The import pages: upload, dry run, apply, the mismatch list, permissions and the export button."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, ImportRun, Role
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
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) == 1
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
    assert csv_text.startswith("Asset Tag,Serial Number") and "RES-1001" in csv_text
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
    [(b"Device,Model\nX,Y\n", "Missing column: serial"), (b"  \n", "That file is empty.")],
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
    assert "No one in the roster has the email or username" in page and "data-apply" not in page
    stripped = b"\n".join(line.rsplit(b",", 3)[0] for line in SNIPE.splitlines())
    token = _token(_upload(client, "snipeit", stripped))
    assert 'data-count="created">30<' in client.get(f"/imports/runs/{token}").get_data(as_text=True)
    assert client.post(f"/imports/runs/{token}/apply").status_code == 303
    export = client.get("/imports/export/assets.csv")
    assert export.status_code == 200 and export.get_data(as_text=True).count("\r\n") == 31
    index = client.get("/imports").get_data(as_text=True)
    assert "Snipe-IT · devices.csv" in index and "/imports/export/assets.csv" in index
