"""Jobs without a worker process (huey's immediate mode runs each as it is enqueued): who sees a job, its progress
fragment, running once, trying again, and what becomes of a job whose worker died."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time

import pytest
import sqlalchemy as sa

from app import jobs
from app.extensions import db
from app.jobs.progress import Snapshot
from app.models import Job, JobStatus, Role, utcnow
from app.services.errors import DomainError
from tests import factories
from tests.conftest import hx

RUNS: list[str] = []


@jobs.handler("test.count")
def _count(ctx: jobs.Context) -> dict:
    """A job that counts its runs and fails when asked to."""
    RUNS.append(ctx.id)
    if ctx.params.get("fail"):
        raise DomainError("Asked to fail.")
    ctx.progress.phase("Counting", 10)
    ctx.progress(10)
    return {"counted": 10}


def _job(user, *, status: JobStatus = JobStatus.running, campus_id=None, **fields) -> str:
    job = Job(kind="test.count", status=status, requested_by_id=user.id if user else None, campus_id=campus_id)
    for k, v in fields.items():
        setattr(job, k, v)
    db.session.add(job)
    db.session.commit()
    return job.id


def test_the_api_shows_a_job_to_who_asked_and_admins_only(app, client, district, login_as):
    asker = login_as(Role.tech, "LHS")
    with app.app_context():
        mine = _job(asker, started_at=utcnow(), total=100)
        campus_job = _job(asker, campus_id=district["lhs"])
    body = client.get(f"/api/v1/jobs/{mine}").get_json()
    assert (body["status"], body["done"], body["total"], body["result"]) == ("running", 0, 100, None)
    assert client.get(f"/jobs/{mine}").status_code == 200
    assert app.test_client().get(f"/api/v1/jobs/{mine}").status_code == 401
    login_as(Role.admin)
    assert client.get(f"/api/v1/jobs/{mine}").status_code == 200
    login_as(Role.admin, "LHS")
    assert client.get(f"/api/v1/jobs/{mine}").status_code == 404  # no campus: only district-wide admins
    assert client.get(f"/api/v1/jobs/{campus_job}").status_code == 200
    login_as(Role.admin, "JMS")
    refused = client.get(f"/api/v1/jobs/{campus_job}")
    assert refused.status_code == 404 and refused.get_json()["error"]["code"]
    login_as(Role.tech, "LHS")
    assert client.get(f"/jobs/{mine}").status_code == 404
    assert client.get("/api/v1/jobs/" + "x" * 60).status_code == 404


def test_the_progress_fragment_shows_rows_rate_and_time_left(app, client, district, login_as):
    user = login_as(Role.admin)
    with app.app_context():
        job_id = _job(user, started_at=utcnow())
        now = time.time()
        jobs.queue().store.write(
            job_id, Snapshot(done=500, total=2000, phase="Checking rows", phase_started=now - 2, at=now)
        )
    page = client.get(f"/jobs/{job_id}")
    fragment = client.get(f"/jobs/{job_id}", headers=hx())
    text = fragment.get_data(as_text=True)
    assert "<html" in page.get_data(as_text=True) and '<noscript><meta http-equiv="refresh"' in page.get_data(
        as_text=True
    )
    assert "<html" not in text and 'hx-trigger="every 1s"' in text
    assert "500 of 2,000 rows" in text and "250 rows a second" in text and "about 6 s left" in text
    with app.app_context():
        job = db.session.get(Job, job_id)
        job.status, job.done, job.total, job.finished_at = JobStatus.done, 2000, 2000, utcnow()
        job.result = {"seconds": 4.0}
        db.session.commit()
    done = client.get(f"/jobs/{job_id}", headers=hx()).get_data(as_text=True)
    assert "hx-trigger" not in done and "Done: 2,000 rows" in done and "500 rows a second" in done


def test_a_job_runs_once_however_often_it_is_delivered(app, ctx):
    RUNS.clear()
    user = factories.make_user()
    job = jobs.submit("test.count", by=user)
    db.session.commit()  # immediate mode: run as the transaction commits
    jobs.execute(job.id)  # delivered again: already done, nothing runs
    db.session.expire_all()
    assert [job.id] == RUNS
    assert (job.status, job.done, job.total, job.attempts, job.result["counted"]) == (JobStatus.done, 10, 10, 1, 10)


def test_a_rolled_back_submit_enqueues_nothing(app, ctx):
    RUNS.clear()
    jobs.submit("test.count", by=factories.make_user())
    db.session.rollback()
    db.session.commit()
    assert RUNS == [] and db.session.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


def test_a_failed_job_says_why_and_its_asker_tries_again(app, client, district, login_as):
    RUNS.clear()
    user = login_as(Role.admin)
    with app.app_context():
        job = jobs.submit("test.count", by=user, params={"fail": True})
        db.session.commit()
        job_id = job.id
        assert (job.status, job.error) == (JobStatus.failed, "Asked to fail.")
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "Asked to fail." in page and "Try again" in page
    with app.app_context():
        db.session.get(Job, job_id).params = {}
        db.session.commit()
    assert client.post(f"/jobs/{job_id}/retry").status_code == 303
    with app.app_context():
        assert db.session.get(Job, job_id).status is JobStatus.done
    assert client.post(f"/jobs/{job_id}/retry").status_code == 409  # only a failed job
    assert [job_id, job_id] == RUNS


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_job_whose_worker_died_runs_again_until_it_has_been_started_three_times(app, ctx):
    RUNS.clear()
    user = factories.make_user()
    db.session.commit()
    dead = f"{socket.gethostname()}:{_dead_pid()}:0000"
    orphan = _job(user, worker=dead, attempts=1, started_at=utcnow())
    hopeless = _job(user, worker=dead, attempts=jobs.MAX_ATTEMPTS, started_at=utcnow())
    alive = _job(user, worker=f"{socket.gethostname()}:{os.getppid()}:0000", attempts=1, started_at=utcnow())
    elsewhere = _job(user, worker="another-host:1:0000", attempts=1, started_at=utcnow())
    assert jobs.recover() == [orphan]
    db.session.expire_all()
    got = {i: db.session.get(Job, i) for i in (orphan, hopeless, alive, elsewhere)}
    assert (got[orphan].status, got[orphan].attempts) == (JobStatus.done, 2) and [orphan] == RUNS
    assert got[hopeless].status is JobStatus.failed and "3 times" in got[hopeless].error
    assert got[alive].status is got[elsewhere].status is JobStatus.running
    # Another host's worker is taken for dead once its progress has gone unwritten too long.
    assert jobs.recover(stale=-1) == [elsewhere]


@pytest.mark.parametrize("kind", ["snipeit", "google-admin"])
def test_the_import_command_draws_no_bar_off_a_terminal(app, district, tmp_path, kind):
    path = tmp_path / "devices.csv"
    path.write_text(
        "Asset Tag,Serial Number,Model Name,Manufacturer,Location\nLHS-9,SER9,Chromebook,Dell,LHS\n"
        if kind == "snipeit"
        else "serialNumber\nMKQQA7MSUA\n"
    )
    result = app.test_cli_runner().invoke(args=["import", kind, str(path), "--dry-run"])
    assert result.exit_code == 0, result.output
    assert "Reading rows" not in result.output and "━" not in result.output
