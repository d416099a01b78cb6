"""Tickets: opening from the asset page, the queue, the ticket page (htmx and plain), scoping, the API."""

from __future__ import annotations

import io
import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Asset, Role, Ticket, TicketCategory, TicketStatus, User, Via
from app.services import tickets as ticket_service
from tests import factories
from tests.conftest import hx
from tests.test_reports import jpeg_with_gps


def _asset(tag: str) -> Asset:
    return db.session.scalar(sa.select(Asset).where(Asset.asset_tag == tag))


@pytest.fixture
def tickets(app, district):
    """Three tickets: an old student report on LHS, a newer staff ticket on LHS, one on JMS."""
    with app.app_context():
        admin = factories.make_user(Role.admin)
        old, _ = ticket_service.file_student_report(
            _asset("LHS-1000"), category=TicketCategory.cracked_screen, description="Cracked", via=Via.public
        )
        old.created_at -= timedelta(days=3)
        staff = ticket_service.open_ticket(
            _asset("LHS-1001"), category=TicketCategory.wont_charge, description="Dead battery", by=admin, via=Via.web
        )
        staff.created_at -= timedelta(days=1)
        jms, _ = ticket_service.file_student_report(
            _asset("JMS-2000"), category=TicketCategory.liquid, description="Juice", via=Via.public
        )
        db.session.commit()
        return {"old": old.number, "staff": staff.number, "jms": jms.number}


def numbers_in(html: str) -> list[str]:
    return re.findall(r'<span class="mono">(T-\d{6})</span>', html)


def test_open_a_ticket_from_the_asset_page(app, client, district, login_as):
    login_as("librarian", "LHS")
    page = client.get("/assets/LHS-1000").get_data(as_text=True)
    assert "/tickets/new?asset=LHS-1000" in page
    assert client.get("/tickets/new?asset=LHS-1000").status_code == 200
    resp = client.post(
        "/tickets/new?asset=LHS-1000",
        data={
            "category": "keyboard_trackpad",
            "description": "Sticky keys",
            "photo": (io.BytesIO(jpeg_with_gps()), "k.jpg"),
        },
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    with app.app_context():
        ticket = db.session.scalar(sa.select(Ticket))
        assert resp.headers["Location"].endswith(f"/tickets/{ticket.number}")
        assert ticket.source.value == "staff" and ticket.opened_by.role is Role.librarian and len(ticket.photos) == 1
        assert (
            db.session.scalar(sa.select(Activity).where(Activity.action == "ticket.open")).asset_id == ticket.asset_id
        )


def test_open_ticket_validation_and_scope(client, district, login_as):
    login_as("tech", "LHS")
    resp = client.post("/tickets/new?asset=LHS-1000", data={"category": "liquid", "description": " "})
    assert resp.status_code == 422 and 'id="description-error"' in resp.get_data(as_text=True)
    resp = client.post("/tickets/new?asset=LHS-1000", data={"category": "", "description": "x"})
    assert resp.status_code == 422 and 'id="category-error"' in resp.get_data(as_text=True)
    assert client.get("/tickets/new?asset=JMS-2000").status_code == 404


def test_viewer_cannot_open_tickets(client, district, login_as):
    login_as("viewer", "LHS")
    assert client.get("/tickets/new?asset=LHS-1000").status_code == 403
    assert "/tickets/new" not in client.get("/assets/LHS-1000").get_data(as_text=True)


def test_queue_orders_and_scopes(client, tickets, login_as):
    login_as("tech", "LHS")
    html = client.get("/tickets").get_data(as_text=True)
    assert numbers_in(html) == [tickets["staff"], tickets["old"]], "newest first, LHS only"
    html = client.get("/tickets?sort=oldest_open").get_data(as_text=True)
    assert numbers_in(html) == [tickets["old"], tickets["staff"]]
    html = client.get("/tickets?category=wont_charge").get_data(as_text=True)
    assert numbers_in(html) == [tickets["staff"]]


def test_queue_filters_by_campus_and_status(app, client, tickets, login_as):
    login_as("admin")
    with app.app_context():
        jms_id = factories.make_campus("JMS").id
    html = client.get(f"/tickets?campus={jms_id}").get_data(as_text=True)
    assert numbers_in(html) == [tickets["jms"]]
    with app.app_context():
        admin = db.session.scalar(sa.select(User).where(User.role == Role.admin))
        ticket_service.change_status(
            ticket_service.find_by_number(tickets["old"]), TicketStatus.closed, by=admin, via=Via.web
        )
        db.session.commit()
    assert tickets["old"] not in numbers_in(client.get("/tickets").get_data(as_text=True)), "open only by default"
    assert numbers_in(client.get("/tickets?status=closed").get_data(as_text=True)) == [tickets["old"]]
    assert tickets["old"] in numbers_in(client.get("/tickets?status=all").get_data(as_text=True))


def test_queue_fragment_for_htmx(client, tickets, login_as):
    login_as("tech", "LHS")
    resp = client.get("/tickets?sort=oldest_open", headers=hx())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<div id="ticket-results"') and "<html" not in html
    assert "HX-Request" in resp.headers["Vary"]
    full = client.get("/tickets?sort=oldest_open").get_data(as_text=True)
    assert "<html" in full and 'id="ticket-results"' in full


def test_other_campus_ticket_is_404(client, tickets, login_as):
    login_as("tech", "LHS")
    assert client.get(f"/tickets/{tickets['jms']}").status_code == 404
    assert client.post(f"/tickets/{tickets['jms']}/status", data={"status": "triaged"}).status_code == 404
    assert client.get("/tickets/T-999999").status_code == 404


def test_status_change_plain_and_htmx(app, client, tickets, login_as):
    login_as("tech", "LHS")
    resp = client.post(f"/tickets/{tickets['old']}/status", data={"status": "triaged"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/tickets/{tickets['old']}")
    resp = client.post(f"/tickets/{tickets['old']}/status", data={"status": "in_repair"}, headers=hx())
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200 and html.lstrip().startswith('<div class="grid-2 ticket-page" id="ticket-work"')
    # The timeline says it in words: the step taken, and the status it left the ticket in.
    assert "<html" not in html and "Taken in for repair (it was deployed)" in html and "now in repair" in html
    resp = client.post(f"/tickets/{tickets['old']}/status", data={"status": "exploded"}, headers=hx())
    assert resp.status_code == 422 and "Choose a status" in resp.get_data(as_text=True)
    resp = client.post(f"/tickets/{tickets['old']}/status", data={"status": "exploded"})
    assert resp.status_code == 422 and "<html" in resp.get_data(as_text=True)
    with app.app_context():
        ticket = ticket_service.find_by_number(tickets["old"])
        assert ticket.status is TicketStatus.in_repair
        # The tech acted on an unassigned ticket, so it became theirs along the way.
        assert [e.to_value for e in ticket.events if e.kind.value != "assigned"] == ["new", "triaged", "in_repair"]
        assert ticket.assignee is not None and ticket.assignee.role.value == "tech"
        changes = db.session.scalars(
            sa.select(Activity).where(Activity.action == "ticket.status").order_by(Activity.id)
        ).all()
        assert [c.after for c in changes] == [{"status": "triaged"}, {"status": "in_repair"}]


def test_closing_sets_closed_at_and_reopening_clears_it(app, tickets):
    with app.app_context():
        admin = factories.make_user(Role.admin)
        ticket = ticket_service.find_by_number(tickets["old"])
        ticket_service.change_status(ticket, TicketStatus.resolved, by=admin, via=Via.web)
        assert ticket.closed_at is not None
        ticket_service.change_status(ticket, TicketStatus.in_repair, by=admin, via=Via.web)
        assert ticket.closed_at is None
        assert ticket_service.change_status(ticket, TicketStatus.in_repair, by=admin, via=Via.web) is False


def test_comment_plain_and_htmx(client, tickets, login_as):
    login_as("aide", "LHS")
    resp = client.post(f"/tickets/{tickets['old']}/comments", data={"body": "Student says it fell."}, headers=hx())
    assert resp.status_code == 200 and "Student says it fell." in resp.get_data(as_text=True)
    resp = client.post(f"/tickets/{tickets['old']}/comments", data={"body": "   "}, headers=hx())
    assert resp.status_code == 422 and 'id="ticket-comment-error"' in resp.get_data(as_text=True)
    resp = client.post(f"/tickets/{tickets['old']}/comments", data={"body": "Second note"})
    assert resp.status_code == 303
    assert "Second note" in client.get(f"/tickets/{tickets['old']}").get_data(as_text=True)


def test_aide_and_viewer_cannot_change_status(client, tickets, login_as):
    login_as("aide", "LHS")
    assert client.post(f"/tickets/{tickets['old']}/status", data={"status": "triaged"}).status_code == 403
    login_as("viewer", "LHS")
    assert client.post(f"/tickets/{tickets['old']}/comments", data={"body": "hi"}).status_code == 403
    assert client.get(f"/tickets/{tickets['old']}").status_code == 200


def test_assign_to_a_tech_of_the_campus_only(app, client, tickets, login_as):
    with app.app_context():
        lhs_tech = factories.make_user(Role.tech, "LHS")
        jms_tech = factories.make_user(Role.tech, "JMS")
        db.session.commit()
        lhs_id, jms_id, lhs_name = lhs_tech.id, jms_tech.id, lhs_tech.name
    login_as("admin", "LHS")
    resp = client.post(f"/tickets/{tickets['old']}/assign", data={"assignee": str(jms_id)}, headers=hx())
    assert resp.status_code == 422 and "works on this campus" in resp.get_data(as_text=True)
    resp = client.post(f"/tickets/{tickets['old']}/assign", data={"assignee": str(lhs_id)}, headers=hx())
    assert resp.status_code == 200 and f'id="ticket-assignee">{lhs_name}<' in resp.get_data(as_text=True)
    assert client.post(f"/tickets/{tickets['old']}/assign", data={"assignee": ""}).status_code == 303
    with app.app_context():
        assert ticket_service.find_by_number(tickets["old"]).assignee is None
        assert db.session.scalar(sa.select(sa.func.count(Activity.id)).where(Activity.action == "ticket.assign")) == 2


def test_new_report_count_in_the_navigation(client, tickets, login_as):
    login_as("tech", "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert re.search(r'id="new-report-count"[^>]*>1<', html), "one new student report on LHS"
    login_as("tech", "JMS")
    assert re.search(r'id="new-report-count"[^>]*>1<', client.get("/assets").get_data(as_text=True))
    login_as("admin")
    assert re.search(r'id="new-report-count"[^>]*>2<', client.get("/assets").get_data(as_text=True))


def test_no_count_without_new_reports(client, district, login_as):
    login_as("tech", "LHS")
    html = client.get("/assets").get_data(as_text=True)
    assert "Tickets" in html and 'id="new-report-count"' not in html


def test_photo_is_served_to_staff_of_the_campus_only(app, client, district, login_as):
    with app.app_context():
        from app.services.photos import clean_photo

        ticket, _ = ticket_service.file_student_report(
            _asset("LHS-1000"),
            category=TicketCategory.other,
            description="See photo",
            photo=clean_photo(jpeg_with_gps()),
            via=Via.public,
        )
        db.session.commit()
        number, photo_id = ticket.number, ticket.photos[0].id
    path = f"/tickets/{number}/photos/{photo_id}.jpg"
    assert client.get(path).status_code == 302, "anonymous visitors are sent to sign in"
    login_as("tech", "JMS")
    assert client.get(path).status_code == 404
    login_as("tech", "LHS")
    resp = client.get(path)
    assert resp.status_code == 200 and resp.mimetype == "image/jpeg" and resp.data[:2] == b"\xff\xd8"
    assert f'src="{path}"' in client.get(f"/tickets/{number}").get_data(as_text=True)


def test_anonymous_is_sent_to_sign_in(client, tickets):
    for path in ("/tickets", f"/tickets/{tickets['old']}", "/tickets/new?asset=LHS-1000"):
        resp = client.get(path)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"]


# The API


def test_api_tickets_list_and_detail(client, tickets, login_as):
    login_as("viewer", "LHS")
    body = client.get("/api/v1/tickets").get_json()
    assert [t["number"] for t in body["items"]] == [tickets["staff"], tickets["old"]] and body["total"] == 2
    item = body["items"][1]
    assert {"number", "asset_tag", "category", "status", "source", "created_at"} <= set(item)
    assert item["asset_tag"] == "LHS-1000" and item["source"] == "student_report" and item["status"] == "new"
    assert item["created_at"].endswith("Z")
    assert "reporter_name" not in item
    assert client.get("/api/v1/tickets?status=new").get_json()["total"] == 2
    assert client.get("/api/v1/tickets?status=closed").get_json()["total"] == 0
    assert client.get("/api/v1/tickets?status=open").get_json()["total"] == 2
    assert client.get("/api/v1/tickets?status=bogus").status_code == 422
    detail = client.get(f"/api/v1/tickets/{tickets['old']}").get_json()
    assert detail["number"] == tickets["old"] and detail["category"] == "cracked_screen"
    resp = client.get(f"/api/v1/tickets/{tickets['jms']}")
    assert resp.status_code == 404 and resp.get_json()["error"]["code"] == "not_found"


def test_api_tickets_need_auth(client, tickets):
    for path in ("/api/v1/tickets", f"/api/v1/tickets/{tickets['old']}"):
        resp = client.get(path)
        assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthorized"


def test_api_tickets_in_openapi(client):
    spec = client.get("/api/openapi.json").get_json()
    assert "/api/v1/tickets" in spec["paths"] and "/api/v1/tickets/{number}" in spec["paths"]
    assert "Ticket" in spec["components"]["schemas"]


def test_ticket_page_whole_or_work_panel_for_htmx(client, tickets, login_as):
    login_as("tech", "LHS")
    full = client.get(f"/tickets/{tickets['old']}")
    assert full.status_code == 200 and "<html" in full.get_data(as_text=True)
    part = client.get(f"/tickets/{tickets['old']}", headers=hx())
    html = part.get_data(as_text=True)
    assert part.status_code == 200 and "<html" not in html and 'id="ticket-work"' in html
    assert "HX-Request" in part.headers["Vary"]


REPORTER = ("Zoe Martinez", "LHS100001", "zoe.m@students.example.org")


@pytest.fixture
def reported(app, district):
    """A student report on LHS-1001 (not Zoe's own device) in which Zoe gave her name, student ID and email."""
    with app.app_context():
        ticket, _ = ticket_service.file_student_report(
            _asset("LHS-1001"),
            category=TicketCategory.wont_turn_on,
            description="It does not start",
            reporter=ticket_service.Reporter(*REPORTER),
            via=Via.public,
        )
        db.session.commit()
        return ticket.number


@pytest.mark.parametrize(
    "role,campuses,sees",
    [
        ("admin", (), True),
        ("admin", ("LHS",), True),
        ("tech", ("LHS",), True),
        ("librarian", ("LHS",), False),
        ("aide", ("LHS",), False),
        ("viewer", ("LHS",), False),
    ],
)
def test_only_repair_staff_see_who_reported(client, reported, login_as, role, campuses, sees):
    login_as(role, *campuses)
    page = client.get(f"/tickets/{reported}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    reporter_line = re.search(r'<dd id="ticket-reporter">(.*?)</dd>', html, re.S).group(1)
    if sees:
        assert all(value in reporter_line for value in REPORTER)
    else:
        assert "given (only repair staff see it)" in reporter_line
        assert not any(value.lower() in html.lower() for value in REPORTER), "reporter shown to " + role
    # Lists and the API never carry them, for anyone.
    others = [
        client.get("/tickets?status=all").get_data(as_text=True),
        client.get("/tickets?status=all", headers=hx()).get_data(as_text=True),
        client.get("/api/v1/tickets").get_data(as_text=True),
        client.get(f"/api/v1/tickets/{reported}").get_data(as_text=True),
    ]
    assert reported in others[0] and reported in others[2]
    for text in others:
        assert not any(value.lower() in text.lower() for value in REPORTER[1:])
        assert REPORTER[0] not in text


@pytest.mark.parametrize("role,sees", [("admin", True), ("tech", True), ("librarian", False), ("viewer", False)])
def test_a_students_page_lists_their_reports_only_for_repair_staff(client, reported, login_as, role, sees):
    login_as(role, "LHS")
    html = client.get("/people/LHS100001").get_data(as_text=True)
    assert "Zoe Martinez" in html  # their own record, which these roles may read
    assert (reported in html) is sees


def test_a_ticket_with_no_reporter_says_not_given(client, tickets, login_as):
    login_as("aide", "LHS")
    html = client.get(f"/tickets/{tickets['old']}").get_data(as_text=True)
    assert re.search(r'<dd id="ticket-reporter"><span class="muted">not given</span></dd>', html)
