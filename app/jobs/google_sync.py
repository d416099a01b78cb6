"""The Google sync on the queue: "google.sync" runs one sync (app.services.google_sync), "google.write_back" sends
what Rollcall knows back to Google when the district has switched that on (after each good sync, or on demand),
and a tick every five minutes starts a sync when the interval an admin set has passed (full when one is due)."""

from __future__ import annotations

from typing import Any

from huey import crontab

from app.extensions import db
from app.integrations.google_directory import GoogleError
from app.jobs.core import Context, handler, periodic, submit
from app.models import Job, User
from app.services import google_sync, google_write_back
from app.services.errors import DomainError

SYNC = google_sync.SYNC_JOB
WRITE_BACK = "google.write_back"
SUBJECT = "google_sync"
WRITE_BACK_SUBJECT = "google_write_back"


def submit_sync(*, by: User | None, full: bool | None, dry_run: bool = False, trigger: str = "manual") -> Job:
    """Queue a sync run (enqueued when the caller commits)."""
    return submit(SYNC, by=by, subject=SUBJECT, params={"full": full, "dry_run": dry_run, "trigger": trigger})


@handler(SYNC)
def sync(ctx: Context) -> dict[str, Any]:
    by = db.session.get(User, ctx.requested_by_id) if ctx.requested_by_id else None
    options = google_sync.Options(
        full=ctx.params.get("full"),
        dry_run=bool(ctx.params.get("dry_run")),
        trigger=str(ctx.params.get("trigger") or "manual"),
        by=by,
        job_id=ctx.id,
    )
    record = google_sync.run(options, holder=ctx.id, progress=ctx.progress)
    if record.status.value == "done" and not record.dry_run and google_sync.state().write_back:
        submit_write_back(by=by)
    return {
        "run": record.id,
        "status": record.status.value,
        "full": record.full,
        "devices": record.devices,
        "created": record.created,
        "updated": record.updated,
        "removed": record.removed,
        "summary": (record.report or {}).get("summary", record.error or ""),
    }


def submit_write_back(*, by: User | None) -> Job:
    return submit(WRITE_BACK, by=by, subject=WRITE_BACK_SUBJECT)


@handler(WRITE_BACK)
def write_back(ctx: Context) -> dict[str, Any]:
    """Send the waiting changes; what Google confirmed is committed call by call, so a failure keeps the rest."""
    by = db.session.get(User, ctx.requested_by_id) if ctx.requested_by_id else None
    try:
        return {"sent": google_write_back.send(by=by)}
    except GoogleError as exc:
        raise DomainError(str(exc)) from exc


@periodic(crontab(minute="*/5"), "rollcall.google_sync_tick")
def tick() -> None:
    """Start a scheduled sync when one is due."""
    options = google_sync.due()
    if options is None:
        db.session.rollback()
        return
    submit_sync(by=None, full=options.full, trigger="schedule")
    db.session.commit()
