"""The deployment pages: each role on each route, the station's flow (page and fragment), receipts public and
private, the signature's size limit, setup forms, and the board with its CSV."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import Asset, Condition, Deployment, Fee, User, Via
from app.services.deployment import agreements, collect, kits
from tests import factories
from tests.conftest import hx
from tests.test_deployment import deploy_spare, make_kit_world, signature_url

DESK = {"admin", "tech", "librarian"}
SETUP = {"admin"}  # district-wide admins (and techs serving every campus); these users all have LHS only
PEOPLE = {"admin", "tech", "librarian", "viewer"}
ROLES = ("admin", "tech", "librarian", "aide", "viewer")


@pytest.fixture
def world(app, district):
    with app.app_context():
        made = make_kit_world()
        db.session.commit()
        ids = {k: v.id for k, v in made.items()}
        world = {**district, **ids}
        world["deployment"] = deploy_spare(world)
        back = collect.collect(
            _returned(world),
            by=db.session.get(User, world["librarian"]),
            via=Via.web,
            returned=set(),
            condition=Condition.damaged,
        )
        db.session.commit()
        world["collection"] = back.id
        world["deployment_token"] = db.session.get(Deployment, world["deployment"]).receipt_token
        world["collection_token"] = back.receipt_token
    return world


def _returned(world) -> Asset:
    """LHS-1000, assigned to Ana Ruiz, to be collected damaged with its charger missing."""
    from app.services.assets import assign

    asset = db.session.get(Asset, world["lhs_asset"])
    ana = factories.make_person(asset.campus, "Ana Ruiz", external_id="LHS100007", grade="9")
    assign(asset, ana, by=db.session.get(User, world["librarian"]), via=Via.web)
    return asset


def routes(world):
    """(method, path, data, roles allowed, status when allowed, names an LHS record)"""
    c, d = world["collection"], world["deployment"]
    return [
        ("GET", "/deployment", None, DESK, 200, False),
        ("POST", "/deployment/scan", {"code": "LHS100001"}, DESK, 200, False),
        ("POST", "/deployment/deploy", {"person": "LHS100001"}, DESK, 422, False),
        ("GET", f"/deployment/deployments/{d}/receipt", None, DESK, 200, True),
        ("GET", "/deployment/collect", None, DESK, 200, False),
        ("POST", "/deployment/collect/lookup", {"code": "LHS-1001"}, DESK, 200, False),
        ("GET", f"/deployment/collections/{c}", None, DESK, 200, True),
        ("POST", f"/deployment/collections/{c}/fees", {"reason": "Lost charger"}, {"admin", "tech"}, 303, True),
        ("GET", "/deployment/setup", None, SETUP, 200, False),
        ("POST", "/deployment/setup/kinds", {"name": ""}, SETUP, 422, False),
        ("POST", "/deployment/setup/agreements", {"school_year": "x"}, SETUP, 422, False),
        ("GET", "/deployment/board", None, PEOPLE, 200, False),
        ("GET", "/deployment/board/not-returned.csv", None, PEOPLE, 200, False),
    ]


@pytest.mark.parametrize("role", ROLES)
def test_each_role_on_each_route(app, client, world, login_as, role):
    login_as(role, "LHS")
    for method, path, data, allowed, ok, _names in routes(world):
        resp = client.open(path, method=method, data=data)
        body = resp.get_data(as_text=True)  # read to the end: the CSV streams
        expected = ok if role in allowed else 403
        assert resp.status_code == expected, (role, method, path, body[:300])


def test_records_of_another_campus_are_404(app, client, world, login_as):
    login_as("admin", "JMS")
    for method, path, data, _allowed, _ok, names in routes(world):
        if names:
            assert client.open(path, method=method, data=data).status_code == 404, path


def test_anonymous_visitors_are_sent_to_sign_in(client, world):
    for method, path, data, *_ in routes(world):
        resp = client.open(path, method=method, data=data)
        assert resp.status_code == 302 and "/login" in resp.headers["Location"], path


def test_the_station_deploys_with_a_drawn_signature(app, client, world, login_as):
    login_as("librarian", "LHS")
    with app.app_context():
        lhs = db.session.get(Asset, world["spare"]).campus
        other_id = factories.make_asset(lhs, asset_tag="LHS-1005", serial="NEXT000005").id
        factories.make_person(lhs, "Ben Okafor", external_id="LHS100008")
        db.session.commit()
    page = client.get("/deployment")
    assert 'id="deploy-panel"' in page.get_data(as_text=True) and "<html" in page.get_data(as_text=True)
    picked = client.post("/deployment/scan", data={"code": "lhs100008"}, headers=hx())
    body = picked.get_data(as_text=True)
    assert picked.status_code == 200 and "<html" not in body and "Now scan the device for Ben." in body
    ready = client.post("/deployment/scan", data={"code": "NEXT000005", "person": "LHS100008"}, headers=hx())
    text = ready.get_data(as_text=True)
    assert ready.status_code == 200 and 'id="deploy-ready"' in text and "data-signature" in text
    assert f'name="kit" value="{world["charger"]}" checked' in text
    form = {
        "person": "LHS100008",
        "asset": "LHS-1005",
        "kit": [str(world["charger"])],
        "signature": signature_url(),
        "station": "Gym 2",
    }
    done = client.post("/deployment/deploy", data=form, headers=hx())
    text = done.get_data(as_text=True)
    assert done.status_code == 200 and "Deployed <strong>LHS-1005</strong> to <strong>Ben Okafor</strong>." in text
    with app.app_context():
        d = db.session.scalar(sa.select(Deployment).where(Deployment.asset_id == other_id))
        assert d.station == "Gym 2" and d.ack.signature_png.startswith(b"\x89PNG")
        receipt_id, token, ack_id = d.id, d.receipt_token, d.ack_id
    receipt = client.get(f"/deployment/deployments/{receipt_id}/receipt").get_data(as_text=True)
    assert "<svg" in receipt and "Ben Okafor" in receipt and 'id="receipt-signature"' in receipt
    assert "Ben" not in client.get(f"/receipt/{token}").get_data(as_text=True)
    assert client.get(f"/deployment/acks/{ack_id}/signature.png").mimetype == "image/png"
    # Deploying it again is refused on the panel.
    again = client.post("/deployment/deploy", data=form, headers=hx())
    assert again.status_code == 422 and "already deployed to Ben Okafor" in again.get_data(as_text=True)


def test_signature_refusals(app, client, world, login_as):
    login_as("librarian", "LHS")
    with app.app_context():
        factories.make_asset(db.session.get(Asset, world["spare"]).campus, asset_tag="LHS-1006", serial="NEXT000006")
        factories.make_person(db.session.get(Asset, world["spare"]).campus, "Cy Dee", external_id="LHS100010")
        db.session.commit()
    base = {"person": "LHS100010", "asset": "LHS-1006"}
    big = client.post(
        "/deployment/deploy", data={**base, "signature": "data:image/png;base64," + "A" * 400_000}, headers=hx()
    )
    assert big.status_code == 413 and "too large" in big.get_data(as_text=True)
    bad = client.post("/deployment/deploy", data={**base, "signature": "data:image/png;base64,AAAA"}, headers=hx())
    assert bad.status_code == 422 and "Draw the signature again" in bad.get_data(as_text=True)
    none = client.post("/deployment/deploy", data=base, headers=hx())
    assert none.status_code == 422 and "Type the student&#39;s name or have them sign" in none.get_data(as_text=True)
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(Deployment)) == 1


def test_public_receipts_show_no_one_and_unknown_tokens_are_404(client, world):
    for token in (world["deployment_token"], world["collection_token"]):
        resp = client.get(f"/receipt/{token}")
        text = resp.get_data(as_text=True)
        assert resp.status_code == 200 and "LHS-" in text
        assert "Zoe" not in text and "Ana" not in text and "LHS100001" not in text and "LHS100007" not in text
        assert resp.headers["Cache-Control"] == "no-store"
    assert "Charger" in client.get(f"/receipt/{world['deployment_token']}").get_data(as_text=True)
    assert client.get("/receipt/not-a-token").status_code == 404


def test_collection_lookup_and_suggested_fees(app, client, world, login_as):
    login_as("tech", "LHS")
    look = client.post("/deployment/collect/lookup", data={"code": "SPARE00001"}, headers=hx())
    text = look.get_data(as_text=True)
    assert look.status_code == 200 and "from Zoe Martinez" in text and 'data-asset="LHS-1001"' in text
    assert 'value="Charger" data-expected="1"' in text and "HS-77" in text
    done = client.post("/deployment/collect/lookup", data={"code": "LHS-1000"}, headers=hx())
    assert done.status_code == 200 and "LHS-1000 was already returned from Ana Ruiz" in done.get_data(as_text=True)
    nothing = client.post("/deployment/collect/lookup", data={"code": "nope"}, headers=hx())
    assert nothing.status_code == 422
    page = client.get(f"/deployment/collections/{world['collection']}").get_data(as_text=True)
    assert "Lost charger, 30.00" in page and "Came back damaged" in page and "<svg" in page
    charged = client.post(f"/deployment/collections/{world['collection']}/fees", data={"reason": "Lost charger"})
    assert charged.status_code == 303
    twice = client.post(f"/deployment/collections/{world['collection']}/fees", data={"reason": "Lost charger"})
    assert twice.status_code == 422
    with app.app_context():
        fees = db.session.scalars(sa.select(Fee)).all()
        assert [(f.reason, str(f.amount), f.person.name) for f in fees] == [("Lost charger", "30.00", "Ana Ruiz")]


def test_setup_adds_kinds_and_agreement_versions(app, client, world, login_as):
    login_as("admin")
    assert client.post("/deployment/setup/kinds", data={"name": "Stylus", "tracking": "serial"}).status_code == 303
    dup = client.post("/deployment/setup/kinds", data={"name": "charger"})
    assert dup.status_code == 422 and "already an accessory called charger" in dup.get_data(as_text=True)
    fee = client.post("/deployment/setup/kinds", data={"name": "Case", "fee_reason": "Made up"})
    assert fee.status_code == 422 and "from the fee schedule" in fee.get_data(as_text=True)
    current = agreements.school_year()
    ok = client.post("/deployment/setup/agreements", data={"school_year": current, "title": "Rules v2", "body": "Text"})
    assert ok.status_code == 303
    wrong = client.post("/deployment/setup/agreements", data={"school_year": "2026-28", "title": "T", "body": "B"})
    assert wrong.status_code == 422 and "runs from one year into the next" in wrong.get_data(as_text=True)
    page = client.get("/deployment/setup").get_data(as_text=True)
    assert "Stylus" in page and "Rules v2" in page and f"{current} v2" in page


def test_board_counts_and_not_returned_csv(app, client, world, login_as):
    login_as("viewer", "LHS")
    page = client.get("/deployment/board")
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and 'hx-trigger="every 5s"' in text
    fragment = client.get("/deployment/board", headers=hx()).get_data(as_text=True)
    assert "<html" not in fragment and "<strong>1</strong> returned · <strong>1</strong> not yet returned" in fragment
    csv = client.get("/deployment/board/not-returned.csv").get_data(as_text=True)
    lines = csv.lstrip("\ufeff").splitlines()
    assert lines[0].startswith("student_id,name,grade,campus,asset_tag") and len(lines) == 2
    assert lines[1].startswith("LHS100001,Zoe Martinez,,LHS,LHS-1001,SPARE00001,")
    assert client.get("/deployment/board?campus=JMS").status_code == 404


def test_a_held_device_goes_back_to_its_student_in_one_scan(app, client, world, login_as):
    with app.app_context():
        collect.collect(
            db.session.get(Asset, world["spare"]),
            by=db.session.get(User, world["librarian"]),
            via=Via.web,
            returned={world["charger"], world["hotspot"]},
            condition=Condition.good,
            hold=True,
        )
        db.session.commit()
    login_as("librarian", "LHS")
    student = client.post("/deployment/scan", data={"code": "LHS100001"}, headers=hx()).get_data(as_text=True)
    assert "LHS-1001 is held for them over the summer: scan it to hand it back." in student
    # Zoe acknowledged this year's agreement when it first went out: the device alone hands it back.
    back = client.post("/deployment/scan", data={"code": "LHS-1001"}, headers=hx())
    text = back.get_data(as_text=True)
    assert back.status_code == 200 and "Handed <strong>LHS-1001</strong> back to <strong>Zoe Martinez</strong>." in text
    with app.app_context():
        latest = db.session.scalar(sa.select(Deployment).order_by(Deployment.id.desc()).limit(1))
        assert latest.redeployed and latest.person.name == "Zoe Martinez"
        assert [(r.kind.name, r.serial) for r in kits.issued_with(latest)] == [("Charger", None), ("Hotspot", "HS-77")]
