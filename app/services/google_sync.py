"""The live Google sync: the fleet read from the Directory API and applied by the same rules as the Google Admin
import (app.services.google.fleet), on a schedule, on demand, or from the command line.

A run is all or nothing. It streams Google's pages into one apply whose writes are flushed in one transaction,
committed with the run's record only once every page has been read: a run that fails half way (Google refusing,
a worker killed) leaves the inventory exactly as the last good run left it, and the next run (the job queued
again, or the next tick) starts over. Page tokens are not saved to resume from, because the devices Google no
longer has are only known from a complete listing, and the state's `last_success_at` moves only with a good run,
so an incremental run after a failure still asks for everything since the last good one.

Two runs never overlap, on any number of servers: a run first takes the lease on the district's state row (one
UPDATE that succeeds only when the lease is free, run out, or held by a job that has stopped) and commits it, and
gives it back in the same transaction as its work, or with its failure.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, cast

import sqlalchemy as sa
from flask import current_app

from app.extensions import db
from app.integrations.google_directory import Check, ChromeOsDevice, Directory, GoogleError, Settings, check
from app.integrations.google_directory import since_query as _since_query
from app.models import GoogleSyncRun, GoogleSyncState, Job, JobStatus, SyncRunStatus, User, Via, utcnow
from app.services import activity
from app.services.errors import DomainError, Invalid
from app.services.google import fleet

STATE_ID = 1
# A lease outlives any run (100,000 devices take about a minute); a run whose server died frees it after this.
LEASE = timedelta(minutes=30)
# "Nightly": a scheduled run is full when the last good full run is older than this.
FULL_EVERY = timedelta(hours=20)
# `sync:` takes dates, so an incremental run asks from the day before the last good run started.
OVERLAP = timedelta(days=1)
INTERVALS = (15, 30, 60, 120, 240, 480, 720, 1440)
TRIGGERS = ("schedule", "manual", "cli")
# Examples a run keeps in its report (its counts are always complete).
KEEP = 500
READING = "Reading devices from Google"
# The job kind that runs a sync (app.jobs.google_sync registers it).
SYNC_JOB = "google.sync"
STOPPED = "The run stopped before it finished (its server stopped); nothing it read was saved."


class Progress(Protocol):
    def phase(self, name: str, total: int | None = None) -> None: ...

    def __call__(self, done: int) -> None: ...


def settings() -> Settings:
    return Settings.from_config(current_app.config)


def state() -> GoogleSyncState:
    """The district's sync state (made on first use)."""
    found = db.session.get(GoogleSyncState, STATE_ID)
    if found is None:
        found = GoogleSyncState(id=STATE_ID)
        db.session.add(found)
        db.session.flush()
    return found


def _ensure_state() -> None:
    """The state row exists and is committed (the lease is taken by UPDATE), even when two servers start at once."""
    if db.session.get(GoogleSyncState, STATE_ID) is not None:
        return
    try:
        db.session.add(GoogleSyncState(id=STATE_ID))
        db.session.commit()
    except sa.exc.IntegrityError:
        db.session.rollback()


def test_connection() -> Check:
    """The connection test (with the write scope too when write-back is on), for the admin page and the CLI."""
    write = bool(db.session.get(GoogleSyncState, STATE_ID) and state().write_back)
    return check(settings(), write=write)


# --- the lease -----------------------------------------------------------------------------------------------


def holder_for_process() -> str:
    return f"cli:{socket.gethostname()}:{os.getpid()}"[:120]


def acquire(holder: str) -> bool:
    """Take the lease for holder and commit it: True when it was free, run out, already holder's, or held by a job
    that has stopped."""
    _ensure_state()
    now = utcnow()
    stopped = sa.select(Job.id).where(Job.status.in_([JobStatus.done, JobStatus.failed]))
    taken = cast(
        sa.CursorResult,
        db.session.execute(
            sa.update(GoogleSyncState)
            .where(
                GoogleSyncState.id == STATE_ID,
                sa.or_(
                    GoogleSyncState.lease_holder.is_(None),
                    GoogleSyncState.lease_until < now,
                    GoogleSyncState.lease_holder == holder,
                    GoogleSyncState.lease_holder.in_(stopped),
                ),
            )
            .values(lease_holder=holder, lease_until=now + LEASE)
        ),
    ).rowcount
    db.session.commit()
    return bool(taken)


def _release(holder: str) -> None:
    db.session.execute(
        sa.update(GoogleSyncState)
        .where(GoogleSyncState.id == STATE_ID, GoogleSyncState.lease_holder == holder)
        .values(lease_holder=None, lease_until=None)
    )


# --- a run ---------------------------------------------------------------------------------------------------


def full_due(st: GoogleSyncState, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return st.last_full_at is None or st.last_success_at is None or now - st.last_full_at >= FULL_EVERY


def _pages(directory: Directory, run: GoogleSyncRun, progress: Progress | None) -> Iterator[ChromeOsDevice]:
    """Every device of the listing, counting pages and devices on the run as they arrive."""
    for page in directory.pages(query=run.query):
        run.pages += 1
        run.devices += len(page.devices)
        run.retries = directory.retried
        yield from page.devices
        if progress is not None:
            progress(run.devices)


def _report(report: Any) -> dict[str, Any]:
    """What a run keeps of the apply's report: counts, and the first examples of each list."""
    found = report.to_json()
    return {
        "summary": report.summary(),
        "counts": report.counts(),
        "notes": found.get("notes", []),
        "errors": found.get("errors", [])[:KEEP],
        "changes": found.get("changes", [])[:KEEP],
        "not_in_google": found.get("not_in_google", [])[:KEEP],
        "not_in_google_count": found.get("not_in_google_count", 0),
        "not_in_rollcall": found.get("not_in_rollcall", [])[:KEEP],
        "not_in_rollcall_count": found.get("not_in_rollcall_count", 0),
        "unmapped_org_units": found.get("unmapped_org_units", [])[:KEEP],
        "mismatch_count": found.get("mismatch_count", 0),
    }


@dataclass
class Options:
    """What a run is asked to do: full (None: the schedule decides), a dry run, who asked and how."""

    full: bool | None = None
    dry_run: bool = False
    trigger: str = "manual"
    by: User | None = None
    job_id: str | None = None


def run(options: Options, *, holder: str, progress: Progress | None = None) -> GoogleSyncRun:
    """One sync run. Its work and record are left in the session for the caller to commit (the job queue, or the
    CLI); a failure is recorded and committed on its own, then raised as a DomainError with the reason."""
    conf = settings()
    if not conf.configured:
        raise DomainError(check(conf).message)
    if not acquire(holder):
        skipped = GoogleSyncRun(
            full=bool(options.full),
            dry_run=options.dry_run,
            trigger=options.trigger,
            requested_by_id=options.by.id if options.by else None,
            job_id=options.job_id,
            status=SyncRunStatus.skipped,
            finished_at=utcnow(),
            error="Another Google sync was running; this one did nothing.",
        )
        db.session.add(skipped)
        return skipped
    # Holding the lease, any run still marked running was cut off (its server stopped): none of it was committed.
    db.session.execute(
        sa.update(GoogleSyncRun)
        .where(GoogleSyncRun.status == SyncRunStatus.running)
        .values(status=SyncRunStatus.failed, finished_at=utcnow(), error=STOPPED)
    )
    st = state()
    full = full_due(st) if options.full is None else options.full
    since = None if full or st.last_success_at is None else (st.last_success_at - OVERLAP).date()
    record = GoogleSyncRun(
        full=since is None,
        dry_run=options.dry_run,
        trigger=options.trigger,
        requested_by_id=options.by.id if options.by else None,
        job_id=options.job_id,
        query=_since_query(since) if since else None,
        status=SyncRunStatus.running,
        started_at=utcnow(),
    )
    db.session.add(record)
    st.last_run_at = record.started_at
    # The run shows as running on every server while it works; its work is one transaction from here.
    db.session.commit()
    run_id = record.id
    try:
        return _work(record, conf, holder, progress)
    except GoogleError as exc:
        _failed(run_id, holder, exc.message, exc.google)
        raise DomainError(str(exc)) from exc
    except BaseException as exc:
        _failed(run_id, holder, "The sync stopped on an error in Rollcall.", f"{type(exc).__name__}: {exc}")
        raise


def _work(record: GoogleSyncRun, conf: Settings, holder: str, progress: Progress | None) -> GoogleSyncRun:
    directory = Directory(conf)
    if progress is not None:
        last = db.session.scalar(
            sa.select(GoogleSyncRun.devices)
            .where(GoogleSyncRun.status == SyncRunStatus.done, GoogleSyncRun.full.is_(True))
            .order_by(GoogleSyncRun.started_at.desc())
            .limit(1)
        )
        progress.phase(READING, last if record.full and last else None)
    by = db.session.get(User, record.requested_by_id) if record.requested_by_id else None
    report = fleet.apply(
        _pages(directory, record, progress),
        by=by,
        source=f"Google sync ({'full' if record.full else 'changes since ' + (record.query or '')[5:15]})",
        dry_run=record.dry_run,
        full=record.full,
        skip_bad_rows=True,
        via=Via.sync,
        action="google.sync",
    )
    record.retries = directory.retried
    record.created, record.updated, record.unchanged = report.created, report.updated, report.unchanged
    record.removed = report.not_in_google_count if record.full else 0
    record.report = _report(report)
    record.status, record.finished_at = SyncRunStatus.done, utcnow()
    st = state()
    if not record.dry_run:
        st.last_success_at = record.started_at
        if record.full:
            st.last_full_at = record.started_at
    st.failing_since, st.last_error = None, None
    _release(holder)
    db.session.flush()
    return record


def _failed(run_id: int, holder: str, message: str, google: str) -> None:
    """Roll back the run's work, then record (and commit) that it failed, in Google's words too."""
    db.session.rollback()
    record = db.session.get(GoogleSyncRun, run_id)
    now = utcnow()
    if record is not None:
        record.status, record.finished_at = SyncRunStatus.failed, now
        record.error, record.google_error = message[:2000], (google or None) and google[:4000]
    st = state()
    if st.failing_since is None:
        st.failing_since = record.started_at if record is not None else now
    st.last_error = f"{message} (Google said: {google})" if google else message
    _release(holder)
    db.session.commit()


# --- the schedule and settings -------------------------------------------------------------------------------


def due(now: datetime | None = None) -> Options | None:
    """What the schedule should start now (a full run when one is due), or None: not set up, a run under way or
    queued, or the interval not yet passed since the last run started."""
    if not settings().configured:
        return None
    now = now or utcnow()
    st = state()
    if busy(now):
        return None
    if st.last_run_at is not None and now - st.last_run_at < timedelta(minutes=st.interval_minutes):
        return None
    return Options(full=full_due(st, now), trigger="schedule")


def busy(now: datetime | None = None) -> bool:
    """A run holds the lease, or a sync job waits for a worker or runs."""
    now = now or utcnow()
    st = db.session.get(GoogleSyncState, STATE_ID)
    if st is not None and st.lease_holder is not None and st.lease_until is not None and st.lease_until > now:
        return True
    waiting = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(Job)
        .where(Job.kind == SYNC_JOB, Job.status.in_([JobStatus.queued, JobStatus.running]))
    )
    return bool(waiting)


def set_interval(minutes: int, *, by: User) -> GoogleSyncState:
    if minutes not in INTERVALS:
        raise Invalid("Choose one of the intervals offered.", field="interval")
    st = state()
    before = st.interval_minutes
    st.interval_minutes = minutes
    if before != minutes:
        activity.record(
            "google.settings",
            f"Google sync every {minutes} minutes (was {before})",
            by=by,
            via=Via.web,
            before={"interval_minutes": before},
            after={"interval_minutes": minutes},
        )
    return st


def failing() -> GoogleSyncState | None:
    """The state when the sync is failing (for the dashboard), else None."""
    st = db.session.get(GoogleSyncState, STATE_ID)
    return st if st is not None and st.failing_since is not None else None


def recent_runs(limit: int = 20) -> list[GoogleSyncRun]:
    return list(
        db.session.scalars(
            sa.select(GoogleSyncRun).order_by(GoogleSyncRun.started_at.desc(), GoogleSyncRun.id.desc()).limit(limit)
        )
    )
