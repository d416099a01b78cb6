"""In-house repair: triage, holding the device, parts and stock (also under concurrency), labour, cost, resolving,
and the loaner swap with its one-time reversal (one open loan per device at every step, even with two presses)."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    Condition,
    Loan,
    LoanerSwap,
    Part,
    PartStock,
    Person,
    Priority,
    Ticket,
    TicketCategory,
    TicketStatus,
    User,
    Via,
)
from app.services import loans
from app.services.errors import Invalid
from app.services.repairs import costs, history, parts, planning, record, swaps, workflow
from tests.repairs_world import ids, make_shop, open_loans_per_asset, race


@pytest.fixture
def shop(ctx):
    world = make_shop()
    db.session.commit()
    return world


def test_triage_records_decisions_and_moves_new_to_triaged(shop):
    ticket, tech = shop["ticket"], shop["tech"]
    row = workflow.triage(
        ticket,
        category=TicketCategory.liquid,
        priority=Priority.high,
        responsible=shop["student"],
        accidental=True,
        by=tech,
        via=Via.web,
    )
    assert ticket.status is TicketStatus.triaged
    assert ticket.category is TicketCategory.liquid
    assert row.priority is Priority.high and row.responsible is shop["student"] and row.accidental is True
    assert row.triaged_by_id == tech.id
    actions = db.session.scalars(sa.select(Activity.action).where(Activity.subject_id == ticket.id)).all()
    assert "ticket.triage" in actions and "ticket.status" in actions


def test_triage_refuses_a_person_from_another_campus(shop):
    jms_person = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100002"))
    jms_person.campus_id = shop["jms"].id
    with pytest.raises(Invalid, match="not on one of your campuses"):
        workflow.triage(
            shop["ticket"],
            category=TicketCategory.other,
            priority=Priority.normal,
            responsible=jms_person,
            accidental=False,
            by=shop["tech"],
            via=Via.web,
        )


def test_take_in_holds_the_device_and_resolve_returns_it_to_its_previous_state(shop):
    ticket, device, tech = shop["ticket"], shop["device"], shop["tech"]
    assert device.status is AssetStatus.deployed
    workflow.take_in(ticket, by=tech, via=Via.web)
    assert device.status is AssetStatus.in_repair
    assert ticket.status is TicketStatus.in_repair
    device.condition = Condition.broken
    result = workflow.resolve(ticket, by=tech, via=Via.web)
    assert result.device_status is AssetStatus.deployed
    assert device.status is AssetStatus.deployed
    assert device.condition is Condition.good
    assert ticket.status is TicketStatus.resolved
    assert record.repair_of(ticket).repaired_at is not None


def test_resolving_twice_is_refused_and_changes_nothing(shop):
    ticket, tech = shop["ticket"], shop["tech"]
    workflow.take_in(ticket, by=tech, via=Via.web)
    workflow.resolve(ticket, by=tech, via=Via.web)
    db.session.commit()
    count = db.session.scalar(sa.select(sa.func.count(Activity.id)))
    with pytest.raises(Invalid, match="already resolved"):
        workflow.resolve(ticket, by=tech, via=Via.web)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count(Activity.id))) == count


def test_close_needs_resolve_first_and_reopen(shop):
    ticket, tech = shop["ticket"], shop["tech"]
    with pytest.raises(Invalid, match="Resolve"):
        workflow.close(ticket, by=tech, via=Via.web)
    workflow.resolve(ticket, by=tech, via=Via.web)
    workflow.close(ticket, by=tech, via=Via.web)
    assert ticket.status is TicketStatus.closed
    with pytest.raises(Invalid, match="already closed"):
        workflow.close(ticket, by=tech, via=Via.web)
    workflow.reopen(ticket, by=tech, via=Via.web)
    assert ticket.status is TicketStatus.triaged


def test_parts_decrement_stock_and_cost_totals(shop, app):
    ticket, tech, screen = shop["ticket"], shop["tech"], shop["screen"]
    app.config["REPAIR_HOURLY_RATE"] = "36.00"
    try:
        parts.use_parts(ticket, screen, 2, by=tech, via=Via.web)
        costs.log_labour(ticket, 25, by=tech, via=Via.web)
        costs.log_labour(ticket, 20, by=tech, via=Via.web)
    finally:
        del app.config["REPAIR_HOURLY_RATE"]
    assert parts.stock_of(screen, shop["lhs"].id) == 1
    cost = costs.ticket_cost(ticket)
    assert cost.parts == Decimal("85.00")
    assert cost.labour == Decimal("27.00")  # 45 minutes at 36.00 an hour
    assert cost.minutes == 45
    assert cost.total == Decimal("112.00")
    # A later price change does not rewrite what this repair cost.
    screen.unit_cost = Decimal("99.00")
    assert costs.ticket_cost(ticket).parts == Decimal("85.00")


def test_more_parts_than_in_stock_is_refused_with_the_count_left(shop):
    ticket, tech, screen = shop["ticket"], shop["tech"], shop["screen"]
    with pytest.raises(Invalid) as err:
        parts.use_parts(ticket, screen, 4, by=tech, via=Via.web)
    assert err.value.status == 422
    assert "Only 3" in err.value.message and err.value.field == "quantity"
    db.session.rollback()
    assert parts.stock_of(screen, shop["lhs"].id) == 3
    assert costs.parts_used(ticket) == []


@pytest.mark.parametrize("quantity", [0, -1, 51])
def test_part_quantity_must_be_sensible(shop, quantity):
    with pytest.raises(Invalid, match="quantity from 1"):
        parts.use_parts(shop["ticket"], shop["screen"], quantity, by=shop["tech"], via=Via.web)


def test_part_that_does_not_fit_is_refused(shop):
    other_model = Part(name="Keyboard", part_number="KB-1", unit_cost=Decimal("10"))
    from tests import factories

    other_model.fits = [factories.make_model("HP", "Chromebook 14")]
    db.session.add(other_model)
    db.session.add(PartStock(part=other_model, campus_id=shop["lhs"].id, stock=5))
    db.session.flush()
    with pytest.raises(Invalid, match="does not fit"):
        parts.use_parts(shop["ticket"], other_model, 1, by=shop["tech"], via=Via.web)


def test_stock_can_never_go_negative_even_in_the_database(shop):
    row = db.session.get(PartStock, (shop["screen"].id, shop["lhs"].id))
    row.stock = -1
    with pytest.raises(sa.exc.IntegrityError):
        db.session.flush()
    db.session.rollback()


def test_add_stock_and_write_off(shop):
    screen, lhs, tech = shop["screen"], shop["lhs"], shop["tech"]
    assert parts.add_stock(screen, lhs, 5, by=tech, via=Via.web) == 8
    assert parts.add_stock(screen, lhs, -2, by=tech, via=Via.web) == 6
    with pytest.raises(Invalid, match="cannot write off 7"):
        parts.add_stock(screen, lhs, -7, by=tech, via=Via.web)
    with pytest.raises(Invalid, match="your campuses"):
        parts.add_stock(screen, shop["jms"], 1, by=tech, via=Via.web)


def test_low_stock_list(shop):
    lhs_rows = [(p.part_number, c.code, n) for p, c, n in parts.low_stock(shop["tech"])]
    assert lhs_rows == []  # 3 on the shelf, low at 2
    parts.use_parts(shop["ticket"], shop["screen"], 1, by=shop["tech"], via=Via.web)
    assert [(p.part_number, c.code, n) for p, c, n in parts.low_stock(shop["tech"])] == [("SCR-116", "LHS", 2)]


def test_concurrent_part_use_never_takes_stock_below_zero(shop, app):
    """Five techs each take 1 screen at the same moment from a shelf of 3: three succeed, two are told how many."""
    world = ids(shop)
    tickets = [world["ticket"]]
    from app.services import tickets as ticket_service

    for _ in range(4):
        t = ticket_service.open_ticket(
            shop["device"], category=TicketCategory.other, description="x", by=shop["tech"], via=Via.web
        )
        tickets.append(t.id)
    db.session.commit()

    def work(i: int):
        ticket = db.session.get(Ticket, tickets[i])
        part = db.session.get(Part, world["screen"])
        user = db.session.get(User, world["tech"])
        return parts.use_parts(ticket, part, 1, by=user, via=Via.web).id

    results = race(app, 5, work)
    ok = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(ok) == 3, results
    assert len(refused) == 2 and all("Only 0" in r.message for r in refused)
    db.session.expire_all()
    assert parts.stock_of(db.session.get(Part, world["screen"]), world["lhs"]) == 0


# --- the loaner swap ---------------------------------------------------------------------------------------


def test_swap_in_one_step_and_reverse_in_one_step(shop):
    ticket, device, tech, student = shop["ticket"], shop["device"], shop["tech"], shop["student"]
    loaner = shop["loaners"][0]
    swap = swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
    assert device.status is AssetStatus.in_repair
    assert swap.loaner_loan.asset is loaner and swap.loaner_loan.person is student
    assert ticket.status is TicketStatus.in_repair
    assert swap.person is student and swap.broken_status is AssetStatus.deployed
    assert max(open_loans_per_asset().values()) == 1
    # The student still owns the broken device (the 1:1 assignment stays open).
    assert device.assigned_to is student
    assert swaps.swaps_to_reverse(tech) == [swap]

    with pytest.raises(Invalid, match="Resolve"):
        swaps.reverse_swap(swap, by=tech, via=Via.web)
    result = workflow.resolve(ticket, by=tech, via=Via.web)
    assert result.swap is swap
    assert device.status is AssetStatus.in_repair  # repaired, waiting on the desk for the student

    swaps.reverse_swap(swap, by=tech, via=Via.web, loaner_condition=Condition.good)
    db.session.commit()
    db.session.expire_all()
    assert swap.reversed_at is not None
    assert device.status is AssetStatus.deployed and device.assigned_to is student
    assert loans.open_loan(loaner) is None
    assert open_loans_per_asset() == {}
    assert swaps.swaps_to_reverse(tech) == []
    workflow.close(ticket, by=tech, via=Via.web)


def test_swap_reversed_at_most_once_and_resolving_again_does_not_reverse_again(shop):
    ticket, tech = shop["ticket"], shop["tech"]
    swap = swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
    workflow.resolve(ticket, by=tech, via=Via.web)
    swaps.reverse_swap(swap, by=tech, via=Via.web)
    db.session.commit()
    checkins = db.session.scalar(sa.select(sa.func.count()).where(Activity.action == "loan.checkin"))
    with pytest.raises(Invalid, match="already reversed"):
        swaps.reverse_swap(swap, by=tech, via=Via.web)
    db.session.rollback()
    with pytest.raises(Invalid, match="already resolved"):
        workflow.resolve(ticket, by=tech, via=Via.web)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).where(Activity.action == "loan.checkin")) == checkins
    assert db.session.scalar(sa.select(sa.func.count(LoanerSwap.id)).where(LoanerSwap.reversed_at.is_not(None))) == 1


def test_swap_for_a_broken_loaner_returns_the_loan_and_lends_it_again_on_reverse(shop):
    tech, other = shop["tech"], shop["other"]
    broken = shop["loaners"][1]
    loans.check_out(broken, other, by=tech, due=None, via=Via.web)
    from app.services import tickets as ticket_service

    ticket = ticket_service.open_ticket(
        broken, category=TicketCategory.wont_charge, description="Dead", by=tech, via=Via.web
    )
    swap = swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
    assert broken.status is AssetStatus.in_repair
    assert loans.open_loan(broken) is None
    assert swap.loaner_loan.asset is shop["loaners"][0] and swap.loaner_loan.person is other
    workflow.resolve(ticket, by=tech, via=Via.web)
    swaps.reverse_swap(swap, by=tech, via=Via.web)
    assert broken.status is AssetStatus.loaner
    assert loans.open_loan(broken).person is other
    assert loans.open_loan(shop["loaners"][0]) is None
    assert max(open_loans_per_asset().values()) == 1


def test_swap_refusals(shop):
    ticket, tech = shop["ticket"], shop["tech"]
    with pytest.raises(Invalid, match="another campus"):
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web, loaner=shop["jms_loaner"])
    db.session.rollback()
    with pytest.raises(Invalid, match="different device"):
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web, loaner=db.session.get(Asset, shop["device"].id))
    db.session.rollback()
    spare = db.session.get(Asset, shop["loaners"][1].id)
    spare.status = AssetStatus.in_stock
    with pytest.raises(Invalid, match="not in the loaner pool"):
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web, loaner=spare)
    db.session.rollback()
    swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
    with pytest.raises(Invalid, match="already swapped"):
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web)


def test_swap_with_an_empty_pool_says_so(shop):
    for loaner in shop["loaners"]:
        loaner.status = AssetStatus.retired
    with pytest.raises(Invalid, match="No loaner is free"):
        swaps.swap_in_loaner(shop["ticket"], by=shop["tech"], via=Via.web)


def test_swap_needs_someone_holding_the_device(shop):
    from app.services import tickets as ticket_service

    spare = shop["loaners"][1]
    spare.status = AssetStatus.in_stock
    ticket = ticket_service.open_ticket(
        spare, category=TicketCategory.other, description="x", by=shop["tech"], via=Via.web
    )
    with pytest.raises(Invalid, match="No one has"):
        swaps.swap_in_loaner(ticket, by=shop["tech"], via=Via.web)


def test_two_techs_pressing_swap_at_once_make_one_swap_and_one_loan(shop, app):
    world = ids(shop)

    def work(i: int):
        ticket = db.session.get(Ticket, world["ticket"])
        user = db.session.get(User, world["tech"] if i == 0 else world["tech2"])
        return swaps.swap_in_loaner(ticket, by=user, via=Via.web).id

    results = race(app, 2, work)
    ok = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(ok) == 1 and len(refused) == 1, results
    assert "already" in refused[0].message or "just" in refused[0].message
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count(LoanerSwap.id))) == 1
    counts = open_loans_per_asset()
    assert sum(counts.values()) == 1 and max(counts.values()) == 1
    assert db.session.get(Asset, world["device"]).status is AssetStatus.in_repair


def test_two_swaps_for_different_tickets_racing_for_the_one_loaner(shop, app):
    """Two students' devices, one loaner left: the loan index decides, the loser hears who has it."""
    from app.services import tickets as ticket_service
    from tests import factories

    shop["loaners"][1].status = AssetStatus.retired
    second = factories.make_asset(shop["lhs"], shop["room"], asset_tag="LHS-1002", serial="SECOND0001")
    from app.models import Assignment

    db.session.add(Assignment(asset=second, person=shop["other"]))
    t2 = ticket_service.open_ticket(
        second, category=TicketCategory.other, description="x", by=shop["tech"], via=Via.web
    )
    db.session.commit()
    world = ids(shop)
    ticket_ids = [world["ticket"], t2.id]

    def work(i: int):
        ticket = db.session.get(Ticket, ticket_ids[i])
        user = db.session.get(User, world["tech"] if i == 0 else world["tech2"])
        return swaps.swap_in_loaner(ticket, by=user, via=Via.web).id

    results = race(app, 2, work)
    ok = [r for r in results if isinstance(r, int)]
    refused = [r for r in results if isinstance(r, Invalid)]
    assert len(ok) == 1 and len(refused) == 1, results
    assert "on loan" in refused[0].message or "No loaner is free" in refused[0].message
    db.session.expire_all()
    assert max(open_loans_per_asset().values()) == 1
    assert db.session.scalar(sa.select(sa.func.count(Loan.id))) == 1
    # The loser's device was not taken from its student: its transaction rolled back entirely.
    statuses = sorted(
        db.session.scalars(sa.select(Asset.status).where(Asset.asset_tag.in_(["LHS-1000", "LHS-1002"]))).all(),
        key=lambda s: s.value,
    )
    assert statuses == [AssetStatus.deployed, AssetStatus.in_repair]


def test_two_techs_reversing_at_once_reverse_once(shop, app):
    ticket, tech = shop["ticket"], shop["tech"]
    swap = swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
    workflow.resolve(ticket, by=tech, via=Via.web)
    db.session.commit()
    world = ids(shop)
    swap_id = swap.id

    def work(i: int):
        row = db.session.get(LoanerSwap, swap_id)
        user = db.session.get(User, world["tech"] if i == 0 else world["tech2"])
        return swaps.reverse_swap(row, by=user, via=Via.web).id

    results = race(app, 2, work)
    assert sum(isinstance(r, int) for r in results) == 1, results
    assert sum(isinstance(r, Invalid) and "already reversed" in r.message for r in results) == 1
    db.session.expire_all()
    assert open_loans_per_asset() == {}
    assert db.session.scalar(sa.select(sa.func.count()).where(Activity.action == "repair.swap_reverse")) == 1
    assert db.session.get(Asset, world["device"]).status is AssetStatus.deployed


# --- accountability and planning --------------------------------------------------------------------------


def test_repeat_damage_and_damage_history(shop):
    from app.services import tickets as ticket_service

    tech, student, device = shop["tech"], shop["student"], shop["device"]
    second = ticket_service.open_ticket(device, category=TicketCategory.liquid, description="x", by=tech, via=Via.web)
    for t in (shop["ticket"], second):
        workflow.triage(
            t, category=t.category, priority=Priority.normal, responsible=student, accidental=True, by=tech, via=Via.web
        )
    found = history.repeat_damage(tech)
    assert [(a.asset_tag, n) for a, n in found["devices"]] == [("LHS-1000", 2)]
    assert [(p.external_id, n) for p, n in found["people"]] == [("LHS100001", 2)]
    record = history.damage_history(student)
    assert {t.id for t in record["tickets"]} == {shop["ticket"].id, second.id}


def test_planning_numbers(shop):
    ticket, tech = shop["ticket"], shop["tech"]
    parts.use_parts(ticket, shop["screen"], 1, by=tech, via=Via.web)
    costs.log_labour(ticket, 30, by=tech, via=Via.web)
    workflow.resolve(ticket, by=tech, via=Via.web)
    p = planning.planning(tech)
    assert p.total_cost == Decimal("57.50")
    assert dict(p.by_model) == {"Acer Chromebook 311": Decimal("57.50")}
    assert dict(p.by_campus) == {"LHS": Decimal("57.50")}
    assert p.by_month[-1][1] == Decimal("57.50")
    assert p.repaired_count == 1 and p.avg_days_to_repair is not None
    claims = {c["model"]: c for c in p.claims}
    assert claims["Acer Chromebook 311"]["allowed"] == 2 and claims["Acer Chromebook 311"]["used"] == 0
    rows = planning.planning_csv_rows(p)
    assert ["cost by campus", "LHS", "57.50", ""] in rows
    # Someone scoped to another campus sees none of it.
    from app.models import Role
    from tests import factories

    jms_tech = factories.make_user(Role.tech, "JMS")
    assert planning.planning(jms_tech).total_cost == Decimal("0")


def test_status_list_follows_the_repair_workflow(shop):
    ticket, device, tech = shop["ticket"], shop["device"], shop["tech"]
    assert workflow.apply_status(ticket, TicketStatus.waiting_parts, by=tech, via=Via.web)
    assert device.status is AssetStatus.in_repair and ticket.status is TicketStatus.waiting_parts
    assert not workflow.apply_status(ticket, TicketStatus.waiting_parts, by=tech, via=Via.web)
    assert workflow.apply_status(ticket, TicketStatus.closed, by=tech, via=Via.web)
    assert ticket.status is TicketStatus.closed and device.status is AssetStatus.deployed
    assert workflow.apply_status(ticket, TicketStatus.triaged, by=tech, via=Via.web)
    assert ticket.status is TicketStatus.triaged and device.status is AssetStatus.deployed
