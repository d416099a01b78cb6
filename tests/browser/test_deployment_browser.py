"""Deployment and collection days on a 390 px phone: a deployment signed on the screen, a collection with its
accessories ticked, and a collection station that loses its signal, keeps recording, and is told on its screen
which device another station had already returned."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.models import (
    AccessoryOutcome,
    Asset,
    AssetStatus,
    Campus,
    Collection,
    Condition,
    Deployment,
    Person,
    Role,
    User,
    Via,
)
from app.services.assets import assign
from app.services.deployment import collect, kits
from tests import factories
from tests.browser.conftest import sign_in, wait_for
from tests.test_deployment import deploy_spare, make_kit_world


@pytest.fixture
def world(app, district):
    """The district, a charger and a hotspot kind, this year's agreement, and Ana Ruiz with no device yet."""
    with app.app_context():
        made = make_kit_world()
        lhs = db.session.get(Campus, district["lhs"])
        factories.make_person(lhs, "Ana Ruiz", external_id="LHS100007", grade="10")
        factories.make_asset(lhs, asset_tag="LHS-1005", serial="NEXT000005", status=AssetStatus.in_stock)
        db.session.commit()
        ids = {k: v.id for k, v in made.items()}
    return {**district, **ids}


def enter(page, field: str, code: str) -> None:
    page.locator(field).fill(code)
    page.locator(field).press("Enter")


def test_deployment_with_a_drawn_signature_on_a_phone(app, phone, world, staff_user):
    email, password = staff_user("librarian", "LHS")
    sign_in(phone, email, password, next_path="/deployment")
    enter(phone, "#deploy-code", "LHS100007")
    expect(phone.locator("#deploy-student")).to_contain_text("Now scan the device for Ana.")
    enter(phone, "#deploy-code", "NEXT000005")
    ready = phone.locator("#deploy-ready")
    expect(ready).to_contain_text("Ana Ruiz")
    expect(ready).to_contain_text("LHS-1005")
    # The charger goes out with every device; the hotspot needs its serial.
    expect(phone.get_by_label("Charger")).to_be_checked()
    phone.get_by_label("Hotspot", exact=True).check()
    phone.get_by_label("Hotspot serial or tag").fill("hs-900")
    canvas = phone.locator("canvas[data-signature]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    assert box is not None and box["width"] <= 390
    phone.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    phone.mouse.down()
    for step in range(1, 12):
        phone.mouse.move(box["x"] + 20 + step * 25, box["y"] + box["height"] / 2 + (10 if step % 2 else -10))
    phone.mouse.up()
    assert phone.locator("[data-signature-value]").input_value().startswith("data:image/png;base64,")
    phone.get_by_role("button", name="Deploy").click()
    expect(phone.locator("#deployed")).to_contain_text("Deployed LHS-1005 to Ana Ruiz.")
    # The scan field is ready for the next student.
    expect(phone.locator("#deploy-code")).to_be_focused()
    with app.app_context():
        d = db.session.scalar(sa.select(Deployment))
        assert d.person.name == "Ana Ruiz" and d.asset.status is AssetStatus.deployed
        assert d.ack.signature_png.startswith(b"\x89PNG") and d.ack.signed_name is None
        assert [(r.kind.name, r.serial) for r in kits.issued_with(d)] == [("Charger", None), ("Hotspot", "HS-900")]
        receipt = f"/deployment/deployments/{d.id}/receipt"
    phone.goto(receipt)
    expect(phone.locator("#receipt-signature")).to_be_visible()
    expect(phone.locator(".receipt-qr svg")).to_be_visible()


def test_collection_with_accessories_on_a_phone(app, phone, world, staff_user):
    with app.app_context():
        deploy_spare(world)
    email, password = staff_user("librarian", "LHS")
    sign_in(phone, email, password, next_path="/deployment/collect")
    phone.locator("#station-name").fill("Gym 1")
    enter(phone, "#collect-code", "SPARE00001")
    panel = phone.locator("#collect-panel")
    expect(panel).to_contain_text("from Zoe Martinez")
    expect(panel).to_contain_text("HS-77")
    phone.get_by_label("Hotspot").check()
    phone.get_by_label("fair").check()
    phone.get_by_role("button", name="Record return of LHS-1001").click()
    line = phone.locator("#collect-log-list li").first
    expect(line).to_contain_text("Returned LHS-1001 from Zoe Martinez. Missing: Charger.")
    line.get_by_role("link", name="Receipt and fees").click()
    expect(phone.locator("#receipt-items")).to_contain_text("Charger: missing")
    expect(phone.locator("#suggested-fees")).to_contain_text("Lost charger, 30.00")
    with app.app_context():
        back = db.session.scalar(sa.select(Collection))
        assert back.station == "Gym 1" and back.condition is Condition.fair and back.asset.assigned_to_id is None
        outcomes = {r.kind.name: r.outcome for r in kits.returned_with(back)}
        assert outcomes == {"Charger": AccessoryOutcome.missing, "Hotspot": AccessoryOutcome.returned}


def test_an_offline_station_records_returns_and_hears_which_one_was_already_back(
    app, phone, phone_context, world, staff_user
):
    with app.app_context():
        deploy_spare(world)
        asset = db.session.get(Asset, world["lhs_asset"])
        ana = db.session.scalar(sa.select(Person).where(Person.external_id == "LHS100007"))
        assign(asset, ana, by=db.session.get(User, world["librarian"]), via=Via.web)
        db.session.commit()
    email, password = staff_user("librarian", "LHS")
    sign_in(phone, email, password, next_path="/deployment/collect")
    phone.locator("#station-name").fill("Gym 1")
    phone_context.set_offline(True)
    # No signal: each device gets the district's whole kit list, and each return is kept on the phone.
    enter(phone, "#collect-code", "LHS-1001")
    expect(phone.locator("#collect-panel")).to_contain_text("No signal")
    phone.get_by_label("Charger").check()
    phone.get_by_role("button", name="Record return of LHS-1001").click()
    enter(phone, "#collect-code", "LHS-1000")
    phone.get_by_role("button", name="Record return of LHS-1000").click()
    log = phone.locator("#collect-log-list")
    expect(log.locator("li")).to_have_count(2)
    expect(log).to_contain_text("saved on this phone, sends when online")
    # Meanwhile another station, online, takes LHS-1000 back.
    with app.app_context():
        other = factories.make_user(Role.librarian, "LHS")
        collect.collect(
            db.session.get(Asset, world["lhs_asset"]),
            by=other,
            via=Via.web,
            returned=set(),
            condition=None,
            station="Gym 2",
        )
        db.session.commit()
    phone_context.set_offline(False)
    phone.evaluate("window.dispatchEvent(new Event('online'))")
    expect(log).to_contain_text("Returned LHS-1001 from Zoe Martinez. Missing: Hotspot.")
    refused = log.locator("li.collect-refused")
    expect(refused).to_contain_text("LHS-1000 was already returned from Ana Ruiz")
    expect(refused).to_contain_text("at Gym 2")
    expect(phone.locator("#collect-error")).to_contain_text("LHS-1000 was already returned")
    with app.app_context():
        rows = wait_for(lambda: db.session.scalars(sa.select(Collection).order_by(Collection.id)).all() or None)
        assert len(rows) == 2
        assert [(r.asset.asset_tag, r.station) for r in rows] == [("LHS-1000", "Gym 2"), ("LHS-1001", "Gym 1")]
