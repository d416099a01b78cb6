"""The repair pages and the ticket page's repair actions over HTTP: permissions, htmx and plain forms, 422s, CSV,
the ticket API's repair fields and the offline claim.ship / claim.receive events."""

from __future__ import annotations

import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    ClaimStatus,
    Fee,
    LoanerSwap,
    Part,
    Role,
    Ticket,
    TicketStatus,
    Via,
    WarrantyClaim,
)
from app.services import warranty
from app.services.repairs import parts, swaps, workflow
from tests.conftest import hx
from tests.repairs_world import ids, make_shop, open_loans_per_asset


@pytest.fixture
def shop(app):
    with app.app_context():
        world = make_shop()
        db.session.commit()
        out = ids(world)
        out["number"] = world["ticket"].number
        out["tag_code"] = world["device"].tag_code
    return out


@pytest.fixture
def tech(client, app, shop):
    """Sign the client in as the shop's LHS tech."""
    with client.session_transaction() as session, app.app_context():
        from app.models import User
        from app.services.users import start_session

        session["_user_id"] = start_session(db.session.get(User, shop["tech"]))
        session["_fresh"] = True
        db.session.commit()
    return shop


def _get(app, model, pk):
    with app.app_context():
        return db.session.get(model, pk)


def test_ticket_page_shows_the_repair_panel_with_next_actions(client, tech):
    resp = client.get(f"/tickets/{tech['number']}")
    html = resp.get_data(as_text=True)
    assert resp.status_code == 200
    assert 'id="repair-panel"' in html
    assert "Take in for repair" in html and "Swap in a loaner" in html and "Open warranty claim" in html
    assert 'href="/repairs"' in html  # the nav link for techs


@pytest.mark.parametrize("headers", [{}, hx()])
def test_triage_with_and_without_htmx(client, tech, app, headers):
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/triage",
        data={"category": "liquid", "priority": "high", "responsible": "LHS100001", "accidental": "1"},
        headers=headers,
    )
    if headers:
        assert resp.status_code == 200
        html = resp.get_data(as_text=True)
        assert 'id="repair-panel"' in html and 'id="ticket-work"' in html
        assert "Zoe Martinez" in html
    else:
        assert resp.status_code == 303 and resp.headers["Location"].endswith(f"/tickets/{tech['number']}")
    ticket = _get(app, Ticket, tech["ticket"])
    assert ticket.status is TicketStatus.triaged and ticket.category.value == "liquid"


@pytest.mark.parametrize("headers", [{}, hx()])
def test_triage_bad_input_is_422_on_the_field(client, tech, headers):
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/triage",
        data={"category": "nope", "priority": "high", "responsible": "NOBODY"},
        headers=headers,
    )
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Choose a category." in html and "No one on your campuses has the ID" in html


@pytest.mark.parametrize("headers", [{}, hx()])
def test_more_parts_than_in_stock_is_422_with_the_count_left(client, tech, app, headers):
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/parts", data={"part": tech["screen"], "quantity": "9"}, headers=headers
    )
    assert resp.status_code == 422
    assert "Only 3 × Screen 11.6in left in stock at LHS; you asked for 9." in resp.get_data(as_text=True)
    with app.app_context():
        from app.models import Part

        assert parts.stock_of(db.session.get(Part, tech["screen"]), tech["lhs"]) == 3


def test_parts_and_labour_add_up_on_the_page_and_the_api(client, tech):
    assert (
        client.post(
            f"/repairs/tickets/{tech['number']}/parts", data={"part": tech["screen"], "quantity": "2"}
        ).status_code
        == 303
    )
    assert client.post(f"/repairs/tickets/{tech['number']}/labour", data={"minutes": "30"}).status_code == 303
    html = client.get(f"/tickets/{tech['number']}").get_data(as_text=True)
    assert "<strong>100.00</strong>" in html  # 2 × 42.50 + 30 min at 30.00
    data = client.get(f"/api/v1/tickets/{tech['number']}").get_json()
    assert data["cost"] == {"parts": "85.00", "labour": "15.00", "total": "100.00"}
    assert data["parts"][0]["part_number"] == "SCR-116" and data["parts"][0]["quantity"] == 2
    assert data["labour_minutes"] == 30
    assert data["history"][0]["kind"] == "opened"
    assert data["claims"] == [] and data["swaps"] == []


def test_claim_on_an_expired_warranty_is_refused_with_the_reason(client, tech, app):
    with app.app_context():
        device = db.session.get(Asset, tech["device"])
        today = device.warranty_end - timedelta(days=500)
        device.warranty_start = today - timedelta(days=800)
        device.warranty_end = today - timedelta(days=10)
        end = device.warranty_end.isoformat()
        db.session.commit()
    for headers in ({}, hx()):
        resp = client.post(f"/repairs/tickets/{tech['number']}/claim", data={"vendor": "Acer Care"}, headers=headers)
        assert resp.status_code == 422
        assert f"Not covered: The warranty expired on {end}." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count(WarrantyClaim.id))) == 0


def test_swap_resolve_reverse_over_http_and_twice_is_refused(client, tech, app):
    number = tech["number"]
    assert client.post(f"/repairs/tickets/{number}/swap", data={"loaner": ""}).status_code == 303
    with app.app_context():
        assert max(open_loans_per_asset().values()) == 1
    resp = client.post(f"/repairs/tickets/{number}/swap", data={}, headers=hx())
    assert resp.status_code == 422 and "already swapped in" in resp.get_data(as_text=True)
    # Reversing before resolve: refused.
    resp = client.post(f"/repairs/tickets/{number}/reverse", data={})
    assert resp.status_code == 422 and "Resolve" in resp.get_data(as_text=True)
    assert client.post(f"/repairs/tickets/{number}/resolve").status_code == 303
    resp = client.post(f"/repairs/tickets/{number}/resolve", headers=hx())
    assert resp.status_code == 422 and "already resolved" in resp.get_data(as_text=True)
    html = client.get("/repairs/swaps").get_data(as_text=True)
    assert "Reverse: LHS-1000 back to Zoe Martinez" in html
    resp = client.post(f"/repairs/tickets/{number}/reverse", data={"condition": "good"}, headers=hx())
    assert resp.status_code == 200
    resp = client.post(f"/repairs/tickets/{number}/reverse", data={})
    assert resp.status_code == 422 and "already reversed" in resp.get_data(as_text=True)
    with app.app_context():
        assert open_loans_per_asset() == {}
        assert db.session.get(Asset, tech["device"]).status is AssetStatus.deployed
    assert client.post(f"/repairs/tickets/{number}/close").status_code == 303


def test_swaps_list_reverse_with_and_without_htmx(client, tech, app):
    with app.app_context():
        from app.models import User

        t = db.session.get(Ticket, tech["ticket"])
        user = db.session.get(User, tech["tech"])
        swap = swaps.swap_in_loaner(t, by=user, via=Via.web)
        workflow.resolve(t, by=user, via=Via.web)
        db.session.commit()
        swap_id = swap.id
    resp = client.post(f"/repairs/swaps/{swap_id}/reverse", headers=hx())
    assert resp.status_code == 200 and "No loaner swaps are open." in resp.get_data(as_text=True)
    resp = client.post(f"/repairs/swaps/{swap_id}/reverse")
    assert resp.status_code == 422 and "already reversed" in resp.get_data(as_text=True)
    assert _get(app, LoanerSwap, swap_id).reversed_at is not None


def test_claim_batch_receive_flow_over_http(client, tech, app):
    number = tech["number"]
    assert client.post(f"/repairs/tickets/{number}/claim", data={"vendor": "Acer Care"}).status_code == 303
    with app.app_context():
        claim_id = db.session.scalar(sa.select(WarrantyClaim.id))
    resp = client.post(f"/repairs/claims/{claim_id}/approve", data={"rma": ""}, headers=hx())
    assert resp.status_code == 422 and "Enter the claim number" in resp.get_data(as_text=True)
    resp = client.post(f"/repairs/claims/{claim_id}/approve", data={"rma": "RMA-5"}, headers=hx())
    assert resp.status_code == 200 and 'id="claim"' in resp.get_data(as_text=True)
    resp = client.post("/repairs/batches", data={"vendor": "Acer Care", "campus": tech["lhs"]})
    assert resp.status_code == 303
    batch_url = resp.headers["Location"]
    batch_id = int(batch_url.rstrip("/").rsplit("/", 1)[1])
    assert client.post(f"/repairs/batches/{batch_id}/add", data={"claim": claim_id}).status_code == 303
    packing = client.get(f"/repairs/batches/{batch_id}/packing-list").get_data(as_text=True)
    assert "LHS-1000" in packing and "MKQQA7MSUA" in packing and "RMA-5" in packing
    resp = client.post(f"/repairs/batches/{batch_id}/ship", data={"tracking": "1Z"}, headers=hx())
    assert resp.status_code == 200 and "shipped" in resp.get_data(as_text=True)

    # Unknown RMA: a clear message, nothing changed.
    resp = client.post("/repairs/receive", data={"code": "RMA-UNKNOWN"}, headers=hx())
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert "Nothing matches RMA-UNKNOWN" in html and "Nothing was changed." in html
    assert _get(app, WarrantyClaim, claim_id).status is ClaimStatus.shipped
    resp = client.post("/repairs/receive", data={"code": tech["tag_code"]})
    assert resp.status_code == 200 and "Received <strong>LHS-1000</strong>" in resp.get_data(as_text=True)
    assert _get(app, WarrantyClaim, claim_id).status is ClaimStatus.returned
    assert client.get("/repairs/receive", headers=hx()).status_code == 200


def test_fees_settle_and_csv(client, tech, app):
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/fees",
        data={"person": "LHS100001", "reason": "Cracked screen", "amount": "0"},
    )
    assert resp.status_code == 422 and "more than 0" in resp.get_data(as_text=True)
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/fees",
        data={"person": "LHS100001", "reason": "Cracked screen", "amount": "25"},
        headers=hx(),
    )
    assert resp.status_code == 200
    with app.app_context():
        fee_id = db.session.scalar(sa.select(Fee.id))
    assert client.get("/repairs/fees", headers=hx()).status_code == 200
    resp = client.post(f"/repairs/fees/{fee_id}/settle", data={"status": "waived", "note": ""})
    assert resp.status_code == 422 and "Say why" in resp.get_data(as_text=True)
    assert client.post(f"/repairs/fees/{fee_id}/settle", data={"status": "paid", "note": "R-1"}).status_code == 303
    csv_text = client.get("/repairs/fees.csv").get_data(as_text=True)
    assert "Zoe Martinez" in csv_text and ",25.00,paid," in csv_text


@pytest.mark.parametrize("headers", [{}, hx()])
def test_the_fee_list_filters_by_status_and_marks_the_filter(client, tech, app, headers):
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/fees",
        data={"person": "LHS100001", "reason": "Cracked screen", "amount": "25"},
    )
    assert resp.status_code == 303
    paid = client.get("/repairs/fees?status=paid", headers=headers)
    assert paid.status_code == 200 and "No fees here." in paid.get_data(as_text=True)
    outstanding = client.get("/repairs/fees?status=outstanding").get_data(as_text=True)
    assert "25.00" in outstanding
    assert 'href="/repairs/fees?status=outstanding" aria-current="page"' in outstanding
    assert 'href="/repairs/fees.csv?status=outstanding"' in outstanding
    assert ",25.00,outstanding," in client.get("/repairs/fees.csv?status=outstanding").get_data(as_text=True)
    assert ",25.00," not in client.get("/repairs/fees.csv?status=paid").get_data(as_text=True)


def test_parts_page_create_and_stock(client, tech, app):
    assert client.get("/repairs/parts", headers=hx()).status_code == 200
    resp = client.post("/repairs/parts", data={"name": "Keyboard", "part_number": "SCR-116", "unit_cost": "5"})
    assert resp.status_code == 422 and "already in the catalogue" in resp.get_data(as_text=True)
    resp = client.post("/repairs/parts", data={"name": "Keyboard", "part_number": "kb-9", "unit_cost": "12.5"})
    assert resp.status_code == 303
    resp = client.post(f"/repairs/parts/{tech['screen']}/stock", data={"campus": tech["lhs"], "quantity": "-9"})
    assert resp.status_code == 422 and "cannot write off 9" in resp.get_data(as_text=True)
    resp = client.post(f"/repairs/parts/{tech['screen']}/stock", data={"campus": tech["lhs"], "quantity": "4"})
    assert resp.status_code == 303
    html = client.get("/repairs/parts").get_data(as_text=True)
    assert "KB-9" in html and "LHS: 7" in html


def test_pages_render(client, tech):
    for url in (
        "/repairs",
        "/repairs/claims",
        "/repairs/claims?status=all",
        "/repairs/batches",
        "/repairs/swaps",
        "/repairs/fees",
        "/repairs/repeat",
        "/repairs/planning",
        "/repairs/people/LHS100001",
        "/repairs/devices/LHS-1000",
    ):
        assert client.get(url).status_code == 200, url
    csv_text = client.get("/repairs/planning.csv").get_data(as_text=True)
    assert csv_text.startswith("\ufeffsection,key,value,detail")


def test_permissions_and_scoping(client, app, shop, login_as):
    login_as(Role.librarian, "LHS")
    assert client.get("/repairs").status_code == 403
    assert client.post(f"/repairs/tickets/{shop['number']}/resolve").status_code == 403
    login_as(Role.viewer, "LHS")
    assert client.get("/repairs/planning").status_code == 200
    assert client.get("/repairs/repeat").status_code == 403
    login_as(Role.tech, "JMS")
    assert client.post(f"/repairs/tickets/{shop['number']}/resolve").status_code == 404
    assert client.get("/repairs/people/LHS100001").status_code == 404
    assert _get(app, Ticket, shop["ticket"]).status is TicketStatus.new


def test_anonymous_is_sent_to_sign_in(client, shop):
    resp = client.get("/repairs")
    assert resp.status_code in (302, 401)


def test_openapi_describes_the_ticket_detail(client, tech):
    spec = client.get("/api/openapi.json").get_json()
    assert "TicketDetail" in spec["components"]["schemas"]
    ref = spec["paths"]["/api/v1/tickets/{number}"]["get"]["responses"]["200"]["content"]["application/json"]
    assert ref["schema"]["$ref"].endswith("TicketDetail")


def _sync(client, events):
    return client.post("/api/v1/sync", json={"client_id": "phone-1", "events": events}).get_json()["results"]


def test_offline_ship_and_receive_events(client, tech, app):
    with app.app_context():
        from app.models import User

        user = db.session.get(User, tech["tech"])
        claim = warranty.open_claim(db.session.get(Ticket, tech["ticket"]), by=user, via=Via.web)
        warranty.approve(claim, rma="RMA-9", by=user, via=Via.web)
        batch = warranty.new_batch(vendor="Acer Care", campus=claim.asset.campus, by=user, via=Via.web)
        warranty.add_to_batch(batch, claim, by=user, via=Via.web)
        db.session.commit()
        claim_id = claim.id
    at = "2026-01-05T10:00:00Z"
    unknown = {"id": str(uuid.uuid4()), "type": "claim.receive", "at": at, "data": {"rma": "NOPE-1"}}
    ship = {"id": str(uuid.uuid4()), "type": "claim.ship", "at": at, "data": {"tag": "LHS-1000"}}
    receive = {"id": str(uuid.uuid4()), "type": "claim.receive", "at": at, "data": {"rma": "rma-9"}}
    results = _sync(client, [unknown, ship, receive])
    assert [r["status"] for r in results] == ["rejected", "applied", "applied"]
    assert "Nothing matches NOPE-1" in results[0]["reason"]
    assert _get(app, WarrantyClaim, claim_id).status is ClaimStatus.returned
    # Replays take effect once.
    assert [r["status"] for r in _sync(client, [ship, receive])] == ["duplicate", "duplicate"]


def test_offline_claim_events_need_a_tech(client, shop, login_as):
    login_as(Role.aide, "LHS")
    event = {"id": str(uuid.uuid4()), "type": "claim.receive", "at": "2026-01-05T10:00:00Z", "data": {"tag": "X"}}
    results = _sync(client, [event])
    assert results[0]["status"] == "rejected"


@pytest.mark.parametrize("headers", [{}, hx()])
def test_ticket_status_list_goes_through_the_repair_workflow(client, tech, app, headers):
    number = tech["number"]
    resp = client.post(f"/tickets/{number}/status", data={"status": "in_repair"}, headers=headers)
    assert resp.status_code == (200 if headers else 303)
    assert _get(app, Asset, tech["device"]).status is AssetStatus.in_repair
    resp = client.post(f"/tickets/{number}/status", data={"status": "resolved"}, headers=headers)
    assert resp.status_code == (200 if headers else 303)
    assert _get(app, Asset, tech["device"]).status is AssetStatus.deployed
    with app.app_context():
        from app.models import User

        t = db.session.get(Ticket, tech["ticket"])
        user = db.session.get(User, tech["tech"])
        workflow.reopen(t, by=user, via=Via.web)
        swaps.swap_in_loaner(t, by=user, via=Via.web)
        workflow.resolve(t, by=user, via=Via.web)
        db.session.commit()
    resp = client.post(f"/tickets/{number}/status", data={"status": "closed"}, headers=headers)
    assert resp.status_code == 422 and "Reverse the loaner swap" in resp.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{}, hx()])
def test_take_in_labour_close_reopen_with_and_without_htmx(client, tech, app, headers):
    number = tech["number"]
    ok = 200 if headers else 303
    assert client.post(f"/repairs/tickets/{number}/take-in", headers=headers).status_code == ok
    assert _get(app, Asset, tech["device"]).status is AssetStatus.in_repair
    resp = client.post(f"/repairs/tickets/{number}/take-in", data={"status": "closed"}, headers=headers)
    assert resp.status_code == 422
    assert client.post(f"/repairs/tickets/{number}/labour", data={"minutes": "x"}, headers=headers).status_code == 422
    resp = client.post(f"/repairs/tickets/{number}/labour", data={"minutes": "999"}, headers=headers)
    assert resp.status_code == 422 and "minutes from 1 to 480" in resp.get_data(as_text=True)
    assert client.post(f"/repairs/tickets/{number}/labour", data={"minutes": "15"}, headers=headers).status_code == ok
    resp = client.post(f"/repairs/tickets/{number}/close", headers=headers)
    assert resp.status_code == 422 and "Resolve" in resp.get_data(as_text=True)
    assert client.post(f"/repairs/tickets/{number}/resolve", headers=headers).status_code == ok
    assert client.post(f"/repairs/tickets/{number}/close", headers=headers).status_code == ok
    assert client.post(f"/repairs/tickets/{number}/reopen", headers=headers).status_code == ok
    assert _get(app, Ticket, tech["ticket"]).status is TicketStatus.triaged


@pytest.mark.parametrize("headers", [{}, hx()])
def test_claim_deny_repaired_and_batch_remove_with_and_without_htmx(client, tech, app, headers):
    ok = 200 if headers else 303
    with app.app_context():
        from app.models import User

        user = db.session.get(User, tech["tech"])
        claim = warranty.open_claim(db.session.get(Ticket, tech["ticket"]), by=user, via=Via.web)
        batch = warranty.new_batch(vendor="Acer Care", campus=claim.asset.campus, by=user, via=Via.web)
        warranty.add_to_batch(batch, claim, by=user, via=Via.web)
        db.session.commit()
        claim_id, batch_id = claim.id, batch.id
    assert client.get(f"/repairs/claims/{claim_id}", headers=headers).status_code == 200
    assert client.get(f"/repairs/batches/{batch_id}", headers=headers).status_code == 200
    resp = client.post(f"/repairs/claims/{claim_id}/repaired", headers=headers)
    assert resp.status_code == 422 and "submitted claim cannot become repaired" in resp.get_data(as_text=True)
    resp = client.post(f"/repairs/batches/{batch_id}/remove", data={"claim": claim_id}, headers=headers)
    assert resp.status_code == ok
    resp = client.post(f"/repairs/batches/{batch_id}/ship", headers=headers)
    assert resp.status_code == 422 and "is empty" in resp.get_data(as_text=True)
    resp = client.post(f"/repairs/claims/{claim_id}/deny", data={"reason": "Drop damage excluded"}, headers=headers)
    assert resp.status_code == ok
    assert _get(app, WarrantyClaim, claim_id).status is ClaimStatus.denied
    assert client.post(f"/repairs/claims/{claim_id}/explode", headers=headers).status_code == 404


def _alerts(resp) -> list[str]:
    """The text of each error shown on a page: what a person reads about why the form was refused."""
    from tests import hostile

    return [m.strip() for m in hostile.parse(resp.request.path, resp.get_data(as_text=True)).messages if m.strip()]


@pytest.mark.parametrize("headers", [{}, hx()])
@pytest.mark.parametrize(
    ("action", "data", "message"),
    [
        ("triage", {"category": "no-such-category"}, "Choose a category."),
        ("triage", {"category": "liquid", "priority": "urgent!"}, "Choose a priority."),
        ("triage", {"category": "liquid", "responsible": "NOBODY-1"}, "No one on your campuses has the ID 'NOBODY-1'."),
        ("triage", {"category": "liquid"}, "is closed; reopen it first."),
        ("parts", {"part": "999999", "quantity": "1"}, "Choose a part from the list."),
        ("parts", {"quantity": "lots"}, "Choose a part from the list."),
        ("labour", {"minutes": "an hour"}, "Enter the minutes spent."),
        ("labour", {"minutes": "30"}, "is closed; reopen it first."),
        ("swap", {"loaner": ""}, "is closed; reopen it first."),
        ("claim", {"vendor": "x" * 81}, "is closed; reopen it first."),
    ],
)
def test_a_form_posted_to_a_ticket_closed_since_says_why_on_the_page(client, tech, app, headers, action, data, message):
    """The ticket closed after the page was loaded: its triage, parts and labour forms are gone from the page it
    renders, so the refusal is shown above the actions, whatever field it names."""
    with app.app_context():
        from app.models import User

        ticket, user = db.session.get(Ticket, tech["ticket"]), db.session.get(User, tech["tech"])
        workflow.resolve(ticket, by=user, via=Via.web)
        workflow.close(ticket, by=user, via=Via.web)
        db.session.commit()
    resp = client.post(f"/repairs/tickets/{tech['number']}/{action}", data=data, headers=headers)
    assert resp.status_code == 422
    assert any(message in text for text in _alerts(resp)), _alerts(resp)
    assert _get(app, Ticket, tech["ticket"]).status is TicketStatus.closed


@pytest.mark.parametrize("number", ["²", "1e3", "9" * 30, "-9223372036854775809"])
def test_numbers_typed_every_way_are_refused_on_their_field(client, tech, app, number):
    """Digits Python's int() does not read (a superscript), exponents, numbers past 64 bits: each posted number
    or id is a 422 with the message of its field, never a 500."""
    with app.app_context():
        part_id = db.session.scalar(sa.select(Part.id))
    t = tech["number"]
    for url, data in [
        (f"/repairs/tickets/{t}/parts", {"part": number, "quantity": "1"}),
        (f"/repairs/tickets/{t}/parts", {"part": str(part_id), "quantity": number}),
        (f"/repairs/tickets/{t}/labour", {"minutes": number}),
        (f"/repairs/parts/{part_id}/stock", {"campus": number, "quantity": "1"}),
        ("/repairs/parts", {"name": "Hinge", "part_number": "HNG-1", "unit_cost": "5", "low_stock_at": number}),
        ("/repairs/batches", {"vendor": "Acer Care", "campus": number}),
    ]:
        resp = client.post(url, data=data, headers=hx())
        assert resp.status_code == 422, (url, data, resp.status_code)
        assert _alerts(resp), (url, data)


@pytest.mark.parametrize("headers", [{}, hx()])
def test_an_open_ticket_shows_each_refusal_once_on_its_field(client, tech, headers):
    resp = client.post(
        f"/repairs/tickets/{tech['number']}/triage",
        data={"category": "no-such-category", "priority": "urgent!", "responsible": "NOBODY-1"},
        headers=headers,
    )
    assert resp.status_code == 422
    alerts = _alerts(resp)
    for message in ("Choose a category.", "Choose a priority.", "No one on your campuses has the ID 'NOBODY-1'."):
        assert sum(message in text for text in alerts) == 1, alerts
    assert 'id="repair-error-' not in resp.get_data(as_text=True)


@pytest.mark.parametrize("headers", [{}, hx()])
@pytest.mark.parametrize(
    ("decided", "action", "data", "message"),
    [
        ("approved", "approve", {"rma": "R" * 65}, "That RMA number is too long."),
        ("approved", "approve", {"rma": ""}, "Enter the claim number or RMA the vendor gave."),
        ("approved", "approve", {"rma": "RMA-2"}, "claim cannot become approved."),
        ("denied", "deny", {"reason": ""}, "Say why the vendor denied it"),
        ("denied", "approve", {"rma": "R" * 65}, "That RMA number is too long."),
        ("denied", "deny", {"reason": "Again"}, "claim cannot become denied."),
    ],
)
def test_a_decision_posted_to_a_claim_decided_since_says_why_on_the_page(
    client, tech, app, headers, decided, action, data, message
):
    with app.app_context():
        from app.models import User

        user = db.session.get(User, tech["tech"])
        claim = warranty.open_claim(db.session.get(Ticket, tech["ticket"]), by=user, via=Via.web)
        if decided == "approved":
            warranty.approve(claim, rma="RMA-1", by=user, via=Via.web)
        else:
            warranty.deny(claim, reason="Drop damage excluded", by=user, via=Via.web)
        db.session.commit()
        claim_id = claim.id
    resp = client.post(f"/repairs/claims/{claim_id}/{action}", data=data, headers=headers)
    assert resp.status_code == 422
    assert any(message in text for text in _alerts(resp)), _alerts(resp)
    assert _get(app, WarrantyClaim, claim_id).status.value == decided


@pytest.mark.parametrize("headers", [{}, hx()])
def test_ship_by_scan_with_and_without_htmx(client, tech, app, headers):
    with app.app_context():
        from app.models import User

        user = db.session.get(User, tech["tech"])
        claim = warranty.open_claim(db.session.get(Ticket, tech["ticket"]), by=user, via=Via.web)
        db.session.commit()
        claim_id = claim.id
    resp = client.post("/repairs/receive", data={"action": "ship", "code": "LHS-1000"}, headers=headers)
    assert resp.status_code == 422 and "LHS-1000 is not in a batch waiting to ship." in resp.get_data(as_text=True)
    with app.app_context():
        user = db.session.get(User, tech["tech"])
        claim = db.session.get(WarrantyClaim, claim_id)
        batch = warranty.new_batch(vendor="Acer Care", campus=claim.asset.campus, by=user, via=Via.web)
        warranty.add_to_batch(batch, claim, by=user, via=Via.web)
        db.session.commit()
    resp = client.post("/repairs/receive", data={"action": "ship", "code": "LHS-1000"}, headers=headers)
    assert resp.status_code == 200 and "Shipped <strong>LHS-1000</strong>" in resp.get_data(as_text=True)
    assert _get(app, WarrantyClaim, claim_id).status is ClaimStatus.shipped


def _policy(app):
    from app.services import fees

    with app.app_context():
        return fees.policy()


def test_fee_schedule_kept_in_the_app_replaces_the_settings(app, client, shop, login_as):
    admin = login_as("admin")
    page = client.get("/repairs/fees/schedule").get_data(as_text=True)
    assert "Cracked screen, 25.00" in page  # the built-in schedule, ready to edit
    text = "Cracked screen, 30.00\nCharger lost or damaged\t$35\nHinge, cover, or case, 15"
    assert client.post("/repairs/fees/schedule", data={"schedule": text}).status_code == 303
    expected = [
        ("Cracked screen", Decimal("30.00")),
        ("Charger lost or damaged", Decimal("35.00")),
        ("Hinge, cover, or case", Decimal("15.00")),
    ]
    app.config["FEE_POLICY"] = [("Screen", "40")]  # what is kept in the app wins over the settings
    try:
        assert _policy(app) == expected
    finally:
        del app.config["FEE_POLICY"]
    with app.app_context():
        entries = list(db.session.scalars(sa.select(Activity).where(Activity.action == "fees.schedule")))
        assert [(e.user_id, e.before["schedule"][0], e.after["schedule"][1]) for e in entries] == [
            (admin.id, "Cracked screen: 25.00", "Charger lost or damaged: 35.00")
        ]
    # The ticket's fee form offers the new reasons.
    login_as("tech", "LHS")
    ticket_page = client.get(f"/tickets/{shop['number']}").get_data(as_text=True)
    assert "Hinge, cover, or case (usually 15.00)" in ticket_page
    # Saving the same schedule again changes nothing.
    login_as("admin")
    assert client.post("/repairs/fees/schedule", data={"schedule": text}).status_code == 303
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Activity.action == "fees.schedule")) == 1


@pytest.mark.parametrize(
    "text,message",
    [
        ("", "Enter at least one reason"),
        ("Cracked screen", "Line 1: write the reason, a comma, then the usual amount."),
        ("Screen, 25\nKeys, lots", "Line 2: Enter the amount, e.g. 25.00."),
        ("Screen, 25\n\nscreen, 30", "Line 3: screen is also on line 1."),
        ("Screen, 0", "Line 1: The amount must be more than 0"),
    ],
)
def test_a_bad_fee_schedule_is_422_and_keeps_what_was_typed(app, client, shop, login_as, text, message):
    login_as("admin")
    resp = client.post("/repairs/fees/schedule", data={"schedule": text})
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert message in body and 'id="schedule-error"' in body and f">{text}</textarea>" in body
    assert _policy(app)[0] == ("Cracked screen", Decimal("25.00"))


@pytest.mark.parametrize(
    "role,campus,reads", [("tech", "LHS", True), ("admin", "LHS", True), ("librarian", "LHS", False)]
)
def test_only_district_admins_change_the_fee_schedule(app, client, shop, login_as, role, campus, reads):
    login_as(role, campus)
    page = client.get("/repairs/fees/schedule")
    assert page.status_code == (200 if reads else 403)
    if reads:
        assert "Cracked screen" in page.get_data(as_text=True)
        assert "Change the schedule" not in page.get_data(as_text=True)
    assert client.post("/repairs/fees/schedule", data={"schedule": "Screen, 5"}).status_code == 403
    assert _policy(app)[0] == ("Cracked screen", Decimal("25.00"))
