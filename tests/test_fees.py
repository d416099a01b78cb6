"""Damage fees: recording under the policy, paid / waived once, by whom, scoping, and a formula-safe CSV export."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.extensions import db
from app.models import FeeStatus, Role, Via
from app.services import fees
from app.services.errors import Invalid
from tests import factories
from tests.repairs_world import make_shop


@pytest.fixture
def shop(ctx):
    world = make_shop()
    db.session.commit()
    return world


def test_charge_and_settle(shop):
    tech, student, ticket = shop["tech"], shop["student"], shop["ticket"]
    fee = fees.charge(student, amount="25", reason="Cracked screen", ticket=ticket, by=tech, via=Via.web)
    assert fee.amount == Decimal("25.00") and fee.status is FeeStatus.outstanding
    assert fee.asset is shop["device"] and fee.campus_id == shop["lhs"].id
    fees.settle(fee, FeeStatus.paid, by=tech, via=Via.web, note="Receipt 1182")
    assert fee.status is FeeStatus.paid and fee.settled_by_id == tech.id and fee.settled_at is not None
    with pytest.raises(Invalid, match="already paid"):
        fees.settle(fee, FeeStatus.waived, by=tech, via=Via.web, note="x")
    assert fees.totals(tech) == {"outstanding": Decimal("0.00"), "paid": Decimal("25.00"), "waived": Decimal("0.00")}


def test_waiving_needs_a_reason(shop):
    fee = fees.charge(shop["student"], amount="10.00", reason="Lost charger", by=shop["tech"], via=Via.web)
    with pytest.raises(Invalid, match="why"):
        fees.settle(fee, FeeStatus.waived, by=shop["tech"], via=Via.web)
    fees.settle(fee, FeeStatus.waived, by=shop["tech"], via=Via.web, note="Family hardship")
    assert fee.status is FeeStatus.waived and fee.settle_note == "Family hardship"


@pytest.mark.parametrize(
    ("amount", "reason", "match"),
    [
        ("0", "Cracked screen", "more than 0"),
        ("-5", "Cracked screen", "more than 0"),
        ("abc", "Cracked screen", "Enter the amount"),
        ("999999", "Cracked screen", "at most"),
        ("10", "  ", "reason"),
    ],
)
def test_bad_fees_are_refused(shop, amount, reason, match):
    with pytest.raises(Invalid, match=match):
        fees.charge(shop["student"], amount=amount, reason=reason, by=shop["tech"], via=Via.web)


def test_fees_are_scoped_to_campuses(shop):
    jms_person = factories.make_person(shop["jms"], "Liam Chen")
    with pytest.raises(Invalid, match="your campuses"):
        fees.charge(jms_person, amount="5", reason="Lost charger", by=shop["tech"], via=Via.web)
    fees.charge(shop["student"], amount="5", reason="Lost charger", by=shop["tech"], via=Via.web)
    jms_tech = factories.make_user(Role.tech, "JMS")
    assert db.session.scalars(fees.fees_query(jms_tech)).all() == []
    assert len(db.session.scalars(fees.fees_query(shop["tech"])).all()) == 1


def test_csv_export_is_formula_safe(shop):
    student = shop["student"]
    student.name = '=HYPERLINK("http://evil")'
    fees.charge(student, amount="25", reason="+Cracked screen", ticket=shop["ticket"], by=shop["tech"], via=Via.web)
    text = "".join(fees.export_csv(shop["tech"]))
    lines = text.strip().split("\r\n")
    assert lines[0].startswith("\ufefffee_id,created_at,person_id,person_name")
    assert "'=HYPERLINK" in lines[1] and ",'+Cracked screen," in lines[1]
    assert shop["ticket"].number in lines[1] and ",25.00,outstanding," in lines[1]


def test_policy_comes_from_settings(shop, app):
    assert fees.policy()[0] == ("Cracked screen", Decimal("25.00"))
    app.config["FEE_POLICY"] = [("Screen", "40")]
    try:
        assert fees.policy() == [("Screen", Decimal("40"))]
    finally:
        del app.config["FEE_POLICY"]
