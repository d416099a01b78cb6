"""The vendor door: a vendor's token sees and changes only the claims sent to that vendor (404 for others), opens
no other API route (people above all), and every change is the vendor's in the activity log and the timeline."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    ClaimStatus,
    Role,
    TicketCategory,
    TicketStatus,
    User,
    Vendor,
    Via,
    WarrantyClaim,
    utcnow,
)
from app.services import tickets as ticket_service
from app.services import vendors, warranty
from app.services.tickets_timeline import ticket_timeline
from app.services.users import issue_token
from tests import factories
from tests.repairs_world import make_shop


@pytest.fixture
def world(app):
    with app.app_context():
        shop = make_shop()
        acer = db.session.scalar(sa.select(Vendor).where(Vendor.name == "Acer Care"))
        dell = db.session.scalar(sa.select(Vendor).where(Vendor.name == "Dell"))
        today = utcnow().date()
        other = factories.make_asset(
            shop["lhs"],
            shop["room"],
            asset_tag="LHS-1001",
            serial="DELLSERIAL1",
            warranty_provider="Dell",
            warranty_start=today - timedelta(days=30),
            warranty_end=today + timedelta(days=300),
            warranty_accidental=True,
        )
        other_ticket = ticket_service.open_ticket(
            other, category=TicketCategory.cracked_screen, description="Screen cracked", by=shop["tech"], via=Via.web
        )
        acer_claim = warranty.open_claim(shop["ticket"], by=shop["tech"], via=Via.web, note="Cracked LCD")
        dell_claim = warranty.open_claim(other_ticket, by=shop["tech"], via=Via.web, vendor=dell.id)
        admin = factories.make_user(Role.admin)
        acer_token = vendors.issue_token(acer, by=admin, via=Via.web)
        dell_token = vendors.issue_token(dell, by=admin, via=Via.web)
        staff_token = issue_token(shop["tech"], by=None, via=Via.cli)
        db.session.commit()
        return {
            "acer": acer.id,
            "dell": dell.id,
            "acer_claim": acer_claim.id,
            "dell_claim": dell_claim.id,
            "ticket": shop["ticket"].id,
            "tech": shop["tech"].id,
            "lhs": shop["lhs"].id,
            "admin": admin.id,
            "acer_token": acer_token,
            "dell_token": dell_token,
            "staff_token": staff_token,
        }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_vendor_lists_and_reads_only_its_own_claims(client, world):
    acer = client.get("/api/v1/claims", headers=bearer(world["acer_token"]))
    assert acer.status_code == 200
    body = acer.get_json()
    assert [c["id"] for c in body["items"]] == [world["acer_claim"]] and body["total"] == 1
    claim = body["items"][0]
    assert (
        claim["status"] == "submitted" and claim["device"]["serial"] == "MKQQA7MSUA" and claim["note"] == "Cracked LCD"
    )
    assert "Zoe" not in acer.get_data(as_text=True) and "LHS100001" not in acer.get_data(as_text=True)
    dell = client.get("/api/v1/claims", headers=bearer(world["dell_token"])).get_json()
    assert [c["id"] for c in dell["items"]] == [world["dell_claim"]]
    assert client.get(f"/api/v1/claims/{world['acer_claim']}", headers=bearer(world["acer_token"])).status_code == 200
    other = client.get(f"/api/v1/claims/{world['dell_claim']}", headers=bearer(world["acer_token"]))
    assert other.status_code == 404 and other.get_json()["error"]["code"]
    assert client.get("/api/v1/claims/999999999", headers=bearer(world["acer_token"])).status_code == 404
    assert client.get("/api/v1/claims?status=nonsense", headers=bearer(world["acer_token"])).status_code == 422


def test_another_vendors_claim_cannot_be_changed(app, client, world):
    resp = client.patch(
        f"/api/v1/claims/{world['dell_claim']}",
        json={"status": "approved", "rma": "RMA-1"},
        headers=bearer(world["acer_token"]),
    )
    assert resp.status_code == 404
    with app.app_context():
        claim = db.session.get(WarrantyClaim, world["dell_claim"])
        assert claim.status is ClaimStatus.submitted and claim.rma is None


@pytest.mark.parametrize(
    "method, path",
    [
        ("GET", "/api/v1/people"),
        ("GET", "/api/v1/people/LHS100001"),
        ("GET", "/api/v1/assets"),
        ("GET", "/api/v1/assets/LHS-1000"),
        ("GET", "/api/v1/tickets"),
        ("GET", "/api/v1/loans"),
        ("POST", "/api/v1/sync"),
    ],
)
def test_a_vendor_token_opens_no_other_route(client, world, method, path):
    resp = client.open(path, method=method, headers=bearer(world["acer_token"]), json={"client_id": "x", "events": []})
    assert resp.status_code == 403, path
    assert "Zoe" not in resp.get_data(as_text=True)


def test_staff_tokens_and_sessions_do_not_open_the_vendor_door(client, world, login_as):
    assert client.get("/api/v1/claims", headers=bearer(world["staff_token"])).status_code == 403
    login_as(Role.admin)
    assert client.get("/api/v1/claims").status_code == 403
    assert client.get("/api/v1/claims", headers={"Authorization": "Bearer rc_nonsense"}).status_code == 401


def _vendor_entries(app, vendor_id: int) -> list[Activity]:
    with app.app_context():
        user = vendors.account(db.session.get(Vendor, vendor_id))
        rows = db.session.scalars(sa.select(Activity).where(Activity.user_id == user.id).order_by(Activity.id))
        return [(a.action, a.via.value) for a in rows]


def test_approval_then_shipped_back_moves_the_claim_on_as_the_vendor(app, client, world):
    claim_id = world["acer_claim"]
    resp = client.patch(
        f"/api/v1/claims/{claim_id}",
        json={"status": "approved", "rma": "rma-5501"},
        headers=bearer(world["acer_token"]),
    )
    assert resp.status_code == 200 and resp.get_json()["status"] == "approved" and resp.get_json()["rma"] == "RMA-5501"
    # The district ships it in a box, as usual.
    with app.app_context():
        claim = db.session.get(WarrantyClaim, claim_id)
        tech = claim.submitted_by
        batch = warranty.new_batch(vendor=world["acer"], campus=claim.asset.campus, by=tech, via=Via.web)
        warranty.add_to_batch(batch, claim, by=tech, via=Via.web)
        warranty.ship_batch(batch, by=tech, via=Via.web, carrier="UPS", tracking="1Z-OUT")
        db.session.commit()
    back = client.patch(
        f"/api/v1/claims/{claim_id}",
        json={"status": "shipped_back", "tracking": "1Z-BACK-77", "notes": "Replaced the LCD panel"},
        headers=bearer(world["acer_token"]),
    )
    assert back.status_code == 200, back.get_json()
    got = back.get_json()
    assert got["status"] == "shipped_back" and got["return_tracking"] == "1Z-BACK-77"
    assert got["vendor_notes"] == "Replaced the LCD panel" and got["shipment"]["tracking"] == "1Z-OUT"
    assert _vendor_entries(app, world["acer"]) == [
        ("claim.approve", "api"),
        ("claim.repaired", "api"),
        ("claim.ship_back", "api"),
        ("claim.vendor_note", "api"),
    ]
    with app.app_context():
        claim = db.session.get(WarrantyClaim, claim_id)
        assert claim.status is ClaimStatus.repaired and claim.ticket.status is TicketStatus.warranty_claim
        timeline = ticket_timeline(claim.ticket, show_people=True)
        by_vendor = [e for e in timeline if e.user is not None and e.user.name == "Acer Care (vendor)"]
        assert any("shipped LHS-1000 back" in e.text for e in by_vendor)
        assert any("RMA RMA-5501" in e.text for e in by_vendor)
        # Waiting to be received: the usual scan at the repair desk takes it back and the ticket moves on.
        warranty.receive("LHS-1000", by=claim.submitted_by, via=Via.web)
        db.session.commit()
        assert claim.status is ClaimStatus.returned and claim.ticket.status is TicketStatus.in_repair
    final = client.get(f"/api/v1/claims/{claim_id}", headers=bearer(world["acer_token"])).get_json()
    assert final["status"] == "returned"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"status": "lost"}, "status"),
        ({"status": "repaired"}, "status"),  # a submitted claim was never shipped to the vendor
        ({"rma": 12}, "rma"),
        ({"tracking": "x" * 121}, "tracking"),
        ({"colour": "red"}, None),
    ],
)
def test_bad_changes_are_refused_and_nothing_changes(app, client, world, body, field):
    resp = client.patch(f"/api/v1/claims/{world['acer_claim']}", json=body, headers=bearer(world["acer_token"]))
    assert resp.status_code == 422
    if field:
        assert resp.get_json()["error"].get("field") == field
    assert _vendor_entries(app, world["acer"]) == []


def test_denied_with_the_vendors_reason(app, client, world):
    resp = client.patch(
        f"/api/v1/claims/{world['acer_claim']}",
        json={"status": "denied", "notes": "Liquid damage is not covered"},
        headers=bearer(world["acer_token"]),
    )
    assert resp.status_code == 200 and resp.get_json()["denial_reason"] == "Liquid damage is not covered"
    with app.app_context():
        claim = db.session.get(WarrantyClaim, world["acer_claim"])
        assert claim.status is ClaimStatus.denied and claim.ticket.status is TicketStatus.in_repair
    # Denying moves the ticket back to in repair, and both are the vendor's doing.
    assert _vendor_entries(app, world["acer"]) == [
        ("ticket.status", "api"),
        ("claim.deny", "api"),
        ("claim.vendor_note", "api"),
    ]


def test_a_revoked_or_replaced_token_stops_working(app, client, world):
    with app.app_context():
        acer = db.session.get(Vendor, world["acer"])
        admin = db.session.get(User, world["admin"])
        fresh = vendors.issue_token(acer, by=admin, via=Via.web)
        db.session.commit()
    assert client.get("/api/v1/claims", headers=bearer(world["acer_token"])).status_code == 401
    assert client.get("/api/v1/claims", headers=bearer(fresh)).status_code == 200
    with app.app_context():
        vendors.revoke_token(
            db.session.get(Vendor, world["acer"]), by=db.session.get(User, world["admin"]), via=Via.web
        )
        db.session.commit()
    assert client.get("/api/v1/claims", headers=bearer(fresh)).status_code == 401
    assert client.patch(f"/api/v1/claims/{world['acer_claim']}", json={}, headers=bearer(fresh)).status_code == 401
