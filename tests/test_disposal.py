"""Disposal batches: a batch's life from open to disposed, what it refuses, the manifest and its CSV, the certificate
(413 past its limit), disposed devices out of the dashboard's counts and AUE chart but on their own page, and who
may do any of it."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    AssetStatus,
    Campus,
    DisposalBatch,
    DisposalCertificate,
    DisposalItem,
    DisposalStatus,
    Person,
    Role,
    User,
    Vendor,
    Via,
    utcnow,
)
from app.services import assets as asset_service
from app.services import dashboard, disposal
from app.services.errors import Invalid
from tests import factories
from tests.conftest import hx

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def _today() -> date:
    return utcnow().date()


@pytest.fixture
def world(app, district):
    """LHS with a recycler, three retired devices, one on the shelf and one assigned to a student; an admin."""
    with app.app_context():
        lhs = db.session.get(Campus, district["lhs"])
        recycler = Vendor(name="GreenCycle Recyclers", ship_to="1 Mill Road\nSpringfield")
        db.session.add(recycler)
        model = factories.make_model("Dell", "Chromebook 3100", aue=_today() + timedelta(days=400))
        retired = [
            factories.make_asset(
                lhs, asset_tag=f"LHS-R{n}", serial=f"RETIRED{n}", status=AssetStatus.retired, model=model
            )  # fmt: skip
            for n in range(3)
        ]
        shelf = factories.make_asset(lhs, asset_tag="LHS-S1", serial="SHELF1", status=AssetStatus.in_stock, model=model)
        held = factories.make_asset(lhs, asset_tag="LHS-H1", serial="HELD1", model=model)
        admin = factories.make_user(Role.admin)
        student = db.session.get(Person, district["student"])
        asset_service.assign(held, student, by=admin, via=Via.web)
        db.session.commit()
        return {
            "lhs": lhs.id,
            "vendor": recycler.id,
            "retired": [a.id for a in retired],
            "shelf": shelf.id,
            "held": held.id,
            "admin": admin.id,
        }


def _batch(world) -> DisposalBatch:
    admin = db.session.get(User, world["admin"])
    lhs = db.session.get(Campus, world["lhs"])
    return disposal.create_batch(lhs, world["vendor"], _today() + timedelta(days=7), by=admin, via=Via.web)


def _certificate(data: bytes = PDF, name: str = "cert.pdf") -> dict:
    return {"certificate": (io.BytesIO(data), name)}


def test_a_batch_from_open_to_disposed_through_the_pages(app, client, world, login_as):
    login_as(Role.admin)
    planned = (_today() + timedelta(days=10)).isoformat()
    resp = client.post("/disposal", data={"vendor": str(world["vendor"]), "campus": str(world["lhs"]),
                                          "planned_on": planned})  # fmt: skip
    assert resp.status_code == 303
    with app.app_context():
        batch = db.session.scalar(sa.select(DisposalBatch))
        assert resp.headers["Location"].endswith(f"/disposal/{batch.id}")
        assert batch.status is DisposalStatus.open and batch.planned_on.isoformat() == planned
        batch_id, label = batch.id, batch.label

    # Two retired devices by scan (asset tag and serial), one on the shelf retired as it joins.
    resp = client.post(f"/disposal/{batch_id}/add", data={"codes": "LHS-R0\nretired1"}, headers=hx())
    assert resp.status_code == 200 and "<html" not in resp.get_data(as_text=True)
    assert "Added LHS-R0, LHS-R1." in resp.get_data(as_text=True)
    resp = client.post(f"/disposal/{batch_id}/add", data={"codes": "LHS-S1", "retire": "1"})
    assert resp.status_code == 303
    with app.app_context():
        shelf = db.session.get(Asset, world["shelf"])
        assert shelf.status is AssetStatus.retired
        logged = db.session.scalars(
            sa.select(Activity.action).where(Activity.asset_id == shelf.id).order_by(Activity.id)
        ).all()
        assert logged[-2:] == ["asset.update", "disposal.add"]

    manifest = client.get(f"/disposal/{batch_id}/manifest").get_data(as_text=True)
    for tag, serial in (("LHS-R0", "RETIRED0"), ("LHS-R1", "RETIRED1"), ("LHS-S1", "SHELF1")):
        assert tag in manifest and serial in manifest
    assert "Dell Chromebook 3100" in manifest and "GreenCycle Recyclers" in manifest
    resp = client.get(f"/disposal/{batch_id}/manifest.csv")
    text = resp.get_data(as_text=True)
    assert resp.mimetype == "text/csv" and text.startswith("\ufeff")
    rows = list(csv.reader(io.StringIO(text.lstrip("\ufeff"))))
    assert rows[0] == list(disposal.MANIFEST_COLUMNS)
    assert [r[:4] for r in rows[1:]] == [
        ["LHS-R0", "RETIRED0", "Dell", "Chromebook 3100"],
        ["LHS-R1", "RETIRED1", "Dell", "Chromebook 3100"],
        ["LHS-S1", "SHELF1", "Dell", "Chromebook 3100"],
    ]

    picked = (_today() - timedelta(days=3)).isoformat()
    assert client.post(f"/disposal/{batch_id}/picked-up", data={"picked_up_on": picked}).status_code == 303
    day = (_today() - timedelta(days=1)).isoformat()
    resp = client.post(
        f"/disposal/{batch_id}/disposed",
        data={"disposed_on": day, "certificate_number": "CDD-2026-0042", **_certificate()},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 303
    with app.app_context():
        batch = db.session.get(DisposalBatch, batch_id)
        assert batch.status is DisposalStatus.disposed and batch.disposed_on.isoformat() == day
        assert batch.picked_up_on.isoformat() == picked and batch.certificate_number == "CDD-2026-0042"
        actions = db.session.scalars(
            sa.select(Activity.action).where(Activity.subject_type == "disposal_batches", Activity.asset_id.is_(None))
        ).all()
        assert sorted(actions) == ["disposal.create", "disposal.dispose", "disposal.pick_up"]
        per_device = db.session.scalar(
            sa.select(sa.func.count()).select_from(Activity).where(Activity.action == "disposal.disposed")
        )
        assert per_device == 3
    resp = client.get(f"/disposal/{batch_id}/certificate")
    assert resp.status_code == 200 and resp.data == PDF and resp.mimetype == "application/pdf"
    page = client.get("/assets/LHS-R0").get_data(as_text=True)
    assert f"Disposed with batch {label} on {day}, certificate CDD-2026-0042." in page
    # The device keeps its history.
    assert "Added LHS-R0 to disposal batch" in page
    assert label in client.get("/disposal").get_data(as_text=True)


def test_adding_is_all_or_nothing_and_says_why(app, ctx, world):
    batch = _batch(world)
    admin = db.session.get(User, world["admin"])
    db.session.commit()
    cases = [
        ("LHS-R0 LHS-H1", True, "LHS-H1: a person has it"),
        ("LHS-R0 LHS-S1", False, "LHS-S1: it is in stock, not retired"),
        ("LHS-R0 JMS-2000", True, "JMS-2000: it belongs to JMS"),
        ("LHS-R0 NOPE-1", True, "NOPE-1: no device on your campuses"),
    ]
    for codes, retire, words in cases:
        with pytest.raises(Invalid) as caught:
            disposal.add_by_codes(batch, codes, retire=retire, by=admin, via=Via.web)
        assert words in caught.value.message and caught.value.field == "codes"
        db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(DisposalItem)) == 0
    assert db.session.get(Asset, world["held"]).status is AssetStatus.deployed

    disposal.add_by_codes(batch, "LHS-R0", retire=False, by=admin, via=Via.web)
    with pytest.raises(Invalid, match="already in this batch"):
        disposal.add_by_codes(batch, "LHS-R0", retire=False, by=admin, via=Via.web)
    db.session.commit()
    other = _batch(world)
    with pytest.raises(Invalid, match=f"LHS-R0: it is in an open batch, {batch.label}"):
        disposal.add_by_codes(other, "LHS-R0 LHS-R1", retire=False, by=admin, via=Via.web)


def test_the_assigned_device_is_refused_on_the_page_with_a_422(app, client, world, login_as):
    login_as(Role.admin)
    with app.app_context():
        batch = _batch(world)
        db.session.commit()
        batch_id = batch.id
    resp = client.post(f"/disposal/{batch_id}/add", data={"codes": "LHS-H1", "retire": "1"}, headers=hx())
    assert resp.status_code == 422
    body = resp.get_data(as_text=True)
    assert "a person has it" in body and 'id="disposal-batch"' in body and "LHS-H1" in body
    with app.app_context():
        assert db.session.get(Asset, world["held"]).status is AssetStatus.deployed


def test_the_retired_list_adds_ticked_or_all_matching(app, ctx, world):
    batch = _batch(world)
    admin = db.session.get(User, world["admin"])
    offered = db.session.scalars(disposal.candidates(batch, by=admin)).all()
    assert [a.asset_tag for a in offered] == ["LHS-R0", "LHS-R1", "LHS-R2"]
    filtered = db.session.scalars(disposal.candidates(batch, by=admin, q="retired2")).all()
    assert [a.asset_tag for a in filtered] == ["LHS-R2"]
    disposal.add_candidates(batch, ids=[world["retired"][0]], by=admin, via=Via.web)
    # A ticked device that is not on the list (not retired) adds nothing.
    with pytest.raises(Invalid, match="still free"):
        disposal.add_candidates(batch, ids=[world["shelf"]], by=admin, via=Via.web)
    added = disposal.add_candidates(batch, everything=True, by=admin, via=Via.web)
    assert sorted(a.asset_tag for a in added) == ["LHS-R1", "LHS-R2"]
    assert db.session.scalars(disposal.candidates(batch, by=admin)).all() == []


def _disposed(world) -> DisposalBatch:
    batch = _batch(world)
    admin = db.session.get(User, world["admin"])
    disposal.add_by_codes(batch, "LHS-R0 LHS-R1", retire=False, by=admin, via=Via.web)
    cert = disposal.check_certificate("cert.pdf", PDF)
    disposal.mark_disposed(batch, _today(), "CDD-1", cert, by=admin, via=Via.web)
    db.session.commit()
    return batch


def test_a_disposed_batch_cannot_change(app, ctx, world):
    batch = _disposed(world)
    admin = db.session.get(User, world["admin"])
    r0 = db.session.get(Asset, world["retired"][0])
    attempts = [
        lambda: disposal.add_by_codes(batch, "LHS-R2", retire=False, by=admin, via=Via.web),
        lambda: disposal.add_candidates(batch, everything=True, by=admin, via=Via.web),
        lambda: disposal.remove_asset(batch, r0, by=admin, via=Via.web),
        lambda: disposal.mark_picked_up(batch, _today(), by=admin, via=Via.web),
        lambda: disposal.mark_disposed(
            batch, _today(), "CDD-2", disposal.check_certificate("c.pdf", PDF), by=admin, via=Via.web
        ),  # fmt: skip
    ]
    for attempt in attempts:
        with pytest.raises(Invalid, match="can no longer change"):
            attempt()
        db.session.rollback()
    assert db.session.get(DisposalBatch, batch.id).certificate_number == "CDD-1"
    # Its devices cannot go into another batch either.
    with pytest.raises(Invalid, match="in a batch that was disposed"):
        disposal.add_by_codes(_batch(world), "LHS-R0", retire=False, by=admin, via=Via.web)


def test_disposal_needs_its_date_number_and_file_and_retired_devices(app, ctx, world):
    batch = _batch(world)
    admin = db.session.get(User, world["admin"])
    cert = disposal.check_certificate("cert.pdf", PDF)
    with pytest.raises(Invalid, match="no devices yet"):
        disposal.mark_picked_up(batch, _today(), by=admin, via=Via.web)
    disposal.add_by_codes(batch, "LHS-R0", retire=False, by=admin, via=Via.web)
    for on, number, file, field in [
        (None, "CDD-1", cert, "disposed_on"),
        (_today(), "  ", cert, "certificate_number"),
        (_today(), "CDD-1", None, "certificate"),
    ]:
        with pytest.raises(Invalid) as caught:
            disposal.mark_disposed(batch, on, number, file, by=admin, via=Via.web)
        assert caught.value.field == field
    with pytest.raises(Invalid, match="PDF, PNG or JPEG"):
        disposal.check_certificate("cert.pdf", b"<html>not a certificate</html>")
    # A device put back in service after it joined holds the batch up.
    db.session.get(Asset, world["retired"][0]).status = AssetStatus.in_stock
    with pytest.raises(Invalid, match="Not retired any more: LHS-R0"):
        disposal.mark_picked_up(batch, _today(), by=admin, via=Via.web)
    assert batch.status is DisposalStatus.open


def test_an_oversized_certificate_is_413_and_changes_nothing(app, client, world, login_as):
    login_as(Role.admin)
    with app.app_context():
        batch = _batch(world)
        disposal.add_by_codes(batch, "LHS-R0", retire=False, by=db.session.get(User, world["admin"]), via=Via.web)
        db.session.commit()
        batch_id = batch.id
    big = PDF + b"0" * disposal.MAX_CERTIFICATE_BYTES
    resp = client.post(
        f"/disposal/{batch_id}/disposed",
        data={"disposed_on": _today().isoformat(), "certificate_number": "CDD-9", **_certificate(big)},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 413
    assert "too large" in resp.get_data(as_text=True)
    with app.app_context():
        assert db.session.get(DisposalBatch, batch_id).status is DisposalStatus.open
        assert db.session.scalar(sa.select(sa.func.count()).select_from(DisposalCertificate)) == 0
    # A date that cannot be read is a 422 on its field.
    resp = client.post(
        f"/disposal/{batch_id}/disposed",
        data={"disposed_on": "yesterday", "certificate_number": "CDD-9", **_certificate()},
        content_type="multipart/form-data",
    )
    assert resp.status_code == 422 and "Enter a date like" in resp.get_data(as_text=True)


def test_disposed_devices_leave_the_counts_and_the_aue_chart(app, ctx, world):
    admin = db.session.get(User, world["admin"])
    before = dashboard.status_by_campus(admin)
    retired_before = before.status_total(AssetStatus.retired)
    _disposed(world)
    after = dashboard.status_by_campus(admin)
    assert after.status_total(AssetStatus.retired) == retired_before - 2
    assert after.total == before.total - 2
    # Even a disposed device whose status someone changed back stays out of the chart and the counts.
    aue_before = sum(b.value for b in dashboard.aue_cliff(admin))
    db.session.execute(sa.update(Asset).where(Asset.id == world["retired"][0]).values(status=AssetStatus.in_stock))
    db.session.commit()
    assert sum(b.value for b in dashboard.aue_cliff(admin)) == aue_before
    assert dashboard.status_by_campus(admin).total == after.total
    # The device itself is still there, with its page's history.
    assert db.session.get(Asset, world["retired"][0]) is not None


ROUTES = [
    ("GET", "/disposal"),
    ("POST", "/disposal"),
    ("GET", "/disposal/{id}"),
    ("POST", "/disposal/{id}/add"),
    ("POST", "/disposal/{id}/add-retired"),
    ("POST", "/disposal/{id}/remove"),
    ("POST", "/disposal/{id}/picked-up"),
    ("POST", "/disposal/{id}/disposed"),
    ("GET", "/disposal/{id}/manifest"),
    ("GET", "/disposal/{id}/manifest.csv"),
    ("GET", "/disposal/{id}/certificate"),
]


@pytest.fixture
def disposed_id(app, world) -> int:
    with app.app_context():
        return _disposed(world).id


@pytest.mark.parametrize("role", ["tech", "librarian", "aide", "viewer"])
def test_only_admins_open_disposal(client, disposed_id, login_as, role):
    login_as(role, "LHS")
    for method, path in ROUTES:
        resp = client.open(path.format(id=disposed_id), method=method, headers=hx())
        assert resp.status_code == 403, (method, path)


def test_a_campus_admin_sees_only_their_campuses_batches(app, client, disposed_id, login_as):
    login_as(Role.admin, "JMS")
    for method, path in ROUTES[2:]:
        assert client.open(path.format(id=disposed_id), method=method).status_code == 404, (method, path)
    assert "D-" not in client.get("/disposal").get_data(as_text=True).split('id="disposal-batches"')[1]
    with app.app_context():
        lhs_id = db.session.scalar(sa.select(DisposalBatch.campus_id))
        vendor_id = db.session.scalar(sa.select(Vendor.id))
    resp = client.post("/disposal", data={"vendor": str(vendor_id), "campus": str(lhs_id)})
    assert resp.status_code == 422 and "Choose one of your campuses." in resp.get_data(as_text=True)


def test_a_campus_admin_works_their_own_batch(app, client, disposed_id, login_as):
    login_as(Role.admin, "LHS")
    assert client.get(f"/disposal/{disposed_id}").status_code == 200
    assert client.get(f"/disposal/{disposed_id}/certificate").data == PDF


def test_signed_out_visitors_are_sent_to_sign_in(client, disposed_id):
    resp = client.get(f"/disposal/{disposed_id}")
    assert resp.status_code in (302, 303) and "/login" in resp.headers["Location"]


def test_the_nav_shows_disposal_to_admins_only(client, district, login_as):
    login_as(Role.admin)
    assert 'href="/disposal"' in client.get("/dashboard").get_data(as_text=True)
    client.post("/logout")
    login_as(Role.tech, "LHS")
    assert 'href="/disposal"' not in client.get("/dashboard").get_data(as_text=True)
