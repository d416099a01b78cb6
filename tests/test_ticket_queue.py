"""The ticket queue: its columns, search (number, tag, serial, name), "assigned to me", swaps waiting to be
reversed (queue and dashboard), who sees students' names, and a bounded number of queries per page."""

from __future__ import annotations

import re
from contextlib import contextmanager
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import AssetStatus, Priority, Role, Ticket, TicketCategory, User, Via
from app.services import assets as asset_service
from app.services import ticket_queue
from app.services import tickets as ticket_service
from app.services.repairs import swaps, workflow
from app.web.times import age_text
from tests import factories
from tests.conftest import hx
from tests.repairs_world import make_shop


@pytest.fixture
def shop(app):
    """The repair shop (Zoe Martinez's LHS-1000 with a ticket), plus a second LHS ticket and one on JMS."""
    with app.app_context():
        world = make_shop()
        ticket = world["ticket"]
        ticket.created_at -= timedelta(days=3)
        other_device = factories.make_asset(world["lhs"], world["room"], asset_tag="LHS-2_5", serial="ABC%DEF01")
        other, _ = ticket_service.file_student_report(
            other_device,
            category=TicketCategory.wont_charge,
            description="No light when plugged in",
            reporter=ticket_service.Reporter(name="Maya Okafor"),
        )
        jms_device = factories.make_asset(world["jms"], None, asset_tag="JMS-3000", serial="JMSSERIAL1")
        jms, _ = ticket_service.file_student_report(
            jms_device, category=TicketCategory.liquid, description="Juice", via=Via.public
        )
        db.session.commit()
        return {
            "zoe": ticket.number,
            "maya": other.number,
            "jms": jms.number,
            "ticket_id": ticket.id,
            "tech_id": world["tech"].id,
        }


def numbers_in(html: str) -> list[str]:
    return re.findall(r'<span class="mono">(T-\d{6})</span>', html)


def queue(client, **args) -> str:
    resp = client.get("/tickets", query_string=args)
    assert resp.status_code == 200
    return resp.get_data(as_text=True)


def _ticket(ticket_id: int) -> Ticket:
    return db.session.get(Ticket, ticket_id)


def test_columns_a_tech_works_from(app, client, shop, login_as):
    with app.app_context():
        ticket, tech = _ticket(shop["ticket_id"]), db.session.get(User, shop["tech_id"])
        workflow.triage(
            ticket, category=TicketCategory.cracked_screen, priority=Priority.urgent, responsible=None,
            accidental=True, by=tech, via=Via.web,
        )  # fmt: skip
        db.session.commit()
        tech_name = tech.name
    login_as("tech", "LHS")
    html = queue(client)
    heads = re.findall(r'<th scope="col">([^<]+)</th>', html)
    assert heads == ["Priority", "Ticket", "Device", "Student", "Assignee", "Status", "Age"]
    row = re.search(rf'<tr class="ticket-row" id="row-{shop["zoe"]}">(.*?)</tr>', html, re.S).group(1)
    assert 'class="badge prio-urgent">urgent<' in row
    assert "LHS-1000" in row and "Chromebook 311" in row and "Zoe Martinez" in row
    assert tech_name in row, "triage by a tech took the ticket up"
    assert "triaged" in row and ">3 days</time>" in row
    other = re.search(rf'id="row-{shop["maya"]}">(.*?)</tr>', html, re.S).group(1)
    assert "not triaged" in other and "no one" in other
    assert shop["jms"] not in numbers_in(html), "campus scoping stays"


def test_age_in_words():
    from datetime import UTC, datetime

    now = datetime(2026, 12, 1, 12, tzinfo=UTC)
    assert age_text(now - timedelta(days=3, hours=2), now=now) == "3 days"
    assert age_text(now - timedelta(hours=5), now=now) == "5 hours"
    assert age_text(now + timedelta(minutes=1), now=now) == "0 minutes", "a clock a little ahead is not negative"


@pytest.mark.parametrize(
    ("q", "expect"),
    [
        ("zoe", ["zoe"]),
        ("MARTINEZ zoe", ["zoe"]),
        ("lhs-1000", ["zoe"]),
        ("mkqqa7", ["zoe"]),  # the serial, any case
        ("maya", ["maya"]),  # a reporter's name, for those who see reporters
        ("LHS", ["maya", "zoe"]),
        ("2_5", ["maya"]),
        ("_", ["maya"]),  # a literal underscore, not LIKE's any-character
        ("%", ["maya"]),  # the serial ABC%DEF01, not everything
        ("nobody", []),
        ("JMS-3000", []),  # another campus's device
    ],
)
def test_search_by_number_tag_serial_and_name(client, shop, login_as, q, expect):
    login_as("tech", "LHS")
    assert numbers_in(queue(client, q=q)) == [shop[k] for k in expect]


def test_search_by_ticket_number(client, shop, login_as):
    login_as("tech", "LHS")
    number = shop["zoe"]
    assert numbers_in(queue(client, q=number)) == [number]
    assert numbers_in(queue(client, q=number.lower())) == [number]
    assert number in numbers_in(queue(client, q=str(int(number[2:]))))


def test_search_is_live_with_htmx(client, shop, login_as):
    login_as("tech", "LHS")
    resp = client.get("/tickets?q=zoe", headers=hx())
    html = resp.get_data(as_text=True)
    assert html.lstrip().startswith('<div id="ticket-results"') and "<html" not in html
    assert numbers_in(html) == [shop["zoe"]] and "1 ticket" in html
    page = queue(client, q="zoe")
    assert 'value="zoe"' in page and 'hx-push-url="true"' in page and 'method="get"' in page


@pytest.mark.parametrize("role", ["aide"])
def test_a_role_that_cannot_see_people_gets_no_names(client, shop, login_as, role):
    login_as(role, "LHS")
    html = queue(client)
    assert set(numbers_in(html)) == {shop["zoe"], shop["maya"]}
    assert "Zoe Martinez" not in html and "Maya Okafor" not in html
    assert '<th scope="col">Student</th>' not in html
    # Searching a name finds nothing, so a count cannot confirm who has which device.
    assert numbers_in(queue(client, q="zoe")) == []
    assert numbers_in(queue(client, q="maya")) == []
    assert numbers_in(queue(client, q="LHS100001")) == []
    assert numbers_in(queue(client, q="lhs-1000")) == [shop["zoe"]]


def test_a_librarian_sees_students_but_not_reporters(client, shop, login_as):
    login_as("librarian", "LHS")
    html = queue(client)
    assert "Zoe Martinez" in html and "Maya Okafor" not in html
    assert numbers_in(queue(client, q="zoe")) == [shop["zoe"]]
    assert numbers_in(queue(client, q="maya")) == []


def test_assigned_to_me_and_to_no_one(app, client, shop, login_as):
    me = login_as("tech", "LHS")
    with app.app_context():
        ticket_service.assign(_ticket(shop["ticket_id"]), db.session.get(User, me.id), by=me, via=Via.web)
        db.session.commit()
    assert numbers_in(queue(client, assignee="me")) == [shop["zoe"]]
    assert numbers_in(queue(client, assignee="none")) == [shop["maya"]]
    assert numbers_in(queue(client, assignee="bogus")) == [shop["maya"], shop["zoe"]]
    login_as("tech", "LHS")
    assert numbers_in(queue(client, assignee="me")) == []


def test_priority_order(app, client, shop, login_as):
    with app.app_context():
        tech = db.session.get(User, shop["tech_id"])
        workflow.triage(
            _ticket(shop["ticket_id"]), category=TicketCategory.cracked_screen, priority=Priority.low,
            responsible=None, accidental=False, by=tech, via=Via.web,
        )  # fmt: skip
        db.session.commit()
    login_as("tech", "LHS")
    assert numbers_in(queue(client, sort="priority")) == [shop["maya"], shop["zoe"]], "untriaged counts as normal"
    assert numbers_in(queue(client, sort="oldest_open")) == [shop["zoe"], shop["maya"]]


def test_swaps_waiting_on_the_queue_and_the_dashboard(app, client, shop, login_as):
    login_as("viewer", "LHS")
    assert "swaps-waiting" not in queue(client)
    with app.app_context():
        ticket, tech = _ticket(shop["ticket_id"]), db.session.get(User, shop["tech_id"])
        swaps.swap_in_loaner(ticket, by=tech, via=Via.web)
        db.session.commit()
        assert ticket_queue.swaps_waiting(tech) == 0, "the repair is not done: the loaner is simply out"
        workflow.resolve(ticket, by=tech, via=Via.web)
        db.session.commit()
        assert ticket_queue.swaps_waiting(tech) == 1
        jms_viewer = factories.make_user(Role.viewer, "JMS")
        assert ticket_queue.swaps_waiting(jms_viewer) == 0
        db.session.commit()
    html = queue(client)
    assert 'id="swaps-waiting"' in html and "1 loaner swap is waiting to be reversed" in html
    assert shop["zoe"] not in numbers_in(html), "resolved, so not in the open queue"
    html = queue(client, swaps="1")
    assert numbers_in(html) == [shop["zoe"]] and "swap to reverse" in html and 'id="swaps-waiting"' not in html
    board = client.get("/dashboard").get_data(as_text=True)
    card = re.search(r'<section class="card" id="dash-swaps".*?</section>', board, re.S).group(0)
    assert ">1<" in card and "/tickets?swaps=1" in card


@contextmanager
def counting_queries():
    statements: list[str] = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", count)


def test_a_page_of_fifty_costs_as_many_queries_as_a_page_of_one(app, client, login_as):
    """Rows, devices, models, campuses, students, assignees, priorities and swaps are loaded per page, not per row."""
    with app.app_context():
        lhs = factories.make_campus("LHS")
        tech = factories.make_user(Role.tech, "LHS")
        loaner = factories.make_asset(lhs, None, asset_tag="LHS-L900", status=AssetStatus.loaner)
        for i in range(50):
            asset = factories.make_asset(
                lhs, None, asset_tag=f"LHS-{7000 + i}", model=factories.make_model(name=f"M{i}")
            )
            asset_service.assign(asset, factories.make_person(lhs), by=tech, via=Via.web)
            ticket = ticket_service.open_ticket(
                asset, category=TicketCategory.other, description="Broken", by=tech, via=Via.web
            )
            if i % 2:
                ticket_service.assign(ticket, tech, by=tech, via=Via.web)
            if i % 3 == 1:
                workflow.triage(
                    ticket, category=TicketCategory.other, priority=Priority.high, responsible=None, accidental=False,
                    by=tech, via=Via.web,
                )  # fmt: skip
            if i == 7:
                swaps.swap_in_loaner(ticket, by=tech, via=Via.web, loaner=loaner)
        db.session.commit()
    login_as("tech", "LHS")
    queue(client)  # the first request of a session does its own one-off lookups

    def statements(**args) -> tuple[int, str]:
        with app.app_context(), counting_queries() as seen:
            html = queue(client, **args)
        return len(seen), html

    many, html = statements(q="LHS-7", sort="priority")
    assert len(numbers_in(html)) == 50 and "loaner out" in html and "high" in html
    one, html = statements(q="LHS-7007", sort="priority")
    assert len(numbers_in(html)) == 1 and "loaner out" in html
    assert many == one, (many, one)
