"""Warranty: coverage decisions with each plain reason, the claim's life, shipping batches and receiving by scan."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    ClaimStatus,
    Priority,
    ShippingBatch,
    Ticket,
    TicketCategory,
    TicketStatus,
    User,
    Via,
    WarrantyClaim,
)
from app.services import tickets as ticket_service
from app.services import warranty
from app.services.errors import Invalid
from app.services.repairs import workflow
from tests.repairs_world import ids, make_shop, race


@pytest.fixture
def shop(ctx):
    world = make_shop()
    db.session.commit()
    return world


def _claim(shop, **kw) -> WarrantyClaim:
    return warranty.open_claim(shop["ticket"], by=shop["tech"], via=Via.web, **kw)


# --- coverage: each reason --------------------------------------------------------------------------------


def test_covered(shop):
    decision = warranty.coverage(shop["device"], accidental=True)
    assert decision.covered and decision.reasons == []


def test_expired_gives_the_date(shop):
    device = shop["device"]
    device.warranty_start = shop["today"] - timedelta(days=800)
    device.warranty_end = shop["today"] - timedelta(days=3)
    decision = warranty.coverage(device, accidental=False)
    assert not decision.covered
    assert decision.reasons == [f"The warranty expired on {device.warranty_end.isoformat()}."]


def test_claim_limit_reached_says_n_of_n(shop):
    device = shop["device"]
    device.warranty_claims_used = 2
    decision = warranty.coverage(device, accidental=False)
    assert decision.reasons == ["Claim limit reached: 2 of 2 claims used."]


def test_accidental_damage_without_accidental_cover(shop):
    device = shop["device"]
    device.warranty_accidental = False
    assert warranty.coverage(device, accidental=False).covered
    decision = warranty.coverage(device, accidental=True)
    assert decision.reasons == ["The plan does not cover accidental damage, and this damage is accidental."]


def test_no_warranty_on_file(shop):
    device = shop["device"]
    device.warranty_provider = None
    device.warranty_end = None
    device.warranty_start = None
    assert warranty.coverage(device, accidental=False).reasons == ["No warranty on file for LHS-1000."]


def test_several_reasons_at_once(shop):
    device = shop["device"]
    device.warranty_accidental = False
    device.warranty_claims_used = 2
    device.warranty_start = shop["today"] - timedelta(days=800)
    device.warranty_end = shop["today"] - timedelta(days=1)
    assert len(warranty.coverage(device, accidental=True).reasons) == 3


def test_accidental_comes_from_triage_or_the_category(shop):
    ticket = shop["ticket"]
    assert warranty.is_accidental(ticket) is True  # a cracked screen, not triaged yet
    workflow.triage(
        ticket,
        category=TicketCategory.cracked_screen,
        priority=Priority.normal,
        responsible=None,
        accidental=False,
        by=shop["tech"],
        via=Via.web,
    )
    assert warranty.is_accidental(ticket) is False


# --- the claim --------------------------------------------------------------------------------------------


def test_claim_on_an_expired_warranty_is_refused_with_the_reason_and_nothing_changes(shop):
    device = shop["device"]
    device.warranty_start = shop["today"] - timedelta(days=800)
    device.warranty_end = shop["today"] - timedelta(days=3)
    db.session.commit()
    with pytest.raises(Invalid) as err:
        _claim(shop)
    assert err.value.status == 422
    assert err.value.message == f"Not covered: The warranty expired on {device.warranty_end.isoformat()}."
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(WarrantyClaim.id))) == 0
    assert db.session.get(Asset, device.id).warranty_claims_used == 0
    assert db.session.get(Asset, device.id).status is AssetStatus.deployed


def test_claim_lifecycle_through_a_batch_and_back_by_scan(shop):
    tech, device, ticket = shop["tech"], shop["device"], shop["ticket"]
    claim = _claim(shop, note="Cracked LCD")
    assert claim.vendor == "Acer Care" and claim.status is ClaimStatus.submitted
    assert ticket.status is TicketStatus.warranty_claim
    assert device.status is AssetStatus.in_repair
    assert device.warranty_claims_used == 1
    db.session.commit()
    with pytest.raises(Invalid, match="already has an open warranty claim"):
        _claim(shop)
    db.session.rollback()

    warranty.approve(claim, rma="rma-77001", by=tech, via=Via.web)
    assert claim.rma == "RMA-77001" and claim.approved_at is not None

    batch = warranty.new_batch(vendor="acer care", campus=shop["lhs"], by=tech, via=Via.web)
    assert warranty.addable_claims(batch) == [claim]
    warranty.add_to_batch(batch, claim, by=tech, via=Via.web)
    assert warranty.addable_claims(batch) == []
    assert warranty.ship_batch(batch, by=tech, via=Via.web, tracking="1Z999") == 1
    assert claim.status is ClaimStatus.shipped and batch.shipped_at is not None
    with pytest.raises(Invalid, match="already shipped"):
        warranty.ship_batch(batch, by=tech, via=Via.web)

    # Resolving while the device is with the vendor is refused.
    with pytest.raises(Invalid, match="still shipped"):
        workflow.resolve(ticket, by=tech, via=Via.web)

    back = warranty.receive("mkqqa7msua", by=tech, via=Via.web)  # the serial, typed in lower case
    assert back is claim and claim.status is ClaimStatus.returned and claim.returned_at is not None
    assert ticket.status is TicketStatus.in_repair
    result = workflow.resolve(ticket, by=tech, via=Via.web)
    assert result.device_status is AssetStatus.deployed


def test_receive_by_rma_and_by_tag_code(shop):
    claim = _claim(shop)
    warranty.approve(claim, rma="R-1", by=shop["tech"], via=Via.web)
    batch = warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=shop["tech"], via=Via.web)
    warranty.add_to_batch(batch, claim, by=shop["tech"], via=Via.web)
    warranty.ship_batch(batch, by=shop["tech"], via=Via.web)
    assert warranty.receive("r-1", by=shop["tech"], via=Via.web) is claim


def test_receive_scan_of_unknown_rma_or_device_not_in_a_batch_changes_nothing(shop):
    tech = shop["tech"]
    claim = _claim(shop)
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count(Activity.id)))
    with pytest.raises(Invalid, match="Nothing matches RMA-NOPE"):
        warranty.receive("RMA-NOPE", by=tech, via=Via.web)
    with pytest.raises(Invalid, match="LHS-1000 is not in a shipped batch"):
        warranty.receive("LHS-1000", by=tech, via=Via.web)
    with pytest.raises(Invalid, match="Scan or type"):
        warranty.receive("  ", by=tech, via=Via.web)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Activity.id))) == before
    assert db.session.get(WarrantyClaim, claim.id).status is ClaimStatus.submitted


def test_receive_ignores_devices_on_campuses_you_cannot_see(shop):
    from app.models import Role
    from tests import factories

    claim = _claim(shop)
    batch = warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=shop["tech"], via=Via.web)
    warranty.add_to_batch(batch, claim, by=shop["tech"], via=Via.web)
    warranty.ship_batch(batch, by=shop["tech"], via=Via.web)
    jms_tech = factories.make_user(Role.tech, "JMS")
    with pytest.raises(Invalid, match="Nothing matches"):
        warranty.receive("LHS-1000", by=jms_tech, via=Via.web)


def test_deny_gives_the_claim_back(shop):
    claim = _claim(shop)
    assert shop["device"].warranty_claims_used == 1
    with pytest.raises(Invalid, match="Say why"):
        warranty.deny(claim, reason="", by=shop["tech"], via=Via.web)
    warranty.deny(claim, reason="Physical damage excluded", by=shop["tech"], via=Via.web)
    assert claim.status is ClaimStatus.denied
    assert shop["device"].warranty_claims_used == 0
    assert shop["ticket"].status is TicketStatus.in_repair
    with pytest.raises(Invalid, match="denied claim cannot become approved"):
        warranty.approve(claim, rma="X", by=shop["tech"], via=Via.web)
    # A new claim may be opened after a denial.
    assert _claim(shop).id != claim.id


def test_batch_rules(shop):
    tech = shop["tech"]
    claim = _claim(shop)
    other_vendor = warranty.new_batch(vendor="Dell", campus=shop["lhs"], by=tech, via=Via.web)
    with pytest.raises(Invalid, match="goes to Acer Care"):
        warranty.add_to_batch(other_vendor, claim, by=tech, via=Via.web)
    with pytest.raises(Invalid, match="is empty"):
        warranty.ship_batch(other_vendor, by=tech, via=Via.web)
    with pytest.raises(Invalid, match="your campuses"):
        warranty.new_batch(vendor="Acer Care", campus=shop["jms"], by=tech, via=Via.web)
    batch = warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=tech, via=Via.web)
    warranty.add_to_batch(batch, claim, by=tech, via=Via.web)
    with pytest.raises(Invalid, match="already in"):
        warranty.add_to_batch(batch, claim, by=tech, via=Via.web)
    warranty.remove_from_batch(batch, claim, by=tech, via=Via.web)
    assert claim.batch_id is None


def test_ship_scan_ships_one_device_and_the_batch_with_the_last(shop):
    claim = _claim(shop)
    batch = warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=shop["tech"], via=Via.web)
    warranty.add_to_batch(batch, claim, by=shop["tech"], via=Via.web)
    shipped = warranty.ship_scan(shop["device"].tag_code.lower(), by=shop["tech"], via=Via.web)
    assert shipped is claim and claim.status is ClaimStatus.shipped
    assert batch.shipped_at is not None


def test_claim_limit_holds_under_two_claims_at_once(shop, app):
    """One claim left on the plan, two tickets claiming at once: exactly one gets it."""
    device = shop["device"]
    device.warranty_claims_used = 1
    second = ticket_service.open_ticket(
        device, category=TicketCategory.wont_charge, description="Dead", by=shop["tech"], via=Via.web
    )
    db.session.commit()
    world = ids(shop)
    tickets = [world["ticket"], second.id]

    def work(i: int):
        ticket = db.session.get(Ticket, tickets[i])
        user = db.session.get(User, world["tech"] if i == 0 else world["tech2"])
        return warranty.open_claim(ticket, by=user, via=Via.web).id

    results = race(app, 2, work)
    assert sum(isinstance(r, int) for r in results) == 1, results
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(refused) == 1 and "Claim limit reached: 2 of 2" in refused[0].message
    db.session.expire_all()
    assert db.session.get(Asset, world["device"]).warranty_claims_used == 2
    assert db.session.scalar(sa.select(sa.func.count(WarrantyClaim.id))) == 1


def test_claims_and_batches_are_scoped(shop):
    from app.models import Role
    from tests import factories

    _claim(shop)
    warranty.new_batch(vendor="Acer Care", campus=shop["lhs"], by=shop["tech"], via=Via.web)
    jms_tech = factories.make_user(Role.tech, "JMS")
    assert db.session.scalars(warranty.claims_query(jms_tech)).all() == []
    assert db.session.scalars(warranty.batches_query(jms_tech)).all() == []
    assert len(db.session.scalars(warranty.claims_query(shop["tech"], open_only=True)).all()) == 1
    assert db.session.scalar(sa.select(sa.func.count(ShippingBatch.id))) == 1
