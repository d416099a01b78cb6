"""Dashboard numbers (scoped, AUE by school year, warranty by month, loaners) and the page that shows them."""

from __future__ import annotations

import uuid
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AssetStatus, Loan, Role
from app.services import dashboard
from tests import factories
from tests.conftest import hx

TODAY = date(2026, 11, 29)


def test_school_years():
    assert dashboard.school_year_of(date(2026, 7, 1)) == 2026
    assert dashboard.school_year_of(date(2027, 6, 30)) == 2026
    assert dashboard.school_year_label(2029) == "2029–30"
    assert dashboard.school_year_range(2026) == (date(2026, 7, 1), date(2027, 7, 1))
    assert dashboard.month_start(date(2026, 12, 15), 1) == date(2027, 1, 1)


def test_planning_filters_read_links_and_ignore_junk():
    f = dashboard.planning_filters({"aue_year": "2027", "warranty_month": "2027-06", "active": "1"})
    assert f == {
        "aue_from": date(2027, 7, 1),
        "aue_to": date(2028, 7, 1),
        "warranty_from": date(2027, 6, 1),
        "warranty_to": date(2027, 7, 1),
        "active": True,
    }
    assert dashboard.planning_filters({"aue_year": "soon", "warranty_month": "2027-13", "active": "0"}) == {}


@pytest.fixture
def fleet(ctx):
    lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
    old = factories.make_model("Dell", "Chromebook 3100", aue=date(2026, 6, 1))  # expired
    mid = factories.make_model("HP", "Chromebook 11 G9 EE", aue=date(2028, 6, 1))  # school year 2027–28
    new = factories.make_model("Acer", "Spin 512", aue=date(2033, 6, 1))  # later
    unknown = factories.make_model("Lenovo", "Mystery", aue=None)
    make = factories.make_asset
    make(lhs, model=old, warranty_end=date(2026, 12, 10))
    make(lhs, model=old, status=AssetStatus.retired, warranty_end=date(2026, 12, 10))  # retired: not counted
    make(lhs, model=mid, warranty_end=date(2027, 3, 1))
    make(lhs, model=mid, google_aue_date=date(2029, 6, 1), warranty_end=date(2025, 1, 1))  # own AUE wins
    make(lhs, model=new, status=AssetStatus.loaner)
    make(lhs, model=unknown, status=AssetStatus.loaner)
    make(jms, model=mid, warranty_end=date(2027, 3, 5))
    db.session.flush()
    return {"lhs": lhs, "jms": jms}


def _by_label(bars):
    return {b.label: b.value for b in bars}


def test_aue_cliff_by_school_year(fleet):
    admin = factories.make_user()
    bars = dashboard.aue_cliff(admin, TODAY)
    assert [b.label for b in bars] == [
        "Already expired",
        "2026–27",
        "2027–28",
        "2028–29",
        "2029–30",
        "2030–31",
        "2031–32 or later",
        "AUE unknown",
    ]
    assert _by_label(bars) == {
        "Already expired": 1,
        "2026–27": 0,
        "2027–28": 2,
        "2028–29": 1,
        "2029–30": 0,
        "2030–31": 0,
        "2031–32 or later": 1,
        "AUE unknown": 1,
    }
    assert bars[2].args == {"aue_year": 2027, "active": 1}


def test_numbers_are_scoped_to_the_users_campuses(fleet):
    jms_viewer = factories.make_user(Role.viewer, "JMS")
    assert sum(b.value for b in dashboard.aue_cliff(jms_viewer, TODAY)) == 1
    sbc = dashboard.status_by_campus(jms_viewer)
    assert [c.code for c in sbc.campuses] == ["JMS"] and sbc.total == 1
    assert sum(b.value for b in dashboard.warranty_by_month(jms_viewer, TODAY)) == 1


def test_warranty_by_month(fleet):
    bars = dashboard.warranty_by_month(factories.make_user(), TODAY)
    assert len(bars) == 12 and bars[0].label == "Nov 2026" and bars[-1].label == "Oct 2027"
    assert _by_label(bars)["Dec 2026"] == 1 and _by_label(bars)["Mar 2027"] == 2
    assert dashboard.warranty_expired(factories.make_user(), TODAY) == 1


def test_loaners_out_and_overdue(fleet):
    admin = factories.make_user()
    lhs = fleet["lhs"]
    person = factories.make_person(lhs)
    loaners = [
        a for a in db.session.scalars(sa.select(factories.Asset).where(factories.Asset.status == AssetStatus.loaner))
    ]
    now = datetime(2026, 11, 29, 12, tzinfo=UTC)
    db.session.add(Loan(asset_id=loaners[0].id, person_id=person.id, due_at=now - timedelta(days=1)))
    db.session.add(Loan(asset_id=loaners[1].id, person_id=person.id, due_at=now - timedelta(days=3), returned_at=now))
    db.session.flush()
    result = dashboard.loaners(admin, now)
    assert (result.pool, result.out, result.overdue, result.available) == (2, 1, 1, 1)
    assert dashboard.loaners(factories.make_user(Role.viewer, "JMS"), now).out == 0


def test_dashboard_page_links_every_number(client, login_as, app):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        model = factories.make_model("HP", "Chromebook 11 G9 EE", aue=date(2028, 6, 1))
        factories.make_asset(lhs, model=model, warranty_end=date.today() + timedelta(days=40))
        db.session.commit()
    login_as(Role.viewer, "LHS")
    for headers in ({}, hx()):
        resp = client.get("/", headers=headers)
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert 'id="chart-status"' in html and 'id="chart-aue"' in html and 'id="chart-warranty"' in html
        assert "/assets?aue_year=2027&amp;active=1" in html
        assert "/assets?warranty_month=" in html
        assert "style=" not in html


def test_aue_and_warranty_links_filter_the_list(client, login_as, app):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        mid = factories.make_model("HP", "Chromebook 11 G9 EE", aue=date(2028, 6, 1))
        factories.make_asset(lhs, model=mid, asset_tag="LHS-MID", warranty_end=date(2027, 3, 1))
        factories.make_asset(lhs, model=mid, asset_tag="LHS-OWN", google_aue_date=date(2031, 6, 1))
        factories.make_asset(lhs, model=mid, asset_tag="LHS-RET", status=AssetStatus.retired)
        db.session.commit()
    login_as(Role.admin)
    html = client.get("/assets?aue_year=2027&active=1").get_data(as_text=True)
    assert "LHS-MID" in html and "LHS-OWN" not in html and "LHS-RET" not in html
    html = client.get("/assets?warranty_month=2027-03").get_data(as_text=True)
    assert "LHS-MID" in html and "LHS-OWN" not in html


def _ticket(asset, category, created, status=None):
    from app.models.tickets import Ticket, TicketSource, TicketStatus

    ticket = Ticket(
        asset_id=asset.id,
        source=TicketSource.staff,
        category=category,
        description="x",
        status=status or TicketStatus.new,
        status_token_hash=uuid.uuid4().hex,
        created_at=created,
    )
    db.session.add(ticket)
    return ticket


def test_tickets_open_by_category_and_age(ctx):
    from app.models.tickets import TicketCategory, TicketStatus

    lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
    a, b = factories.make_asset(lhs), factories.make_asset(jms)
    now = datetime(2026, 11, 29, tzinfo=UTC)
    _ticket(a, TicketCategory.cracked_screen, now - timedelta(days=2))
    _ticket(a, TicketCategory.cracked_screen, now - timedelta(days=100))
    _ticket(a, TicketCategory.liquid, now - timedelta(days=10))
    _ticket(a, TicketCategory.liquid, now - timedelta(days=10), TicketStatus.closed)
    _ticket(b, TicketCategory.wont_charge, now - timedelta(days=40))
    db.session.flush()
    categories, ages = dashboard.tickets_open(factories.make_user(), now)
    assert [(c.label, c.value) for c in categories][0] == (TicketCategory.cracked_screen.label, 2)
    assert sum(c.value for c in categories) == 4
    assert [a.value for a in ages] == [1, 1, 1, 1]
    assert categories[0].args == {"category": "cracked_screen", "status": "open"}
    _, jms_ages = dashboard.tickets_open(factories.make_user(Role.viewer, "JMS"), now)
    assert [a.value for a in jms_ages] == [0, 0, 1, 0]


def test_audit_coverage_counts_rooms_audited_within_the_interval(ctx):
    from app.models.audits import Audit, AuditStatus

    lhs = factories.make_campus("LHS")
    rooms = [factories.make_room(lhs) for _ in range(3)]
    now = datetime(2026, 11, 29, tzinfo=UTC)
    for room, days in ((rooms[0], 10), (rooms[1], 200)):
        db.session.add(
            Audit(
                uuid=f"u{room.id}",
                room_id=room.id,
                campus_id=lhs.id,
                status=AuditStatus.closed,
                started_at=now - timedelta(days=days),
                closed_at=now - timedelta(days=days),
            )
        )
    db.session.flush()
    (cov,) = dashboard.audit_coverage(factories.make_user(), now)
    assert (cov.rooms, cov.audited, cov.due, cov.days) == (3, 1, 2, 90)


def test_dashboard_shows_tickets_and_audits(client, login_as, app):
    with app.app_context():
        lhs = factories.make_campus("LHS")
        factories.make_room(lhs)
        db.session.commit()
    login_as(Role.admin)
    html = client.get("/").get_data(as_text=True)
    assert 'id="chart-ticket-age"' in html and 'id="chart-audits"' in html
    assert "LHS · 0 of 1 rooms in 90 days" in html and "/audits/due" in html
