"""The live Google sync over the fake Directory API: a 2,000-device fleet created, updated and reconciled; the
incremental query; retries; a run that fails half way; the lease; the schedule; "Sync now"; the dashboard."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from app.extensions import db
from app.integrations import google_directory as gd
from app.jobs import google_sync as sync_jobs
from app.models import Activity, Asset, GoogleSyncRun, GoogleSyncState, Job, JobStatus, Role, SyncRunStatus, utcnow
from app.models.google import OrgUnitMapping
from app.services import google_sync
from app.services.errors import DomainError
from tests import factories
from tests.fake_directory import device
from tests.google_world import Google, running_google

FLEET = 2000


@pytest.fixture
def google(app, tmp_path, monkeypatch) -> Iterator[Google]:
    with running_google(app, tmp_path, monkeypatch) as world:
        yield world


LONG_AGO = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.fixture
def fleet_size() -> int:
    """Three pages; the tests of the whole fleet ask for FLEET."""
    return 650


@pytest.fixture
def world(ctx, google, fleet_size):
    """LHS, whose org unit /Students/LHS the mapping puts there; Google holding fleet_size devices synced long ago."""
    lhs = factories.make_campus("LHS", "Lincoln High")
    db.session.add(OrgUnitMapping(prefix="/Students/LHS", prefix_key="/students/lhs", campus_id=lhs.id))
    db.session.commit()
    google.fake.add_devices(device(n, synced=LONG_AGO) for n in range(fleet_size))
    return {"google": google, "lhs": lhs, "size": fleet_size}


def _run(**options) -> GoogleSyncRun:
    record = google_sync.run(google_sync.Options(**options), holder="test")
    db.session.commit()
    return record


def _assets() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(Asset))


@pytest.mark.parametrize("fleet_size", [FLEET])
def test_a_full_run_creates_updates_and_lists_removed_devices(world):
    fake = world["google"].fake
    first = _run(full=True)
    assert first.status is SyncRunStatus.done, first.error
    assert first.devices == FLEET and first.pages == -(-FLEET // gd.PAGE_SIZE)
    assert first.created == FLEET and _assets() == FLEET
    lists = fake.lists()
    assert len(lists) == first.pages
    assert {r.query["maxResults"] for r in lists} == {str(gd.PAGE_SIZE)}
    assert all(r.query["projection"] == "FULL" and r.query["fields"] == gd.LIST_FIELDS for r in lists)
    assert "query" not in lists[0].query and "pageToken" not in lists[0].query
    assert all("pageToken" in r.query for r in lists[1:])
    asset = db.session.scalar(sa.select(Asset).where(Asset.serial == "FAKE000007"))
    assert asset.asset_tag == "LHS-00007" and asset.campus_id == world["lhs"].id
    assert asset.org_unit == "/Students/LHS" and asset.google_recent_user == "student7@mvusd.example"

    # Google moves 25 devices, forgets 30; Rollcall has 20 devices Google never had.
    for n in range(25):
        fake.devices[f"dev-{n:06d}"]["orgUnitPath"] = "/Students/LHS/Carts"
    for n in range(FLEET - 30, FLEET):
        del fake.devices[f"dev-{n:06d}"]
    for n in range(20):
        factories.make_asset(world["lhs"], asset_tag=f"LHS-X{n:03d}", serial=f"ONLYHERE{n:03d}")
    db.session.commit()
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Activity))
    second = _run(full=True)
    assert second.status is SyncRunStatus.done, second.error
    assert (second.created, second.updated) == (0, 25)
    assert second.removed == 50 and second.report["not_in_google_count"] == 50
    removed = {d["serial"] for d in second.report["not_in_google"]}
    assert "ONLYHERE000" in removed and f"FAKE{FLEET - 1:06d}" in removed
    entries = db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) - before
    # One entry per changed device, and one for the run.
    assert entries == 25 + 1
    moved = db.session.scalar(sa.select(Asset).where(Asset.serial == "FAKE000003"))
    assert moved.org_unit == "/Students/LHS/Carts"

    third = _run(full=True)
    assert (third.created, third.updated) == (0, 0) and third.unchanged == FLEET - 30
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Activity)) - before == 26 + 1


def test_an_incremental_run_asks_only_for_devices_synced_since_the_last_good_run(world):
    fake = world["google"].fake
    first = _run(full=True)
    assert first.status is SyncRunStatus.done
    recent = utcnow() - timedelta(minutes=5)
    for n in range(10):
        fake.devices[f"dev-{n:06d}"].update(lastSync=recent.strftime("%Y-%m-%dT%H:%M:%S.000Z"), osVersion="130.0")
    asked_from = fake.lists()[-1]
    second = _run()
    assert second.status is SyncRunStatus.done and not second.full
    expected = gd.since_query((first.started_at - google_sync.OVERLAP).date())
    assert second.query == expected
    sent = fake.lists()[fake.lists().index(asked_from) + 1 :]
    assert [r.query.get("query") for r in sent] == [expected]
    assert second.devices == 10 and second.pages == 1
    # Nothing else: an incremental run never lists devices as gone.
    assert second.removed == 0 and second.created == 0


def test_a_run_is_full_when_the_nightly_one_is_due(world):
    _run(full=True)
    st = google_sync.state()
    st.last_full_at = utcnow() - google_sync.FULL_EVERY - timedelta(minutes=1)
    db.session.commit()
    assert _run().full is True
    assert _run().full is False


def test_429_and_5xx_during_a_run_are_tried_again(world):
    fake = world["google"].fake
    fake.fail_next(429, times=2, after=2)
    fake.fail_next(503, after=3)
    record = _run(full=True)
    assert record.status is SyncRunStatus.done and record.created == world["size"]
    assert record.retries == 3
    assert len(fake.lists()) == record.pages + 3


@pytest.mark.parametrize("fleet_size", [FLEET])
def test_a_run_that_fails_half_way_writes_nothing_and_the_next_run_does_it_all(world, app):
    fake = world["google"].fake
    retries = app.config.get("GOOGLE_RETRIES", 5)
    fake.fail_next(500, times=retries + 1, after=3)
    with pytest.raises(DomainError) as caught:
        google_sync.run(google_sync.Options(full=True), holder="test")
    assert "Injected failure." in caught.value.message
    db.session.rollback()
    assert _assets() == 0
    failed = db.session.scalar(sa.select(GoogleSyncRun))
    assert failed.status is SyncRunStatus.failed and failed.pages == 0
    assert failed.google_error == "Injected failure." and "500" in failed.error
    st = db.session.get(GoogleSyncState, google_sync.STATE_ID)
    assert st.failing_since == failed.started_at and st.lease_holder is None and st.last_success_at is None

    again = _run()
    assert again.status is SyncRunStatus.done and again.full and again.created == FLEET
    st = db.session.get(GoogleSyncState, google_sync.STATE_ID)
    assert st.failing_since is None and st.last_error is None


def test_a_run_cut_off_by_its_server_stopping_is_closed_and_done_again(world):
    # A job whose worker died mid-run: its run still says running and it holds the lease.
    job = Job(kind=sync_jobs.SYNC, status=JobStatus.failed, subject=sync_jobs.SUBJECT, params={})
    db.session.add(job)
    db.session.flush()
    db.session.add(GoogleSyncRun(full=True, trigger="schedule", status=SyncRunStatus.running, job_id=job.id))
    st = google_sync.state()
    st.lease_holder, st.lease_until = job.id, utcnow() + timedelta(minutes=20)
    db.session.commit()
    record = _run(full=True)
    assert record.status is SyncRunStatus.done and record.created == world["size"]
    statuses = db.session.scalars(sa.select(GoogleSyncRun.status).order_by(GoogleSyncRun.id)).all()
    assert statuses == [SyncRunStatus.failed, SyncRunStatus.done]


def test_two_runs_never_overlap(world):
    job = Job(kind=sync_jobs.SYNC, status=JobStatus.running, subject=sync_jobs.SUBJECT, params={})
    db.session.add(job)
    db.session.flush()
    st = google_sync.state()
    st.lease_holder, st.lease_until = job.id, utcnow() + timedelta(minutes=20)
    db.session.commit()
    record = _run(full=True)
    assert record.status is SyncRunStatus.skipped and _assets() == 0
    assert world["google"].fake.lists() == []
    assert google_sync.due() is None
    # A lease past its time is free again.
    st.lease_until = utcnow() - timedelta(seconds=1)
    db.session.commit()
    assert _run(full=True).status is SyncRunStatus.done


def test_the_schedule_starts_a_run_when_the_interval_has_passed(world):
    sync_jobs.tick()
    first = db.session.scalars(sa.select(GoogleSyncRun)).all()
    assert [(r.trigger, r.full, r.status) for r in first] == [("schedule", True, SyncRunStatus.done)]
    sync_jobs.tick()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(GoogleSyncRun)) == 1
    st = google_sync.state()
    st.last_run_at = utcnow() - timedelta(minutes=st.interval_minutes + 1)
    db.session.commit()
    sync_jobs.tick()
    runs = db.session.scalars(sa.select(GoogleSyncRun).order_by(GoogleSyncRun.id)).all()
    assert len(runs) == 2 and runs[1].full is False and runs[1].trigger == "schedule"


def test_the_worker_runs_the_tick_periodically(app):
    from app.jobs.core import PERIODIC

    assert any(name == "rollcall.google_sync_tick" for _, name, _ in PERIODIC)


def test_nothing_is_scheduled_until_google_is_set_up(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "GOOGLE_CREDENTIALS", "")
    assert google_sync.due() is None


def test_a_dry_run_writes_nothing_and_moves_no_state(world):
    record = _run(full=True, dry_run=True)
    assert record.status is SyncRunStatus.done and record.created == world["size"] and record.dry_run
    assert _assets() == 0
    assert google_sync.state().last_success_at is None


def test_sync_now_runs_on_the_queue_and_the_page_lists_it(client, login_as, world):
    user = login_as(Role.admin)
    resp = client.post("/google-sync/run", data={"full": "1"})
    assert resp.status_code == 303
    # The request ran in this test's app context (the world's): end its transaction, then look.
    db.session.rollback()
    record = db.session.scalar(sa.select(GoogleSyncRun))
    assert record.trigger == "manual" and record.full and record.requested_by_id == user.id
    assert record.status is SyncRunStatus.done and record.created == world["size"]
    job = db.session.get(Job, record.job_id)
    assert job.status is JobStatus.done and job.result["created"] == world["size"]
    run_id = record.id
    html = client.get("/google-sync").get_data(as_text=True)
    assert 'data-run-status="done"' in html and f"/google-sync/runs/{run_id}" in html
    assert client.get(f"/google-sync/runs/{run_id}").status_code == 200
    assert client.get("/google-sync/runs/999999").status_code == 404


def test_a_failing_sync_shows_on_the_dashboard_with_googles_words(client, login_as, world):
    world["google"].fake.api_enabled = False
    login_as(Role.admin)
    assert client.post("/google-sync/run").status_code == 303
    db.session.rollback()
    job = db.session.scalar(sa.select(Job).where(Job.kind == sync_jobs.SYNC))
    assert job.status is JobStatus.failed and "Admin SDK API is turned off" in job.error
    html = client.get("/").get_data(as_text=True)
    assert 'id="google-sync-failing"' in html and "Google sync failing since" in html
    assert "has not been used in project" in html


def test_the_failing_notice_is_for_district_admins(client, login_as, world):
    st = google_sync.state()
    st.failing_since, st.last_error = utcnow(), "Google refused."
    db.session.commit()
    login_as(Role.tech, "LHS")
    assert 'id="google-sync-failing"' not in client.get("/").get_data(as_text=True)


def test_a_waiting_sync_shows_its_progress_and_sync_now_waits_for_it(client, login_as, world):
    db.session.add(Job(kind=sync_jobs.SYNC, status=JobStatus.queued, subject=sync_jobs.SUBJECT, params={}))
    db.session.commit()
    login_as(Role.admin)
    html = client.get("/google-sync").get_data(as_text=True)
    assert 'data-job-status="queued"' in html and "Syncing with Google" in html and "Sync now" not in html
    refused = client.post("/google-sync/run")
    assert refused.status_code == 409 and "A Google sync is running" in refused.get_data(as_text=True)
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 1
