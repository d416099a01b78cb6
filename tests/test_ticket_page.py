"""The ticket page's parts: its next steps by state, its one timeline in words, and the fee filled from the schedule."""

from __future__ import annotations

import re
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AssetStatus, Fee, Priority, Role, Ticket, TicketCategory, TicketStatus, User, Via
from app.services import fees as fee_service
from app.services import warranty
from app.services.repairs import parts, swaps, workflow
from app.services.repairs.next_steps import plan_for, suggested_fee
from app.services.tickets_timeline import ticket_timeline
from tests.conftest import hx
from tests.repairs_world import make_shop


def _ticket(status: TicketStatus, device: AssetStatus = AssetStatus.deployed):
    return SimpleNamespace(status=status, asset=SimpleNamespace(status=device))


FACTS = {"has_holder": True, "swap_open": False, "claim_open": False, "has_claims": False, "covered": False}


@pytest.mark.parametrize(
    ("status", "device", "facts", "first"),
    [
        (TicketStatus.new, AssetStatus.deployed, {}, ["triage"]),
        (TicketStatus.triaged, AssetStatus.deployed, {}, ["take_in", "swap"]),
        (TicketStatus.triaged, AssetStatus.deployed, {"has_holder": False, "covered": True}, ["take_in", "claim"]),
        (TicketStatus.in_repair, AssetStatus.in_repair, {}, ["resolve", "parts"]),
        (TicketStatus.waiting_parts, AssetStatus.in_repair, {}, ["back_in_repair", "resolve"]),
        (TicketStatus.warranty_claim, AssetStatus.in_repair, {"claim_open": True, "has_claims": True}, ["claim_card"]),
        (TicketStatus.resolved, AssetStatus.in_repair, {"swap_open": True}, ["reverse"]),
        (TicketStatus.resolved, AssetStatus.deployed, {}, ["close"]),
        (TicketStatus.closed, AssetStatus.deployed, {}, ["reopen"]),
    ],
)
def test_the_likely_next_steps_come_first_for_each_state(status, device, facts, first):
    plan = plan_for(_ticket(status, device), **{**FACTS, **facts})
    assert plan.first == first
    assert not set(plan.first) & set(plan.rest), "each action is offered once"
    if status in (TicketStatus.new, TicketStatus.triaged):
        # Until triaged (and while triage is fresh) it comes before resolving; later it is an edit, among the rest.
        assert plan.all.index("triage") < plan.all.index("resolve"), "triage before resolve"
    if facts.get("claim_open"):
        assert "resolve" not in plan.all and "claim" not in plan.all  # the claim comes back first
    if status is TicketStatus.resolved and facts.get("swap_open"):
        assert "close" not in plan.all  # not until the swap is reversed


def test_a_ticket_that_is_already_held_is_not_taken_in_again():
    plan = plan_for(_ticket(TicketStatus.triaged, AssetStatus.in_repair), **FACTS)
    assert "take_in" not in plan.all and plan.first == ["swap"]


SCHEDULE = [(r, Decimal(a)) for r, a in (("Lost charger", "30.00"), ("Cracked screen", "25.00"), ("Liquid", "50"))]


@pytest.mark.parametrize(
    ("category", "reason"),
    [
        (TicketCategory.cracked_screen, "Cracked screen"),
        (TicketCategory.liquid, "Liquid"),
        (TicketCategory.wont_charge, "Lost charger"),
        (TicketCategory.camera_sound, "Lost charger"),  # nothing fits: the schedule's first reason
    ],
)
def test_the_suggested_fee_is_the_schedule_reason_that_fits_the_damage(category, reason):
    suggestion = suggested_fee(SimpleNamespace(category=category), SCHEDULE)
    assert suggestion == (reason, dict(SCHEDULE)[reason])
    assert suggested_fee(SimpleNamespace(category=category), []) is None


def _repaired_under_warranty_with_a_swap(world) -> Ticket:
    """The shop's ticket taken through every step: triage, swap, a part, a claim shipped and received, resolve, fee."""
    ticket, tech, student = world["ticket"], world["tech"], world["student"]
    workflow.triage(
        ticket,
        category=TicketCategory.cracked_screen,
        priority=Priority.high,
        responsible=student,
        accidental=True,
        by=tech,
        via=Via.web,
    )
    swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
    parts.use_parts(ticket, world["screen"], 1, by=tech, via=Via.web)
    claim = warranty.open_claim(ticket, by=tech, via=Via.web)
    warranty.approve(claim, rma="rma-77", by=tech, via=Via.web)
    batch = warranty.new_batch(vendor=claim.vendor, campus=world["lhs"], by=tech, via=Via.web)
    warranty.add_to_batch(batch, claim, by=tech, via=Via.web)
    warranty.ship_batch(batch, by=tech, via=Via.web, tracking="1Z999")
    warranty.receive("LHS-1000", by=tech, via=Via.web)
    workflow.resolve(ticket, by=tech, via=Via.web)
    fee_service.charge(student, amount="25.00", reason="Cracked screen", ticket=ticket, by=tech, via=Via.web)
    db.session.flush()
    return ticket


def test_the_timeline_tells_every_step_in_words(app):
    with app.app_context():
        world = make_shop()
        ticket = _repaired_under_warranty_with_a_swap(world)
        entries = ticket_timeline(ticket, show_people=True)
        texts = [e.text for e in entries]
        joined = "\n".join(texts)

        assert texts[0] == "Opened" and entries == sorted(entries, key=lambda e: e.at)
        assert "Triaged: Cracked screen, high priority, Zoe Martinez responsible, looks accidental" in texts
        assert "Loaner LHS-L001 lent to Zoe Martinez while this device is repaired" in texts
        assert "Used 1 × Screen 11.6in (42.50)" in texts
        assert "Warranty claim opened with Acer Care" in texts
        assert "Warranty claim approved, RMA RMA-77" in texts
        assert any(t.startswith("Shipped to Acer Care in B-") and t.endswith("tracking 1Z999") for t in texts), joined
        assert "Back from Acer Care (RMA RMA-77)" in texts
        assert "Fee of 25.00 for Cracked screen" in texts
        resolved = next(e for e in entries if e.text.startswith("Resolved"))
        assert resolved.text == "Resolved as repaired; waiting for the swap to be reversed"
        # The status change is told with the step that made it, not as a line of its own.
        assert resolved.status is TicketStatus.resolved
        assert not any(t.startswith("Status changed") and t.endswith("to resolved") for t in texts), joined
        for raw in ("True", "False", "swap_waiting", "swap waiting", "in_repair", "cracked_screen"):
            assert raw not in joined

        # A reader who may not see people reads the same steps without the student's name.
        hidden = "\n".join(e.text for e in ticket_timeline(ticket, show_people=False))
        assert "Zoe" not in hidden and "Loaner LHS-L001 lent to the student" in hidden


def test_a_status_changed_by_hand_reads_as_words(app):
    with app.app_context():
        world = make_shop()
        ticket = world["ticket"]
        from app.services import tickets as ticket_service

        ticket_service.change_status(ticket, TicketStatus.waiting_parts, by=world["tech2"], via=Via.web)
        last = [e for e in ticket_timeline(ticket, show_people=True) if e.kind == "status"][-1]
        assert last.text == "Status changed from new to waiting parts"
        assert last.status is TicketStatus.waiting_parts


@pytest.fixture
def shop(app):
    with app.app_context():
        world = make_shop()
        db.session.commit()
        return {"number": world["ticket"].number, "ticket": world["ticket"].id, "tech": world["tech"].id}


def _sign_in(app, client, user_id: int) -> None:
    from app.services.users import start_session

    with client.session_transaction() as session, app.app_context():
        session["_user_id"] = start_session(db.session.get(User, user_id))
        session["_fresh"] = True
        db.session.commit()


def test_the_fee_form_starts_at_the_usual_amount_and_a_blank_amount_is_the_usual_one(app, client, shop):
    _sign_in(app, client, shop["tech"])
    html = client.get(f"/tickets/{shop['number']}").get_data(as_text=True)
    assert '<option value="Cracked screen" data-amount="25.00" selected>' in html
    assert 'name="amount" inputmode="decimal" maxlength="10" value="25.00"' in html
    resp = client.post(
        f"/repairs/tickets/{shop['number']}/fees",
        data={"person": "LHS100001", "reason": "Liquid damage", "amount": ""},
        headers=hx(),
    )
    assert resp.status_code == 200
    with app.app_context():
        fee = db.session.scalar(sa.select(Fee))
        assert (fee.reason, fee.amount) == ("Liquid damage", Decimal("50.00"))
    # A typed amount stands; a reason off the schedule with no amount is refused on the field.
    client.post(
        f"/repairs/tickets/{shop['number']}/fees",
        data={"person": "LHS100001", "reason": "Cracked screen", "amount": "12.50"},
    )
    resp = client.post(
        f"/repairs/tickets/{shop['number']}/fees",
        data={"person": "LHS100001", "reason": "Broken hinge", "amount": ""},
        headers=hx(),
    )
    assert resp.status_code == 422 and 'id="fee-amount-error"' in resp.get_data(as_text=True)
    with app.app_context():
        assert sorted(db.session.scalars(sa.select(Fee.amount))) == [Decimal("12.50"), Decimal("50.00")]


@pytest.mark.parametrize("headers", [{}, hx()])
def test_the_page_opens_with_the_summary_and_next_step_and_htmx_gets_the_work_area(app, client, shop, headers):
    _sign_in(app, client, shop["tech"])
    resp = client.get(f"/tickets/{shop['number']}", headers=headers)
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and ("<html" in html) is not bool(headers)
    summary, steps, timeline = (html.index(f'id="{i}"') for i in ("ticket-summary", "next-actions", "ticket-timeline"))
    assert summary < steps < timeline
    next_steps = html[steps : html.index('id="more-actions"')]
    assert "Save triage" in next_steps and "Resolve: repaired" not in next_steps
    assert 'id="ticket-status-select"' not in html and "Move to" not in html


def test_an_aide_reads_the_ticket_without_the_students_name(app, client, shop, login_as):
    with app.app_context():
        ticket = db.session.get(Ticket, shop["ticket"])
        tech = db.session.get(User, shop["tech"])
        from app.services.people import find_person

        workflow.triage(
            ticket,
            category=TicketCategory.cracked_screen,
            priority=Priority.normal,
            responsible=find_person("LHS100001"),
            accidental=True,
            by=tech,
            via=Via.web,
        )
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
        db.session.commit()
    login_as(Role.aide, "LHS")
    html = client.get(f"/tickets/{shop['number']}").get_data(as_text=True)
    assert "Loaner LHS-L001 lent to the student" in html
    assert "Zoe" not in html and "LHS100001" not in html
    assert 'id="repair-panel"' not in html  # no repair actions for an aide; comments stay
    assert 'id="ticket-comment"' in html


def test_logged_values_read_as_words_on_the_device_timeline(app, client, shop):
    from app.web import change_words

    with app.app_context(), app.test_request_context():
        assert change_words.value_words(True) == "yes" and change_words.value_words(None) == "—"
        assert change_words.value_words("waiting_parts") == "waiting parts"
        assert change_words.value_words(["LHS-1000", "LHS-1001"]) == "LHS-1000, LHS-1001"
        moment = change_words.value_words("2026-07-08T15:04:05.123456+00:00", "America/Chicago")
        assert moment.startswith("Wed 8 Jul") and moment.endswith("10:04 am"), moment
        assert change_words.phrase("swap_waiting", True) == "waiting for the swap to be reversed"
        assert change_words.phrase("status", True) is None and change_words.key_words("home_room_id") == "home room"

    with app.app_context():
        ticket, tech = db.session.get(Ticket, shop["ticket"]), db.session.get(User, shop["tech"])
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
        workflow.resolve(ticket, by=tech, via=Via.web)
        db.session.commit()
    _sign_in(app, client, shop["tech"])
    html = client.get("/assets/LHS-1000").get_data(as_text=True)
    timeline = html[html.index('id="timeline"') :]
    assert "waiting for the swap to be reversed" in timeline
    assert "swap waiting" not in timeline and ">True<" not in timeline
    # The loaner's page: its loan's due time, logged as ISO UTC, is shown in the campus's zone.
    html = client.get("/assets/LHS-L001").get_data(as_text=True)
    loaner = html[html.index('id="timeline"') :]
    assert "due:" in loaner
    for page in (timeline, loaner):
        words = re.sub(r"<[^>]+>", " ", page)  # what the page shows; the exact instant is in <time> attributes
        assert not re.search(r"\d{4}-\d{2}-\d{2}T|\d{2}:\d{2}:\d{2}|\.\d{6}", words)
        assert not re.search(r"\.\d{6}", page), "no microseconds, not even in a tooltip"
