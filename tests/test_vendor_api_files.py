"""The vendor door's page: the token issued (shown once), replaced and revoked; open claims as a bulk-claim CSV; the
vendor's status file read back by RMA or serial, a dry run first, then applied as the vendor."""

from __future__ import annotations

import io
import re

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, ClaimStatus, Role, Vendor, Via, WarrantyClaim
from app.services import vendors, warranty
from tests.repairs_world import make_shop


@pytest.fixture
def door(app):
    with app.app_context():
        shop = make_shop()
        claim = warranty.open_claim(shop["ticket"], by=shop["tech"], via=Via.web, note="Cracked LCD")
        acer = db.session.scalar(sa.select(Vendor).where(Vendor.name == "Acer Care"))
        db.session.commit()
        return {"vendor": acer.id, "claim": claim.id}


TOKEN_RE = re.compile(r"<code>(rc_[^<]+)</code>")


@pytest.mark.parametrize("role", ["tech", "viewer", "librarian"])
def test_only_admins_open_the_door_page(client, door, login_as, role):
    login_as(Role(role), "LHS")
    for path in (f"/repairs/vendors/{door['vendor']}/door", f"/repairs/vendors/{door['vendor']}/claims.csv"):
        assert client.get(path).status_code == 403
    assert client.post(f"/repairs/vendors/{door['vendor']}/token").status_code == 403


def test_a_token_is_shown_once_then_replaced_and_revoked(app, client, door, login_as):
    login_as(Role.admin)
    page = client.post(f"/repairs/vendors/{door['vendor']}/token")
    assert page.status_code == 200 and page.headers["Cache-Control"] == "no-store"
    raw = TOKEN_RE.search(page.get_data(as_text=True)).group(1)
    again = client.get(f"/repairs/vendors/{door['vendor']}/door").get_data(as_text=True)
    assert raw not in again and raw[:10] in again
    api = app.test_client()
    assert api.get("/api/v1/claims", headers={"Authorization": f"Bearer {raw}"}).status_code == 200
    newer = TOKEN_RE.search(client.post(f"/repairs/vendors/{door['vendor']}/token").get_data(as_text=True)).group(1)
    assert api.get("/api/v1/claims", headers={"Authorization": f"Bearer {raw}"}).status_code == 401
    assert client.post(f"/repairs/vendors/{door['vendor']}/token/revoke").status_code == 303
    assert api.get("/api/v1/claims", headers={"Authorization": f"Bearer {newer}"}).status_code == 401
    with app.app_context():
        actions = db.session.scalars(
            sa.select(Activity.action).where(Activity.action.like("vendor.token%")).order_by(Activity.id)
        ).all()
        assert actions == ["vendor.token", "vendor.token", "vendor.token_revoke"]
    assert client.get("/repairs/vendors/999999/door").status_code == 404


def test_open_claims_download_as_a_bulk_claim_csv(client, door, login_as):
    login_as(Role.admin)
    resp = client.get(f"/repairs/vendors/{door['vendor']}/claims.csv")
    text = resp.get_data(as_text=True)
    assert resp.status_code == 200 and resp.mimetype == "text/csv" and text.startswith("\ufeff")
    header, row = text.lstrip("\ufeff").splitlines()[:2]
    assert header.split(",")[:5] == ["claim_id", "rma", "status", "asset_tag", "serial"]
    assert row.startswith(f"{door['claim']},,submitted,LHS-1000,MKQQA7MSUA,") and "Cracked LCD" in row
    assert "Zoe" not in text and "LHS100001" not in text


def _post_file(client, vendor_id: int, content: str):
    data = {"file": (io.BytesIO(content.encode()), "status.csv")}
    return client.post(f"/repairs/vendors/{vendor_id}/status-file", data=data, content_type="multipart/form-data")


def test_a_status_file_is_checked_then_applied_as_the_vendor(app, client, door, login_as):
    login_as(Role.admin)
    content = "Serial Number,RMA Number,Claim Status,Notes\nmkqqa7msua,rma-9001,Approved,Panel on order\n"
    dry = _post_file(client, door["vendor"], content)
    text = dry.get_data(as_text=True)
    assert dry.status_code == 200 and "LHS-1000" in text and "status" in text and "Apply 1 change" in text
    with app.app_context():
        claim = db.session.get(WarrantyClaim, door["claim"])
        assert claim.status is ClaimStatus.submitted and claim.rma is None  # a dry run changes nothing
    applied = client.post(f"/repairs/vendors/{door['vendor']}/status-file", data={"apply": "1", "content": content})
    assert applied.status_code == 303
    with app.app_context():
        claim = db.session.get(WarrantyClaim, door["claim"])
        assert claim.status is ClaimStatus.approved and claim.rma == "RMA-9001"
        assert warranty.vendor_info(claim).notes == "Panel on order"
        vendor_user = vendors.account(db.session.get(Vendor, door["vendor"]))
        entries = db.session.scalars(sa.select(Activity).order_by(Activity.id)).all()
        mine = [a.action for a in entries if a.user_id == vendor_user.id]
        assert mine == ["claim.approve", "claim.vendor_note"]
        assert entries[-1].action == "import.vendor_status" and entries[-1].after == {"rows": 1, "changed": 1}


def test_a_status_file_with_a_bad_row_is_not_applied(app, client, door, login_as):
    login_as(Role.admin)
    content = "RMA,Status\nNOPE-1,approved\n"
    dry = _post_file(client, door["vendor"], content)
    assert dry.status_code == 200 and "No open claim to Acer Care" in dry.get_data(as_text=True)
    applied = client.post(f"/repairs/vendors/{door['vendor']}/status-file", data={"apply": "1", "content": content})
    assert applied.status_code == 422
    no_key = _post_file(client, door["vendor"], "Status\napproved\n")
    assert no_key.status_code == 422 and "RMA or a serial column" in no_key.get_data(as_text=True)
    assert client.post(f"/repairs/vendors/{door['vendor']}/status-file", data={}).status_code == 422
