"""Parts: editing a part, changing a campus's stock for a reason (counted, received, damaged, lost), the history
of those changes on the part's page, and the older signed-quantity form still answering."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Activity, Part, Role, StockAdjustment, StockReason, Ticket
from app.services.repairs import parts
from tests.conftest import hx
from tests.repairs_world import ids, make_shop


@pytest.fixture
def shop(app):
    with app.app_context():
        world = make_shop()
        db.session.commit()
        return ids(world)


@pytest.fixture
def tech(shop, login_as):
    """The client signed in as an LHS tech, and the shop: a screen part with 3 on LHS's shelf."""
    login_as(Role.tech, "LHS")
    return shop


def _stock(app, shop) -> int:
    with app.app_context():
        return parts.stock_of(db.session.get(Part, shop["screen"]), shop["lhs"])


def _adjustments(app, shop) -> list[tuple[str, int, int, str]]:
    with app.app_context():
        rows = db.session.scalars(
            sa.select(StockAdjustment).where(StockAdjustment.part_id == shop["screen"]).order_by(StockAdjustment.id)
        )
        return [(r.reason.value, r.delta, r.stock_after, r.note) for r in rows]


def _post_stock(client, shop, reason, quantity, note="", **headers):
    return client.post(
        f"/repairs/parts/{shop['screen']}/stock",
        data={"campus": shop["lhs"], "reason": reason, "quantity": quantity, "note": note},
        headers=headers,
    )


def test_each_reason_changes_the_stock_its_way_and_is_logged(client, app, tech):
    assert _post_stock(client, tech, "received", "5", "Box from the depot").status_code == 303
    assert _stock(app, tech) == 8
    assert _post_stock(client, tech, "damaged", "2", "Cracked in the box").status_code == 303
    assert _stock(app, tech) == 6
    resp = _post_stock(client, tech, "counted", "4", "Shelf count", **hx())
    assert resp.status_code == 200 and 'id="part"' in resp.get_data(as_text=True)
    assert "4 on the shelf at LHS" in resp.get_data(as_text=True)
    assert _post_stock(client, tech, "lost", "1").status_code == 303
    assert _stock(app, tech) == 3
    assert _adjustments(app, tech) == [
        ("received", 5, 8, "Box from the depot"),
        ("damaged", -2, 6, "Cracked in the box"),
        ("counted", -2, 4, "Shelf count"),
        ("lost", -1, 3, ""),
    ]
    with app.app_context():
        entries = db.session.scalars(
            sa.select(Activity.summary).where(Activity.action == "part.stock").order_by(Activity.id)
        ).all()
    assert len(entries) == 4
    assert entries[2] == "Counted 4 × Screen 11.6in at LHS (was 6): Shelf count"
    html = client.get(f"/repairs/parts/{tech['screen']}").get_data(as_text=True)
    assert 'id="stock-history"' in html
    for words in ("Box from the depot", "Cracked in the box", "Shelf count", "+5", "-2"):
        assert words in html


@pytest.mark.parametrize("headers", [{}, hx()])
@pytest.mark.parametrize(
    ("reason", "quantity", "field", "message"),
    [
        ("damaged", "9", "quantity", "Only 3 × Screen 11.6in on the shelf at LHS; you cannot take away 9."),
        ("received", "0", "quantity", "Enter how many, from 1 to 10,000."),
        ("counted", "-1", "quantity", "Enter how many are on the shelf (0 to 10,000)."),
        ("received", "many", "quantity", "Enter a whole number."),
        ("used", "1", "reason", "Choose why the stock changes: counted, received, damaged or lost."),
        ("borrowed", "1", "reason", "Choose why the stock changes: counted, received, damaged or lost."),
    ],
)
def test_a_refused_change_is_422_on_its_field_and_changes_nothing(
    client, app, tech, headers, reason, quantity, field, message
):
    resp = _post_stock(client, tech, reason, quantity, **headers)
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    assert f'<p class="error" id="stock-{field}-error">{message}</p>' in html
    assert f'aria-describedby="stock-{field}-error"' in html
    assert _stock(app, tech) == 3 and _adjustments(app, tech) == []


def test_stock_of_another_campus_is_refused(client, app, tech):
    resp = client.post(
        f"/repairs/parts/{tech['screen']}/stock", data={"campus": tech["jms"], "reason": "received", "quantity": "2"}
    )
    assert resp.status_code == 422 and "Choose one of your campuses." in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(StockAdjustment)) == 0


def test_the_older_signed_quantity_form_still_works_and_is_logged(client, app, tech):
    resp = client.post(f"/repairs/parts/{tech['screen']}/stock", data={"campus": tech["lhs"], "quantity": "-2"})
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/repairs/parts")
    resp = client.post(f"/repairs/parts/{tech['screen']}/stock", data={"campus": tech["lhs"], "quantity": "-5"})
    assert resp.status_code == 422 and "you cannot write off 5" in resp.get_data(as_text=True)
    assert _adjustments(app, tech) == [("lost", -2, 1, "")]


def test_the_catalogue_row_form_changes_stock_with_a_reason(client, app, tech):
    html = client.get("/repairs/parts").get_data(as_text=True)
    assert f'href="/repairs/parts/{tech["screen"]}"' in html and 'name="reason"' in html
    data = {"campus": tech["lhs"], "reason": "counted", "quantity": "7", "from": "catalogue"}
    resp = client.post(f"/repairs/parts/{tech['screen']}/stock", data=data)
    assert resp.status_code == 303 and resp.headers["Location"].endswith("/repairs/parts")
    assert _stock(app, tech) == 7
    data["reason"], data["quantity"] = "lost", "8"
    resp = client.post(f"/repairs/parts/{tech['screen']}/stock", data=data)
    assert resp.status_code == 422 and "you cannot take away 8" in resp.get_data(as_text=True)
    assert 'id="catalogue"' in resp.get_data(as_text=True)


def test_parts_fitted_on_a_ticket_are_in_the_history(client, app, tech):
    with app.app_context():
        number = db.session.get(Ticket, tech["ticket"]).number
    assert client.post(
        f"/repairs/tickets/{number}/parts", data={"part": tech["screen"], "quantity": "2"}
    ).status_code in (
        200,
        303,
    )
    assert _adjustments(app, tech) == [("used", -2, 1, "")]
    html = client.get(f"/repairs/parts/{tech['screen']}").get_data(as_text=True)
    assert "used on a ticket" in html and f">{number}</a>" in html


@pytest.mark.parametrize("headers", [{}, hx()])
def test_edit_a_part(client, app, tech, headers):
    resp = client.get(f"/repairs/parts/{tech['screen']}", headers=headers)
    assert resp.status_code == 200 and 'value="SCR-116"' in resp.get_data(as_text=True)
    data = {"name": "Screen 11.6in matte", "part_number": "scr-116m", "unit_cost": "39.9", "low_stock_at": "4"}
    resp = client.post(f"/repairs/parts/{tech['screen']}", data=data, headers=headers)
    assert resp.status_code == (200 if headers else 303)
    with app.app_context():
        part = db.session.get(Part, tech["screen"])
        assert (part.name, part.part_number, str(part.unit_cost), part.low_stock_at, part.fits) == (
            "Screen 11.6in matte",
            "SCR-116M",
            "39.90",
            4,
            [],
        )
        entry = db.session.scalars(sa.select(Activity).where(Activity.action == "part.update")).one()
        assert entry.before["part_number"] == "SCR-116" and entry.after["part_number"] == "SCR-116M"
        assert entry.before["fits"] and entry.after["fits"] == []


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("name", "", "Name the part (at most 120 characters)."),
        ("part_number", "KB-1", "Part number KB-1 is already in the catalogue."),
        ("unit_cost", "cheap", "Enter the unit cost, e.g. 42.50."),
        ("low_stock_at", "-3", "The low-stock level must be between 0 and 10,000."),
        ("low_stock_at", "lots", "Enter a whole number."),
    ],
)
def test_edit_refusals_are_422_on_the_field(client, app, tech, field, value, message):
    client.post("/repairs/parts", data={"name": "Keyboard", "part_number": "KB-1", "unit_cost": "20"})
    data = {"name": "Screen", "part_number": "SCR-116", "unit_cost": "42.50", "low_stock_at": "2", field: value}
    resp = client.post(f"/repairs/parts/{tech['screen']}", data=data, headers=hx())
    assert resp.status_code == 422
    assert f'<p class="error" id="edit-{field}-error">{message}</p>' in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(Part, tech["screen"]).name == "Screen 11.6in"


def test_parts_pages_are_for_techs_only(client, app, shop, login_as):
    login_as(Role.aide, "LHS")
    assert client.get(f"/repairs/parts/{shop['screen']}").status_code == 403
    assert client.post(f"/repairs/parts/{shop['screen']}", data={"name": "X"}).status_code == 403
    resp = client.post(f"/repairs/parts/{shop['screen']}/stock", data={"reason": "received", "quantity": "1"})
    assert resp.status_code == 403
    assert _stock(app, shop) == 3


def test_an_unknown_part_is_404(client, tech):
    assert client.get("/repairs/parts/999999").status_code == 404
    assert client.post("/repairs/parts/999999/stock", data={"reason": "received", "quantity": "1"}).status_code == 404


def test_history_shows_only_the_users_campuses(app, ctx, shop):
    from app.models import Campus, User, Via
    from tests import factories

    part = db.session.get(Part, shop["screen"])
    admin = factories.make_user(Role.admin)
    parts.adjust_stock(part, db.session.get(Campus, shop["jms"]), StockReason.received, 6, by=admin, via=Via.web)
    parts.adjust_stock(part, db.session.get(Campus, shop["lhs"]), StockReason.counted, 3, by=admin, via=Via.web)
    lhs_tech = db.session.get(User, shop["tech"])
    assert [r.campus.code for r in parts.adjustments(part, admin)] == ["LHS", "JMS"]
    assert [(r.campus.code, r.delta) for r in parts.adjustments(part, lhs_tech)] == [("LHS", 0)]
