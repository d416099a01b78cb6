"""Disposal and Google: with write-back on, disposing a batch sends Google the deprovision of its devices (retired
as they joined); with it off, Google hears nothing."""

from __future__ import annotations

import io
from collections.abc import Iterator
from datetime import timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.integrations import google_directory as gd
from app.models import Asset, AssetStatus, DisposalBatch, GoogleWriteBack, Role, User, Vendor, WriteBackStatus, utcnow
from app.models.google import OrgUnitMapping
from app.services import google_sync, google_write_back
from tests import factories
from tests.fake_directory import device
from tests.google_world import Google, running_google

PDF = b"%PDF-1.4\n%%EOF\n"


@pytest.fixture
def google(app, tmp_path, monkeypatch) -> Iterator[Google]:
    with running_google(app, tmp_path, monkeypatch) as world:
        yield world


@pytest.fixture
def synced(app, google, client, login_as):
    """Three Google devices synced into LHS, a recycler, an admin signed in, and an open batch."""
    with app.app_context():
        lhs = factories.make_campus("LHS", "Lincoln High")
        db.session.add(OrgUnitMapping(prefix="/Students/LHS", prefix_key="/students/lhs", campus_id=lhs.id))
        db.session.add(Vendor(name="GreenCycle Recyclers"))
        db.session.commit()
        google.fake.add_devices(device(n) for n in range(3))
        record = google_sync.run(google_sync.Options(full=True), holder="test")
        db.session.commit()
        assert record.created == 3
        vendor_id, lhs_id = db.session.scalar(sa.select(Vendor.id)), lhs.id
    admin = login_as(Role.admin)
    resp = client.post("/disposal", data={"vendor": str(vendor_id), "campus": str(lhs_id)})
    assert resp.status_code == 303
    with app.app_context():
        batch_id = db.session.scalar(sa.select(DisposalBatch.id))
        tags = db.session.scalars(sa.select(Asset.asset_tag).order_by(Asset.serial)).all()
    resp = client.post(f"/disposal/{batch_id}/add", data={"codes": " ".join(tags[:2]), "retire": "1"})
    assert resp.status_code == 303
    return {"google": google, "batch": batch_id, "admin": admin.id}


def _dispose(client, batch_id: int):
    day = (utcnow().date() - timedelta(days=1)).isoformat()
    return client.post(
        f"/disposal/{batch_id}/disposed",
        data={"disposed_on": day, "certificate_number": "CDD-77", "certificate": (io.BytesIO(PDF), "c.pdf")},
        content_type="multipart/form-data",
    )


def _status_calls(fake) -> list:
    return [w for w in fake.writes if w.path.endswith(":batchChangeStatus")]


def test_disposing_with_write_back_on_deprovisions_the_devices_in_google(app, client, synced):
    fake = synced["google"].fake
    with app.app_context():
        google_write_back.set_switch(True, by=db.session.get(User, synced["admin"]))
        db.session.commit()
    assert _dispose(client, synced["batch"]).status_code == 303
    calls = _status_calls(fake)
    assert [c.body["changeChromeOsDeviceStatusAction"] for c in calls] == [gd.DEPROVISION]
    assert sorted(calls[0].body["deviceIds"]) == ["dev-000000", "dev-000001"]
    assert fake.devices["dev-000002"]["status"] == "ACTIVE"
    with app.app_context():
        rows = db.session.scalars(sa.select(GoogleWriteBack).where(GoogleWriteBack.action == "deprovision")).all()
        assert len(rows) == 2 and {r.status for r in rows} == {WriteBackStatus.done}
        assert all("is retired in Rollcall" in r.reason for r in rows)
        statuses = db.session.scalars(sa.select(Asset.google_status).order_by(Asset.serial)).all()
        assert statuses == ["deprovisioned", "deprovisioned", "active"]


def test_with_write_back_off_google_hears_nothing(app, client, synced):
    assert _dispose(client, synced["batch"]).status_code == 303
    assert synced["google"].fake.writes == []
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).select_from(GoogleWriteBack)) == 0
        retired = db.session.scalar(
            sa.select(sa.func.count()).select_from(Asset).where(Asset.status == AssetStatus.retired)
        )
        assert retired == 2
