"""Write-back to Google: off sends nothing; the preview lists every change first; 120 missing devices are three
batched disable calls; found ones are re-enabled; retired ones deprovisioned; annotated fields written; each call
logged with who and why."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.integrations import google_directory as gd
from app.models import Activity, Asset, AssetStatus, GoogleWriteBack, Role, WriteBackStatus
from app.models.google import OrgUnitMapping
from app.services import google_sync, google_write_back
from tests import factories
from tests.fake_directory import device
from tests.google_world import Google, running_google

FLEET = 300


@pytest.fixture
def google(app, tmp_path, monkeypatch) -> Iterator[Google]:
    with running_google(app, tmp_path, monkeypatch) as world:
        yield world


@pytest.fixture
def synced(ctx, google):
    """A fleet of FLEET devices synced into LHS; an admin."""
    lhs = factories.make_campus("LHS", "Lincoln High")
    db.session.add(OrgUnitMapping(prefix="/Students/LHS", prefix_key="/students/lhs", campus_id=lhs.id))
    db.session.commit()
    google.fake.add_devices(device(n) for n in range(FLEET))
    record = google_sync.run(google_sync.Options(full=True), holder="test")
    db.session.commit()
    assert record.created == FLEET
    admin = factories.make_user(Role.admin)
    db.session.commit()
    return {"google": google, "admin": admin, "lhs": lhs}


def _mark(status: AssetStatus, numbers) -> None:
    serials = [f"FAKE{n:06d}" for n in numbers]
    db.session.execute(sa.update(Asset).where(Asset.serial.in_(serials)).values(status=status))
    db.session.commit()


def _status_calls(fake) -> list:
    return [w for w in fake.writes if w.path.endswith(":batchChangeStatus")]


def test_nothing_is_sent_while_write_back_is_off(synced):
    _mark(AssetStatus.missing, range(120))
    assert google_write_back.send(by=synced["admin"]) == {}
    assert synced["google"].fake.writes == []
    # The preview still says what it would do.
    preview = google_write_back.preview()
    assert preview["counts"] == {"disable": 120} and preview["total"] == 120
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GoogleWriteBack)) == 0


def test_120_missing_devices_are_three_disable_calls_and_found_ones_are_reenabled(synced):
    fake, admin = synced["google"].fake, synced["admin"]
    _mark(AssetStatus.missing, range(120))
    google_write_back.set_switch(True, by=admin)
    db.session.commit()
    sent = google_write_back.send(by=admin)
    assert sent == {"disable": 120}
    calls = _status_calls(fake)
    assert [len(c.body["deviceIds"]) for c in calls] == [50, 50, 20]
    assert {c.body["changeChromeOsDeviceStatusAction"] for c in calls} == {gd.DISABLE}
    assert sorted(i for c in calls for i in c.body["deviceIds"]) == [f"dev-{n:06d}" for n in range(120)]
    assert fake.devices["dev-000000"]["status"] == "DISABLED"
    rows = db.session.scalars(sa.select(GoogleWriteBack)).all()
    assert len(rows) == 120 and {r.status for r in rows} == {WriteBackStatus.done}
    assert all(r.requested_by_id == admin.id and "marked missing" in r.reason for r in rows)
    logged = db.session.scalars(sa.select(Activity).where(Activity.action == "google.write_back.disable")).all()
    assert len(logged) == 3 and all(a.user_id == admin.id for a in logged)
    assert sum(len(a.after["reasons"]) for a in logged) == 120

    # Sending again sends nothing: Google confirmed them.
    assert google_write_back.send(by=admin) == {}
    assert len(_status_calls(fake)) == 3

    # Two are found.
    _mark(AssetStatus.deployed, [3, 4])
    assert google_write_back.send(by=admin) == {"reenable": 2}
    last = _status_calls(fake)[-1]
    assert last.body == {"deviceIds": ["dev-000003", "dev-000004"], "changeChromeOsDeviceStatusAction": gd.REENABLE}
    assert fake.devices["dev-000003"]["status"] == "ACTIVE"


def test_a_device_someone_else_disabled_is_left_disabled(synced):
    fake, admin = synced["google"].fake, synced["admin"]
    fake.devices["dev-000009"]["status"] = "DISABLED"
    google_sync.run(google_sync.Options(full=True), holder="test")
    db.session.commit()
    google_write_back.set_switch(True, by=admin)
    db.session.commit()
    assert google_write_back.send(by=admin) == {}
    assert fake.writes == []


def test_retired_devices_are_deprovisioned_with_googles_reason(synced):
    fake, admin = synced["google"].fake, synced["admin"]
    _mark(AssetStatus.retired, [7])
    google_write_back.set_switch(True, by=admin)
    db.session.commit()
    assert google_write_back.send(by=admin) == {"deprovision": 1}
    (call,) = _status_calls(fake)
    assert call.body["changeChromeOsDeviceStatusAction"] == gd.DEPROVISION
    assert call.body["deprovisionReason"] == gd.RETIRING
    assert fake.devices["dev-000007"]["status"] == "DEPROVISIONED"


def test_asset_tag_assignee_and_room_go_to_the_annotated_fields(synced):
    fake, admin, lhs = synced["google"].fake, synced["admin"], synced["lhs"]
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == "FAKE000005"))
    student = factories.make_person(lhs, email="kid5@mvusd.example")
    room = factories.make_room(lhs, "LHS-114")
    asset.home_room_id, asset.assigned_to_id = room.id, student.id
    db.session.commit()
    google_write_back.set_switch(True, by=admin)
    db.session.commit()
    assert google_write_back.send(by=admin) == {"annotate": 1}
    (patch,) = [w for w in fake.writes if w.method == "PATCH"]
    assert patch.path == "devices/chromeos/dev-000005"
    assert patch.body == {"annotatedLocation": "LHS-114", "annotatedUser": "kid5@mvusd.example"}
    assert fake.devices["dev-000005"]["annotatedLocation"] == "LHS-114"
    assert google_write_back.plan() == []


def test_write_back_needs_the_write_scope(synced):
    google = synced["google"]
    google.fake.delegation[google.account.client_id] = {gd.READ_SCOPE}
    _mark(AssetStatus.missing, [1])
    google_write_back.set_switch(True, by=synced["admin"])
    db.session.commit()
    with pytest.raises(gd.GoogleError) as caught:
        google_write_back.send(by=synced["admin"])
    assert caught.value.kind == gd.Problem.DELEGATION
    # The change waits for the next try.
    assert [w.status for w in google_write_back.pending()] == [WriteBackStatus.pending]


def test_the_page_previews_before_the_switch_and_turns_it_on(client, login_as, synced):
    _mark(AssetStatus.missing, range(3))
    login_as(Role.admin)
    page = client.get("/google-sync/write-back")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Write-back is off" in html
    assert html.count('data-action="disable"') == 3
    assert client.post("/google-sync/write-back/send").status_code == 409
    assert synced["google"].fake.writes == []
    assert client.post("/google-sync/write-back", data={"on": "1"}).status_code == 303
    db.session.rollback()
    assert google_sync.state().write_back is True
    assert client.post("/google-sync/write-back/send").status_code == 303
    db.session.rollback()
    assert len(_status_calls(synced["google"].fake)) == 1
    html = client.get("/google-sync/write-back").get_data(as_text=True)
    assert html.count('data-status="done"') == 3


@pytest.mark.parametrize("role", [Role.tech, Role.viewer])
def test_write_back_pages_are_for_admins(client, login_as, role):
    login_as(role, "LHS")
    assert client.get("/google-sync/write-back").status_code == 403
    assert client.post("/google-sync/write-back", data={"on": "1"}).status_code == 403
    assert client.post("/google-sync/write-back/send").status_code == 403


def test_campus_admins_cannot_switch_write_back(client, login_as):
    login_as(Role.admin, "LHS")
    assert client.post("/google-sync/write-back", data={"on": "1"}).status_code == 403


def test_a_good_sync_sends_the_waiting_changes_on_the_queue(client, login_as, synced):
    _mark(AssetStatus.missing, range(60))
    google_write_back.set_switch(True, by=synced["admin"])
    db.session.commit()
    user = login_as(Role.admin)
    assert client.post("/google-sync/run").status_code == 303
    db.session.rollback()
    calls = _status_calls(synced["google"].fake)
    assert [len(c.body["deviceIds"]) for c in calls] == [50, 10]
    assert {w.requested_by_id for w in db.session.scalars(sa.select(GoogleWriteBack))} == {user.id}


def test_devices_move_to_the_org_unit_their_status_names(synced):
    fake, admin = synced["google"].fake, synced["admin"]
    google_write_back.set_ou_table("in_repair /Devices/Repair\n# loaners later\n", by=admin)
    google_write_back.set_switch(True, by=admin)
    db.session.commit()
    _mark(AssetStatus.in_repair, range(60))
    assert google_write_back.send(by=admin) == {"move": 60}
    moves = [w for w in fake.writes if w.path.endswith("/moveDevicesToOu")]
    assert [(len(w.body["deviceIds"]), w.query["orgUnitPath"]) for w in moves] == [
        (50, "/Devices/Repair"),
        (10, "/Devices/Repair"),
    ]
    assert fake.devices["dev-000059"]["orgUnitPath"] == "/Devices/Repair"
    assert google_write_back.plan() == []


def test_the_org_unit_table_is_checked_line_by_line(client, login_as, synced):
    login_as(Role.admin)
    bad = client.post(
        "/google-sync/write-back/org-units", data={"ou_table": "in_repair /Devices/Repair\nbroken Repair"}
    )
    assert bad.status_code == 422 and "Line 2:" in bad.get_data(as_text=True)
    ok = client.post("/google-sync/write-back/org-units", data={"ou_table": "loaner /Devices/Loaners/"})
    assert ok.status_code == 303
    db.session.rollback()
    assert google_sync.state().ou_by_status == {"loaner": "/Devices/Loaners"}
