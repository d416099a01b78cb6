"""Bad query arguments, ids and dates are refused with a message (400, or the API's 422), never a server error: each
case here was a 500 before app.web.args read them with bounds."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime
from decimal import InvalidOperation

import pytest

from app.extensions import db
from app.models import AssetStatus, Role, Via
from app.services import fees
from app.services.errors import Invalid
from app.services.repairs.costs import money
from app.services.users import issue_token
from app.web import safe_next
from tests import factories

HUGE = str(2**63)  # one past the largest 64-bit id
LIST_PAGES = [
    "/activity",
    "/assets",
    "/people",
    "/tickets",
    "/audits",
    "/closet",
    "/closet/unseen",
    "/loans/out",
    "/loans/overdue",
    "/repairs/claims",
    "/repairs/fees",
    "/imports/google-admin/mismatches",
]


def _message(resp) -> str:
    if resp.is_json:
        return resp.get_json()["error"]["message"]
    return resp.get_data(as_text=True)


@pytest.mark.parametrize("path", LIST_PAGES)
def test_a_page_past_any_list_is_400_with_a_message(client, login_as, district, path):
    login_as(Role.admin)
    resp = client.get(f"{path}?page={HUGE}")
    assert resp.status_code == 400
    assert "page must be between 1 and 100,000" in _message(resp)
    assert client.get(f"{path}?page=2").status_code == 200


@pytest.mark.parametrize(
    "path,arg",
    [
        ("/assets", "campus"),
        ("/assets", "room"),
        ("/assets", "model"),
        ("/assets/rooms", "campus_id"),
        ("/assets/rooms", "campus"),
        ("/people", "campus"),
        ("/tickets", "campus"),
        ("/closet/unseen", "campus"),
        ("/closet/unseen", "room"),
        ("/labels", "campus"),
        ("/labels", "room"),
    ],
)
def test_an_id_past_64_bits_is_400_naming_the_argument(client, login_as, district, path, arg):
    login_as(Role.admin)
    resp = client.get(f"{path}?{arg}={HUGE}")
    assert resp.status_code == 400 and f"{arg} must be between 1 and" in _message(resp)
    assert client.get(f"{path}?{arg}=abc").status_code == 400


def test_the_activity_log_refuses_dates_outside_the_years_it_can_hold(client, login_as, district):
    login_as(Role.admin)
    # Refused on the field it was typed in, like any form error (tests/test_activity_log.py has the rest).
    resp = client.get("/activity?from=0001-01-01&to=9999-12-31")
    assert resp.status_code == 422 and "Enter a date between 1900 and 2999" in _message(resp)
    assert client.get("/activity?to=9999-12-31").status_code == 422
    assert client.get("/activity?from=2026-13-01").status_code == 422
    assert client.get("/activity?from=2026-01-01&to=2026-12-31").status_code == 200


def test_the_api_page_past_any_list_is_422(client, app, district):
    with app.app_context():
        token = issue_token(factories.make_user(Role.admin), by=None, via=Via.cli)
        db.session.commit()
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/assets", "/api/v1/people", "/api/v1/tickets", "/api/v1/loans"):
        resp = client.get(f"{path}?page={HUGE}", headers=headers)
        assert resp.status_code == 422 and "page must be between" in resp.get_json()["error"]["message"], path
    # per_page keeps clamping to 1..200; past 64 bits it is refused like the page.
    assert client.get("/api/v1/assets?per_page=100000", headers=headers).get_json()["per_page"] == 200
    assert client.get(f"/api/v1/assets?per_page={HUGE}", headers=headers).status_code == 422


@pytest.mark.parametrize(
    "path", ["/users/{n}", "/models/{n}", "/loans/{n}/receipt", "/labels/prints/{n}", "/repairs/claims/{n}"]
)
def test_a_record_id_past_64_bits_in_the_path_is_a_plain_404(client, login_as, district, path):
    login_as(Role.admin)
    assert client.get(path.format(n=HUGE)).status_code == 404
    assert client.get(path.format(n="9" * 5000)).status_code == 404


@pytest.mark.parametrize(
    "target", ["/a\r\nSet-Cookie: x=1", "/a\nb", "/a\tb", "/\x00", "/ok\x7f"], ids=["crlf", "lf", "tab", "nul", "del"]
)
def test_safe_next_refuses_control_characters(app, target):
    with app.test_request_context():
        assert safe_next(target, "/home") == "/home"
        assert safe_next("/assets?q=1", "/home") == "/assets?q=1"


def test_sign_in_with_crlf_in_next_goes_to_the_start_page(client, login_as, district):
    login_as(Role.admin)
    resp = client.get("/login", query_string={"next": "/a\r\nSet-Cookie: hostile=1"})
    assert resp.status_code == 302 and resp.headers["Location"] == "/"


@pytest.fixture
def lender(app, district):
    with app.app_context():
        factories.make_asset(
            factories.make_campus("LHS"), asset_tag="LHS-L01", serial="LOANER0001", status=AssetStatus.loaner
        )
        token = issue_token(factories.make_user(Role.librarian, "LHS"), by=None, via=Via.cli)
        db.session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.mark.parametrize("due", ["0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59-23:59", "9999-12-31"])
def test_a_loan_due_outside_what_a_time_can_hold_is_422(client, lender, due):
    resp = client.post("/api/v1/loans", json={"asset": "LHS-L01", "person": "LHS100001", "due": due}, headers=lender)
    assert resp.status_code == 422
    body = resp.get_json()["error"]
    assert body["field"] == "due" and ("already passed" in body["message"] or "at most a year" in body["message"])


@pytest.mark.parametrize("condition", [["good"], {"value": "good"}, 7])
def test_a_check_in_condition_that_is_not_text_is_422(client, lender, condition):
    client.post("/api/v1/loans", json={"asset": "LHS-L01", "person": "LHS100001"}, headers=lender)
    resp = client.post("/api/v1/loans/checkin", json={"asset": "LHS-L01", "condition": condition}, headers=lender)
    assert resp.status_code == 422 and resp.get_json()["error"]["field"] == "condition"
    ok = client.post("/api/v1/loans/checkin", json={"asset": "LHS-L01", "condition": "fair"}, headers=lender)
    assert ok.status_code == 200 and ok.get_json()["return_condition"] == "fair"


def test_a_sync_checkout_due_past_year_9999_is_rejected_with_its_reason(client, lender):
    event = {
        "id": str(uuid.uuid4()),
        "type": "loan.checkout",
        "at": datetime.now(UTC).isoformat(),
        "data": {"asset": "LHS-L01", "person": "LHS100001", "due": "0001-01-01T00:00:00+23:59"},
    }
    resp = client.post(
        "/api/v1/sync", data=json.dumps({"events": [event]}), headers=lender, content_type="application/json"
    )
    (answer,) = resp.get_json()["results"]
    assert answer["status"] == "rejected" and "already passed" in answer["reason"]


def test_a_warranty_that_ends_before_it_starts_is_422_on_the_field(client, login_as, district):
    login_as(Role.admin)
    page = client.get("/assets/new").get_data(as_text=True)
    assert "warranty_end" in page
    resp = client.post(
        "/assets/new",
        data={
            "asset_tag": "LHS-7777",
            "serial": "SN7777",
            "model_id": "1",
            "campus_id": str(district["lhs"]),
            "status": "in_stock",
            "condition": "good",
            "warranty_start": "2027-01-01",
            "warranty_end": "2026-01-01",
        },
    )
    assert resp.status_code == 422 and "The warranty cannot end before it starts." in resp.get_data(as_text=True)


def test_a_campus_id_past_64_bits_on_the_asset_form_is_422(client, login_as, district):
    login_as(Role.admin)
    resp = client.post(
        "/assets/new",
        data={"asset_tag": "LHS-7778", "serial": "SN7778", "model_id": "1", "campus_id": HUGE, "home_room_id": HUGE},
    )
    assert resp.status_code == 422


def test_not_a_number_is_no_amount():
    with pytest.raises(InvalidOperation):
        money("NaN")
    with pytest.raises(Invalid):
        fees._amount("NaN")
    assert money("42.5") == money("42.50")


def test_an_assignee_id_past_64_bits_is_422(client, app, login_as, district):
    from app.models import Asset, TicketCategory
    from app.services import tickets

    admin = login_as(Role.admin)
    with app.app_context():
        asset = db.session.get(Asset, district["lhs_asset"])
        ticket = tickets.open_ticket(
            asset, category=TicketCategory.other, description="Loose hinge", by=db.session.merge(admin), via=Via.web
        )
        db.session.commit()
        number = ticket.number
    resp = client.post(f"/tickets/{number}/assign", data={"assignee": HUGE})
    assert resp.status_code == 422 and "Choose someone from the list." in resp.get_data(as_text=True)


def test_a_part_costing_nan_is_422_on_the_field(client, login_as, district):
    login_as(Role.admin)
    resp = client.post("/repairs/parts", data={"name": "Screen", "part_number": "SCR-1", "unit_cost": "NaN"})
    assert resp.status_code == 422 and "Enter the unit cost" in resp.get_data(as_text=True)
    fits = client.post(
        "/repairs/parts", data={"name": "Screen", "part_number": "SCR-2", "unit_cost": "10", "fits": HUGE}
    )
    assert fits.status_code in (200, 303)


@pytest.mark.parametrize("raw", ["²", "٣", "1²"])
def test_digits_int_cannot_read_are_not_numbers(app, raw):
    from werkzeug.exceptions import HTTPException

    from app.web.args import whole, whole_number

    assert whole(raw) is None
    with app.test_request_context("/"), pytest.raises(HTTPException) as refused:
        whole_number(raw, "page")
    assert refused.value.code == 400
