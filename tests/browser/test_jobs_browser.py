"""An admin uploads a Google Admin file that a real queue consumer (huey on SQLite, in this process) checks and
applies: the page shows the job's progress fragment until it is done, then what the job found."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from playwright.sync_api import expect

from app.extensions import db
from app.jobs import core
from app.models import Asset, Job, JobStatus
from tests import factories
from tests.browser.conftest import sign_in

ROWS = 2_000
MATCHED = 20


@pytest.fixture
def consumer(app, tmp_path, monkeypatch) -> Iterator[None]:
    """The app's jobs go to a SQLite queue that a consumer thread here works through (not the immediate mode)."""
    monkeypatch.setitem(app.config, "QUEUE_IMMEDIATE", False)
    monkeypatch.setitem(app.config, "QUEUE_URL", f"sqlite:///{tmp_path / 'queue.db'}")
    monkeypatch.setitem(app.extensions, core.EXTENSION, core._build(app))
    handlers = {s: signal.getsignal(s) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    running = core.queue(app).huey.create_consumer(workers=1, worker_type="thread", periodic=False)
    running.start()
    for s, h in handlers.items():  # the consumer's own handlers are for a process of its own
        signal.signal(s, h)
    yield
    running.stop(graceful=True)


@pytest.fixture
def google_file(app, tmp_path):
    """A GAM export of ROWS devices, the first MATCHED of them already in Rollcall."""
    with app.app_context():
        lhs = factories.make_campus("LHS")
        for i in range(MATCHED):
            factories.make_asset(lhs, asset_tag=f"LHS-{7000 + i}", serial=f"GSER{i:06d}")
        db.session.commit()
    lines = ["serialNumber,status,model,orgUnitPath,annotatedAssetId,autoUpdateThrough"]
    lines += [f"GSER{i:06d},ACTIVE,Acer Chromebook 311,/Students/LHS,LHS-{7000 + i},2029-06-01" for i in range(ROWS)]
    path = tmp_path / "devices.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_the_import_shows_its_progress_then_what_it_found(desktop, consumer, google_file, staff_user, app):
    page = desktop
    email, password = staff_user("admin")
    sign_in(page, email, password, next_path="/imports")
    section = page.locator("#upload-google-admin")
    section.get_by_label("CSV file").set_input_files(str(google_file))
    section.get_by_role("button", name="Check the file").click()

    # The run's page holds the job's fragment, which polls until the job is done and then brings the dry run.
    page.wait_for_url("**/imports/runs/*")
    job = page.locator(".job-progress")
    expect(job).to_be_visible()
    expect(page.get_by_role("heading", level=2, name="Dry run: nothing saved yet")).to_be_visible(timeout=60_000)
    expect(job).to_have_attribute("data-job-status", "done")
    expect(job.locator("[data-job-done]")).to_have_text(f"Done: {ROWS:,} rows")
    expect(job.locator("[data-job-rate]")).to_contain_text("rows a second")
    expect(page.locator('[data-count="updated"]')).to_have_text(str(MATCHED))
    expect(page.locator("#h-recon + .report-counts")).to_contain_text(f"{ROWS - MATCHED:,} in Google, not in Rollcall")

    page.get_by_role("button", name=f"Apply {MATCHED} change(s)").click()
    expect(page.locator("#h-summary")).to_contain_text("Applied", timeout=60_000)
    expect(page.locator(".job-progress h2")).to_contain_text("Applying the file")
    expect(page.locator(".job-progress [data-job-done]")).to_have_text(f"Done: {ROWS:,} rows")
    with app.app_context():
        assert db.session.scalar(sa.select(sa.func.count()).where(Asset.org_unit.is_not(None))) == MATCHED
        kinds = db.session.execute(sa.select(Job.kind, Job.status).order_by(Job.created_at)).all()
        assert kinds == [("import.check", JobStatus.done), ("import.apply", JobStatus.done)]
