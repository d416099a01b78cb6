"""The job queue's core: huey (its SQLite storage in instance/ by default, Redis when ROLLCALL_QUEUE_URL names one), one
task that runs any recorded Job by its id inside an app context, and the registry of what each kind of job does.

A view (or command) calls `submit(kind, …)` inside its transaction; the job is enqueued when that transaction
commits, so a worker never looks for a record that is not there yet, and a rolled-back request enqueues nothing.
The queue's message carries the job's id only. A worker claims a job by moving it from `queued` to `running` in
one UPDATE, so a message delivered twice runs it once; a job whose worker died (`recover`) is queued again, up to
MAX_ATTEMPTS starts, and its handler's work is one transaction, so a run cut off half way left nothing behind.
"""

from __future__ import annotations

import logging
import os
import secrets
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import sqlalchemy as sa
from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab

from app.extensions import db
from app.jobs.progress import Progress, Snapshot, Store
from app.models import Job, JobStatus, Role, User, utcnow
from app.services.errors import DomainError

log = logging.getLogger(__name__)

# Starts of one job before a worker's death is taken as the job's own fault and it is failed.
MAX_ATTEMPTS = 3
# A running job on another host whose progress has not been touched for this long (seconds) lost its worker.
STALE = 60.0
EXTENSION = "rollcall.queue"
PENDING = "rollcall.jobs.pending"


@dataclass
class Context:
    """What a handler gets: the job's fields as they were when it was claimed, and where to report progress."""

    id: str
    kind: str
    subject: str | None
    params: dict[str, Any]
    requested_by_id: int | None
    progress: Progress

    def requester(self) -> User:
        """The person who asked; a job outlives nobody's account (a DomainError fails it with that reason)."""
        user = db.session.get(User, self.requested_by_id) if self.requested_by_id else None
        if user is None or not user.active:
            raise DomainError("The person who asked for this job no longer has an active account.")
        return user


Handler = Callable[[Context], dict[str, Any] | None]
HANDLERS: dict[str, Handler] = {}
# Work the worker starts on a schedule: (huey crontab, task name, function run inside an app context).
PERIODIC: list[tuple[Any, str, Callable[[], None]]] = []


def periodic(schedule: Any, name: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
    """Register a function the worker runs on a schedule (a huey crontab), inside the app's context."""

    def register(fn: Callable[[], None]) -> Callable[[], None]:
        PERIODIC.append((schedule, name, fn))
        return fn

    return register


def handler(kind: str) -> Callable[[Handler], Handler]:
    """Register what a kind of job does: fn(context) → its result summary (JSON), run in one transaction that
    the queue commits with the job's own record; an exception rolls it back and fails the job."""

    def register(fn: Handler) -> Handler:
        HANDLERS[kind] = fn
        return fn

    return register


@dataclass
class Queue:
    huey: Huey
    run_job: Any
    store: Store


def make_huey(config: Any) -> Huey:
    """The huey instance the settings describe: immediate (tests), Redis (QUEUE_URL redis://…) or SQLite
    (QUEUE_PATH in instance/, or the file a sqlite:///PATH QUEUE_URL names)."""
    name, url = config["QUEUE_NAME"], config.get("QUEUE_URL") or ""
    if config.get("QUEUE_IMMEDIATE"):
        return Huey(name, results=False, immediate=True)
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisHuey(name, url=url, results=False)
    if url and not url.startswith("sqlite:///"):
        raise ValueError(f"ROLLCALL_QUEUE_URL must be redis://… or sqlite:///PATH (or unset): {url!r}")
    path = Path(url.removeprefix("sqlite:///") if url else config["QUEUE_PATH"])
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteHuey(name, filename=str(path), results=False)


def _build(app: Flask) -> Queue:
    huey = make_huey(app.config)

    @huey.task(name="rollcall.run_job")
    def run_job(job_id: str) -> None:
        with app.app_context():
            execute(job_id)

    @huey.periodic_task(crontab(minute="*"), name="rollcall.recover_jobs")
    def recover_jobs() -> None:
        with app.app_context():
            recover()

    for schedule, name, fn in PERIODIC:
        huey.periodic_task(schedule, name=name)(_in_app(app, fn))

    return Queue(huey, run_job, Store(huey))


def _in_app(app: Flask, fn: Callable[[], None]) -> Callable[[], None]:
    def run() -> None:
        with app.app_context():
            fn()

    run.__name__ = fn.__name__
    return run


def queue(app: Flask | None = None) -> Queue:
    """This app's queue, built on first use (so an app that never queues anything opens no queue file)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    found = app.extensions.get(EXTENSION)
    if found is None:
        found = app.extensions[EXTENSION] = _build(app)
    return found


def init_app(app: Flask) -> None:
    """Enqueue submitted jobs when their transaction commits; forget them when it rolls back."""
    app.extensions.setdefault(EXTENSION, None)
    if not sa.event.contains(db.session, "after_commit", _enqueue_pending):
        sa.event.listen(db.session, "after_commit", _enqueue_pending)
        sa.event.listen(db.session, "after_soft_rollback", _forget_pending)


def _enqueue_pending(session: Any) -> None:
    pending = session.info.pop(PENDING, None)
    if pending:
        q = queue()
        for job_id in pending:
            q.run_job(job_id)


def _forget_pending(session: Any, previous_transaction: Any) -> None:
    if previous_transaction.parent is None:
        session.info.pop(PENDING, None)


def submit(
    kind: str,
    *,
    by: User | None,
    subject: str | None = None,
    params: dict[str, Any] | None = None,
    campus_id: int | None = None,
) -> Job:
    """Record a job (queued) in the session; it is enqueued once the caller's transaction commits."""
    if kind not in HANDLERS:
        raise KeyError(f"No job handler {kind!r}")
    job = Job(
        kind=kind,
        status=JobStatus.queued,
        requested_by_id=by.id if by is not None else None,
        subject=subject,
        params=params or {},
        campus_id=campus_id,
        created_at=utcnow(),
    )
    db.session.add(job)
    db.session.flush()
    db.session.info.setdefault(PENDING, []).append(job.id)
    return job


def latest(subject: str) -> Job | None:
    """The newest job about a subject ("import_run:12")."""
    return db.session.scalar(
        sa.select(Job).where(Job.subject == subject).order_by(Job.created_at.desc(), Job.id.desc()).limit(1)
    )


def live(job: Job) -> Snapshot:
    """A job's progress now: from the queue's store while it runs, from its record once it has stopped."""
    if job.status is JobStatus.running:
        found = queue().store.read(job.id)
        if found is not None:
            return found
    started = (job.started_at or job.created_at).timestamp()
    ended = (job.finished_at.timestamp() if job.finished_at else time.time()) if job.finished else time.time()
    phase = (job.result or {}).get("phase", "")
    return Snapshot(done=job.done, total=job.total, phase=phase, phase_started=started, at=ended)


# --- the worker's side ---------------------------------------------------------------------------------------

_TOKEN = secrets.token_hex(4)


def worker_name() -> str:
    """host:pid:token of this process (the token tells this process from an earlier one given the same pid)."""
    return f"{socket.gethostname()}:{os.getpid()}:{_TOKEN}"[:120]


def _claim(job_id: str) -> bool:
    """Move a queued job to running for this worker, in one statement: a second delivery finds it taken."""
    claimed = cast(
        sa.CursorResult,
        db.session.execute(
            sa.update(Job)
            .where(Job.id == job_id, Job.status == JobStatus.queued)
            .values(
                status=JobStatus.running,
                started_at=utcnow(),
                worker=worker_name(),
                attempts=Job.attempts + 1,
                error=None,
            )
        ),
    ).rowcount
    db.session.commit()
    return bool(claimed)


def execute(job_id: str) -> None:
    """Run one job: claim it, run its handler with progress, and record done (with its result, in the handler's
    own transaction) or failed (with the reason, its work rolled back)."""
    if not _claim(job_id):
        db.session.rollback()
        return
    job = db.session.get(Job, job_id)
    assert job is not None
    fn = HANDLERS.get(job.kind)
    progress = Progress(job.id, queue().store)
    ctx = Context(job.id, job.kind, job.subject, dict(job.params or {}), job.requested_by_id, progress)
    # The claim's transaction ends here, so a handler that only reads starts its own (see Context).
    db.session.commit()
    progress.start()
    started = time.perf_counter()
    try:
        if fn is None:
            raise DomainError(f"This server does not know how to run a {ctx.kind!r} job.")
        result = dict(fn(ctx) or {})
        snap = progress.snapshot
        result.setdefault("phase", snap.phase)
        result.setdefault("seconds", round(time.perf_counter() - started, 3))
        job = db.session.get(Job, job_id)
        assert job is not None
        job.status, job.finished_at, job.result = JobStatus.done, utcnow(), result
        job.done, job.total = snap.done, snap.total if snap.total is not None else snap.done
        db.session.commit()
    except Exception as exc:
        db.session.rollback()
        if not isinstance(exc, DomainError):
            log.exception("job %s (%s) failed", job_id, ctx.kind)
        _fail(job_id, _reason(exc), progress)
    finally:
        progress.stop()


def _reason(exc: Exception) -> str:
    if isinstance(exc, DomainError):
        return exc.message
    text = str(exc)
    return f"{type(exc).__name__}: {text}"[:2000] if text else type(exc).__name__


def _fail(job_id: str, reason: str, progress: Progress | None = None) -> None:
    job = db.session.get(Job, job_id)
    if job is None:
        return
    job.status, job.finished_at, job.error = JobStatus.failed, utcnow(), reason
    if progress is not None:
        job.done, job.total = progress.done, progress.total
    db.session.commit()


def _worker_dead(job: Job, store: Store, now: float, stale: float) -> bool:
    """Whether the worker that claimed a running job has gone: on this host, its process is no more (or it is an
    earlier process that had this one's pid); elsewhere, its progress has not been touched for `stale` seconds."""
    host, _, rest = (job.worker or "").partition(":")
    pid_text, _, token = rest.partition(":")
    if host == socket.gethostname() and pid_text.isdigit():
        pid = int(pid_text)
        if pid == os.getpid():
            return token != _TOKEN
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        except PermissionError:
            return False
        return False
    seen = store.read(job.id)
    last = seen.at if seen is not None else (job.started_at or job.created_at).timestamp()
    return now - last > stale


def recover(*, stale: float = STALE) -> list[str]:
    """Jobs left `running` by a worker that died: queued again (their work was rolled back with the worker), or
    failed with the reason once they have been started MAX_ATTEMPTS times. Returns the ids queued again."""
    store = queue().store
    now = time.time()
    if not db.session().in_transaction():
        # Looking is a read: on SQLite it must not wait for the write lock a running import holds.
        db.session.connection(execution_options={"snapshot": True})
    running = db.session.scalars(sa.select(Job).where(Job.status == JobStatus.running))
    orphans = [job.id for job in running if _worker_dead(job, store, now, stale)]
    db.session.rollback()
    again: list[str] = []
    for job_id in orphans:
        job = db.session.get(Job, job_id)
        if job is None or job.status is not JobStatus.running:
            continue
        if job.attempts >= MAX_ATTEMPTS:
            job.status, job.finished_at = JobStatus.failed, utcnow()
            job.error = f"The worker stopped while running this job, {job.attempts} times; it was not tried again."
            log.warning("job %s failed: its worker died %s times", job.id, job.attempts)
        else:
            log.warning("job %s queued again: its worker %s died", job.id, job.worker)
            job.status, job.worker = JobStatus.queued, None
            db.session.info.setdefault(PENDING, []).append(job.id)
            again.append(job.id)
    db.session.commit()
    return again


def retry(job: Job) -> None:
    """Queue a failed job again (a person asked to): its attempts start over."""
    if job.status is not JobStatus.failed:
        raise DomainError("Only a failed job can be tried again.")
    job.status, job.error, job.finished_at, job.worker, job.attempts = JobStatus.queued, None, None, None, 0
    job.done, job.total = 0, None
    db.session.info.setdefault(PENDING, []).append(job.id)


def can_see(user: User, job: Job) -> bool:
    """The person who asked sees their job; so do admins: district-wide ones every job, campus admins the jobs of
    their campuses. Everyone else, and a job nobody may see, answers as if it did not exist."""
    if job.requested_by_id is not None and job.requested_by_id == user.id:
        return True
    if user.role is not Role.admin:
        return False
    if user.district_wide:
        return True
    return job.campus_id is not None and user.can_see_campus(job.campus_id)
