"""The real queue: `rollcall worker` runs as its own process on huey's SQLite storage and on Redis; killed with
SIGKILL in the middle of an import, it leaves the import undone, and the next worker runs it exactly once."""

from __future__ import annotations

import io
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from app import create_app, jobs
from app.config import TestConfig
from app.extensions import db
from app.jobs import imports as import_jobs
from app.models import Activity, Asset, ImportKind, ImportRun, ImportState, Job, JobStatus, User
from tests import factories

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
REDIS_URL = "redis://127.0.0.1:6379/0"
ROWS = 10_000


def _redis_up() -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture(params=["sqlite", "redis"])
def queue_url(request, tmp_path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'queue.db'}"
        return
    if not _redis_up():
        pytest.skip("Redis is not answering on 127.0.0.1:6379")
    yield REDIS_URL


@pytest.fixture
def real_queue(app, database_url, queue_url, tmp_path) -> Iterator[tuple]:
    """An app on the same database whose jobs go to a real queue (a name of its own, emptied afterwards), and a
    way to start `rollcall worker` processes on it."""
    name = f"rollcall-test-{secrets.token_hex(6)}"

    class Config(TestConfig):
        SQLALCHEMY_DATABASE_URI = database_url
        QUEUE_IMMEDIATE = False
        QUEUE_URL = queue_url
        QUEUE_NAME = name

    queued = create_app(Config)
    env = {
        **os.environ,
        "ROLLCALL_ENV": "test",
        "SECRET_KEY": "worker-test-" + secrets.token_hex(16),
        "DATABASE_URL": database_url,
        "ROLLCALL_QUEUE_URL": queue_url,
        "ROLLCALL_QUEUE_NAME": name,
    }
    started: list[subprocess.Popen] = []

    def start_worker() -> subprocess.Popen:
        log = (tmp_path / f"worker-{len(started)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-c", "from app.cli import main; main()", "worker", "--threads", "1"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        started.append(proc)
        return proc

    yield queued, start_worker, tmp_path
    for proc in started:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    with queued.app_context():
        jobs.queue().huey.storage.flush_all()
        db.session.remove()
        db.engine.dispose()


def _snipeit_file(n: int) -> bytes:
    lines = ["Asset Tag,Serial Number,Model Name,Manufacturer,Status,Location"]
    lines += [f"LHS-{50000 + i},SN{i:08d},Chromebook 3110,Dell,Ready to Deploy,LHS" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def _wait(what: Callable[[], object], message: str, timeout: float = 180) -> object:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = what()
        if found:
            return found
        time.sleep(0.05)
    logs = "".join(f"--- {p.name}\n" + p.read_text(errors="replace")[-3000:] for p in sorted(LOGS.glob("worker-*.log")))
    raise AssertionError(f"{message}\njobs: {_jobs_now()}\n{logs}")


LOGS = Path("/nonexistent")
QUEUED: list = []


def _jobs_now() -> list[tuple]:
    """Every job as the database and the queue's progress store have it now (what a failed wait reports)."""
    if not QUEUED:
        return []
    with QUEUED[0].app_context():
        _reading()
        found = [
            (job.kind, job.status.value, job.attempts, job.worker, job.error, jobs.queue().store.read(job.id))
            for job in db.session.scalars(sa.select(Job).order_by(Job.created_at))
        ]
        db.session.remove()
        return found


def _reading() -> None:
    """Read without asking for SQLite's write lock, which a running apply holds (web pages read the same way)."""
    db.session.connection(execution_options={"snapshot": True})


def _job(queued, job_id: str) -> tuple[JobStatus, int, int | None, int]:
    with queued.app_context():
        _reading()
        job = db.session.get(Job, job_id)
        assert job is not None
        out = (job.status, job.done, job.total, job.attempts)
        db.session.remove()
        return out


def _counts(queued) -> tuple[int, int]:
    with queued.app_context():
        _reading()
        assets = db.session.scalar(sa.select(sa.func.count()).select_from(Asset).where(Asset.asset_tag.like("LHS-5%")))
        imports = db.session.scalar(
            sa.select(sa.func.count()).select_from(Activity).where(Activity.action == "import.snipeit")
        )
        db.session.remove()
        return assets, imports


def test_a_killed_worker_leaves_the_import_undone_and_the_next_runs_it_once(app, real_queue):
    global LOGS
    queued, start_worker, LOGS = real_queue
    QUEUED[:] = [queued]
    with app.app_context():
        factories.make_campus("LHS")
        admin = factories.make_user()
        db.session.commit()
        admin_id = admin.id
    with queued.app_context():
        user = db.session.get(User, admin_id)
        run = ImportRun(
            kind=ImportKind.snipeit, filename="assets.csv", token=secrets.token_hex(16), created_by_id=user.id
        )
        run.park(io.BytesIO(_snipeit_file(ROWS)), b"")
        db.session.add(run)
        db.session.flush()
        check = import_jobs.submit_check(run, by=user, campus_id=None)
        db.session.commit()  # enqueued now, on the real queue: nothing runs it in this process
        check_id, run_id = check.id, run.id
        db.session.remove()

    first = start_worker()
    _wait(lambda: _job(queued, check_id)[0] is JobStatus.done, "the dry run did not finish")
    status, done, total, _ = _job(queued, check_id)
    assert (done, total) == (ROWS, ROWS)
    with queued.app_context():
        run = db.session.get(ImportRun, run_id)
        assert run.report["counts"]["created"] == ROWS and run.report["counts"]["errors"] == 0
        apply = import_jobs.submit_apply(run, by=run.created_by)
        db.session.commit()
        apply_id = apply.id
        db.session.remove()

    # Part way through the apply (rows read, and perhaps written but not committed), the worker is killed outright.
    def midway() -> bool:
        if _job(queued, apply_id)[0] is not JobStatus.running:
            return False
        with queued.app_context():
            snap = jobs.queue().store.read(apply_id)
        return snap is not None and snap.done > 0

    _wait(midway, "the apply never showed rows part done")
    first.send_signal(signal.SIGKILL)
    first.wait(10)
    status, *_ = _job(queued, apply_id)
    assert status is JobStatus.running  # as the dead worker left it
    assert _counts(queued) == (0, 0)  # not at all: nothing of the import was committed

    # The next worker sees its predecessor's job orphaned, queues it again and runs it: once.
    start_worker()
    _wait(lambda: _job(queued, apply_id)[0] in (JobStatus.done, JobStatus.failed), "the retried apply did not finish")
    status, done, total, attempts = _job(queued, apply_id)
    assert (status, attempts) == (JobStatus.done, 2)
    assert (done, total) == (ROWS, ROWS)
    assert _counts(queued) == (ROWS, 1)
    with queued.app_context():
        run = db.session.get(ImportRun, run_id)
        assert run.state is ImportState.applied and run.content is None
        job = db.session.get(Job, apply_id)
        assert job.result["applied"] is True and job.result["counts"]["created"] == ROWS
        # Asked again, the same job does nothing: it is done, and the file is applied.
        jobs.execute(apply_id)
        db.session.remove()
    assert _counts(queued) == (ROWS, 1)
