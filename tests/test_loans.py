"""Loan rules: only loaners leave the pool, never two open loans per device, due dates, check-in with condition."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.i18n import campus_zone
from app.models import Activity, AssetStatus, Condition, Loan, PersonKind, Role, Ticket, TicketSource, Via
from app.services import loans
from app.services.errors import Invalid
from tests import factories


@pytest.fixture
def desk(app, ctx):
    """LHS with a loaner, a student and a librarian; JMS with a student."""
    lhs, jms = factories.make_campus("LHS"), factories.make_campus("JMS")
    lhs.timezone = "America/Chicago"
    world = {
        "lhs": lhs,
        "loaner": factories.make_asset(lhs, asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner),
        "student": factories.make_person(lhs, "Zoe Martinez", external_id="LHS100001"),
        "jms_student": factories.make_person(jms, "Liam Chen", external_id="JMS200001"),
        "librarian": factories.make_user(Role.librarian, "LHS"),
    }
    db.session.commit()
    return world


def test_checkout_and_checkin_with_activity(desk):
    loaner, student, by = desk["loaner"], desk["student"], desk["librarian"]
    at = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)  # 09:00 in Chicago
    loan = loans.check_out(loaner, student, by=by, due=None, via=Via.web, at=at)
    db.session.commit()
    assert loan.is_open and loan.person is student and loan.checked_out_by_id == by.id
    # Default: the end of the school day, campus local time (15:30 CDT = 20:30 UTC).
    assert loan.due_at == datetime(2026, 9, 1, 20, 30, tzinfo=UTC)
    assert loans.open_loan(loaner) is loan
    back = loans.check_in(
        loaner, by=by, condition=Condition.fair, note="sticky key", via=Via.web, at=at + timedelta(hours=2)
    )
    db.session.commit()
    assert back is loan and not loan.is_open and loan.return_condition is Condition.fair and loan.note == "sticky key"
    assert loaner.condition is Condition.fair and loaner.status is AssetStatus.loaner
    actions = db.session.scalars(sa.select(Activity.action).order_by(Activity.id)).all()
    assert actions == ["loan.checkout", "loan.checkin"]
    summaries = db.session.scalars(sa.select(Activity.summary).order_by(Activity.id)).all()
    assert summaries[0] == "Lent LHS-L01 to Zoe Martinez, due Tue 2026-09-01 15:30"
    assert summaries[1] == "Zoe Martinez returned LHS-L01 (fair)"
    assert loans.open_loan(loaner) is None


@pytest.mark.parametrize(
    "status,reason",
    [
        (AssetStatus.in_repair, "LHS-L01 is in repair; it cannot be lent."),
        (AssetStatus.missing, "LHS-L01 is reported missing; it cannot be lent."),
        (AssetStatus.retired, "LHS-L01 is retired; it cannot be lent."),
        (AssetStatus.deployed, "LHS-L01 is not in the loaner pool (it is deployed)."),
        (AssetStatus.in_stock, "LHS-L01 is not in the loaner pool (it is in stock)."),
    ],
)
def test_only_loaners_are_lent(desk, status, reason):
    desk["loaner"].status = status
    with pytest.raises(Invalid) as err:
        loans.check_out(desk["loaner"], desk["student"], by=desk["librarian"], due=None, via=Via.web)
    assert err.value.message == reason and err.value.field == "asset"


def test_never_two_open_loans(desk):
    loaner, student, by = desk["loaner"], desk["student"], desk["librarian"]
    other = factories.make_person(desk["lhs"], "Ada Byron", external_id="LHS100009")
    loans.check_out(loaner, student, by=by, due=None, via=Via.web)
    db.session.commit()
    with pytest.raises(Invalid, match="already on loan to Zoe Martinez; check it in first"):
        loans.check_out(loaner, other, by=by, due=None, via=Via.web)
    with pytest.raises(Invalid, match=r"^LHS-L01 is already on loan to Zoe Martinez\.$"):
        loans.check_out(loaner, student, by=by, due=None, via=Via.web)


def test_the_index_decides_a_race(desk, monkeypatch):
    """Even when the application's own check is skipped, the database refuses the second open loan."""
    loaner, by = desk["loaner"], desk["librarian"]
    db.session.add(
        Loan(asset=loaner, person=desk["student"], checked_out_by_id=by.id, due_at=datetime.now(UTC) + timedelta(1))
    )
    db.session.commit()
    other = factories.make_person(desk["lhs"], "Ada Byron", external_id="LHS100009")
    real_open_loan = loans.open_loan
    calls = []

    def looked_too_early(asset):
        # The first look (the application's check) happens before the other desk's loan exists.
        calls.append(asset)
        return None if len(calls) == 1 else real_open_loan(asset)

    monkeypatch.setattr(loans, "open_loan", looked_too_early)
    with pytest.raises(Invalid, match="already on loan to Zoe Martinez; check it in first"):
        loans.check_out(loaner, other, by=by, due=None, via=Via.web)
    assert len(calls) == 2
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Loan)) == 1


def test_people_rules(desk):
    by = desk["librarian"]
    with pytest.raises(Invalid, match="not on one of your campuses"):
        loans.check_out(desk["loaner"], desk["jms_student"], by=by, due=None, via=Via.web)
    desk["student"].active = False
    with pytest.raises(Invalid, match="no longer active"):
        loans.check_out(desk["loaner"], desk["student"], by=by, due=None, via=Via.web)
    jms_librarian = factories.make_user(Role.librarian, "JMS")
    with pytest.raises(Invalid, match="another campus's loaner pool"):
        loans.check_out(desk["loaner"], desk["jms_student"], by=jms_librarian, due=None, via=Via.web)


def test_staff_can_borrow_too(desk):
    teacher = factories.make_person(desk["lhs"], "Priya Nguyen", kind=PersonKind.staff, external_id="T16")
    due = date.today() + timedelta(days=7)
    loan = loans.check_out(desk["loaner"], teacher, by=desk["librarian"], due=due, via=Via.web)
    # The end of that school day (15:30) on the campus's clock.
    assert loan.due_at == datetime.combine(due, time(15, 30), tzinfo=campus_zone(desk["lhs"])).astimezone(UTC)


def test_due_dates(desk):
    lhs = desk["lhs"]
    monday_morning = datetime(2026, 8, 31, 14, 0, tzinfo=UTC)
    friday_evening = datetime(2026, 9, 4, 23, 0, tzinfo=UTC)  # 18:00 in Chicago, after school
    assert loans.default_due_date(lhs, monday_morning) == date(2026, 8, 31)
    assert loans.default_due_date(lhs, friday_evening) == date(2026, 9, 7), "weekends roll to Monday"
    lhs.loan_days = 3
    assert loans.default_due_date(lhs, monday_morning) == date(2026, 9, 3)
    lhs.loan_days = 5
    assert loans.default_due_date(lhs, monday_morning) == date(2026, 9, 7)
    lhs.day_ends_at = time(14, 45)
    assert loans.due_on(lhs, date(2026, 9, 7)) == datetime(2026, 9, 7, 19, 45, tzinfo=UTC)
    with pytest.raises(Invalid, match="already passed") as err:
        loans.check_out(desk["loaner"], desk["student"], by=desk["librarian"], due=date(2020, 1, 1), via=Via.web)
    assert err.value.field == "due"
    with pytest.raises(Invalid, match="at most a year"):
        loans.check_out(desk["loaner"], desk["student"], by=desk["librarian"], due=date(2099, 1, 1), via=Via.web)
    lhs.timezone = "Not/AZone"
    assert loans.campus_zone(lhs).key == "UTC"


def test_checkin_rules(desk):
    loaner, by = desk["loaner"], desk["librarian"]
    with pytest.raises(Invalid, match="LHS-L01 is not on loan."):
        loans.check_in(loaner, by=by, condition=None, via=Via.web)
    at = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)
    loan = loans.check_out(loaner, desk["student"], by=by, due=None, via=Via.sync, at=at)
    # A device clock that runs behind never returns a loan before it went out.
    loans.check_in(loaner, by=by, condition=None, via=Via.sync, at=at - timedelta(hours=1))
    assert loan.returned_at == at and loan.return_condition is None and loaner.condition is Condition.good


def test_late_return_never_overwrites_newer_condition(desk):
    loaner, by = desk["loaner"], desk["librarian"]
    at = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)
    loans.check_out(loaner, desk["student"], by=by, due=None, via=Via.sync, at=at)
    loaner.condition, loaner.condition_at = Condition.broken, at + timedelta(hours=3)
    loans.check_in(loaner, by=by, condition=Condition.good, via=Via.sync, at=at + timedelta(hours=1))
    assert loaner.condition is Condition.broken


def test_damage_on_return_opens_a_ticket(desk):
    loaner, by = desk["loaner"], desk["librarian"]
    loans.check_out(loaner, desk["student"], by=by, due=None, via=Via.web)
    loans.check_in(loaner, by=by, condition=Condition.damaged, note="cracked hinge", via=Via.web)
    db.session.commit()
    entry = db.session.scalar(sa.select(Activity).where(Activity.action == "loan.checkin"))
    ticket = db.session.scalar(sa.select(Ticket).where(Ticket.asset_id == loaner.id))
    assert loaner.condition is Condition.damaged
    assert ticket is not None and ticket.source is TicketSource.staff and ticket.opened_by_id == by.id
    assert ticket.description == "Came back damaged from a loan to Zoe Martinez (LHS100001). Desk note: cracked hinge"
    assert entry.after == {
        "condition": "damaged",
        "returned": entry.after["returned"],
        "note": "cracked hinge",
        "ticket": ticket.number,
    }
    assert entry.summary == f"Zoe Martinez returned LHS-L01 (damaged); opened {ticket.number}"
    assert entry.person_id == desk["student"].id
    # A good return opens nothing.
    loans.check_out(loaner, desk["student"], by=by, due=None, via=Via.web)
    loans.check_in(loaner, by=by, condition=Condition.good, via=Via.web)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Ticket)) == 1


def test_lists(desk):
    loaner, by = desk["loaner"], desk["librarian"]
    second = factories.make_asset(desk["lhs"], asset_tag="LHS-L02", status=AssetStatus.loaner)
    now = datetime.now(UTC)
    late = loans.check_out(loaner, desk["student"], by=by, due=None, via=Via.sync, at=now - timedelta(days=3))
    fresh = loans.check_out(second, desk["student"], by=by, due=now + timedelta(days=2), via=Via.web)
    db.session.commit()
    assert list(db.session.scalars(loans.loans_query(by, open_only=True))) == [late, fresh]
    assert list(db.session.scalars(loans.loans_query(by, overdue=True))) == [late]
    assert late.is_overdue() and not fresh.is_overdue()
    jms_librarian = factories.make_user(Role.librarian, "JMS")
    assert list(db.session.scalars(loans.loans_query(jms_librarian, open_only=True))) == []
    assert loans.loans_of(desk["student"])[0] in (late, fresh)
