"""Roster jobs: the dry run of an uploaded OneRoster export, and its import, run by the worker.

The upload on /people parks the files (users.csv, orgs.csv, enrollments.csv as one zip) in an ImportRun and submits
"roster.check"; the import button submits "roster.apply". Each reads users.csv row by row, reporting rows done of
its total, and leaves what it found in the run's report. The apply checks the files again against the people
Rollcall has then and writes all of it or none of it: its writes, the run's state and the job's record are
committed together, so a worker killed half way leaves the roster as it was and the job can run again.
"""

from __future__ import annotations

from typing import Any

from app.extensions import db
from app.jobs.core import Context, handler, latest, submit
from app.jobs.progress import count_rows
from app.models import ImportRun, ImportState, Job, User, Via, utcnow
from app.services import roster
from app.services.errors import DomainError

CHECK = "roster.check"
APPLY = "roster.apply"
READING = "Checking people"
WRITING = "Importing people"


def subject(run: ImportRun) -> str:
    return f"import_run:{run.id}"


def job_for(run: ImportRun) -> Job | None:
    """The newest job about this run (its dry run, or its import)."""
    return latest(subject(run))


def submit_check(
    run: ImportRun, *, by: User, campus_code: str | None, campus_id: int | None, deactivate_missing: bool
) -> Job:
    params = {"run": run.id, "campus": campus_code, "deactivate_missing": deactivate_missing}
    return submit(CHECK, by=by, subject=subject(run), params=params, campus_id=campus_id)


def submit_apply(run: ImportRun, *, by: User) -> Job:
    return submit(APPLY, by=by, subject=subject(run), params={"run": run.id}, campus_id=None)


def _run(ctx: Context) -> ImportRun:
    run = db.session.get(ImportRun, ctx.params.get("run"))
    if run is None or run.content is None:
        raise DomainError("The uploaded files are no longer kept; upload them again.")
    return run


def _files(run: ImportRun) -> roster.RosterFiles:
    files = roster.files_from_upload(run.content or b"", None, "upload.zip")
    files.name = run.filename
    return files


def _import(run: ImportRun, ctx: Context, options: dict[str, Any], *, dry_run: bool) -> roster.RosterReport:
    """The importer over the parked files as the person who asked."""
    files = _files(run)
    ctx.progress.phase(READING if dry_run else WRITING, count_rows(files.users))
    return roster.import_roster(
        files,
        by=ctx.requester(),
        via=Via.web,
        campus_code=options.get("campus"),
        dry_run=dry_run,
        deactivate_missing=bool(options.get("deactivate_missing")),
        progress=ctx.progress,
    )


def _summary(report: roster.RosterReport, **extra: Any) -> dict[str, Any]:
    return {"rows": report.rows, "counts": report.counts(), "summary": report.summary(), **extra}


@handler(CHECK)
def check(ctx: Context) -> dict[str, Any]:
    """The dry run: every change, every bad row, who would leave; nothing written but the run's report."""
    # It only reads until the end, so on SQLite it does not hold the write lock while it reads.
    db.session.connection(execution_options={"snapshot": True})
    options = {"campus": ctx.params.get("campus"), "deactivate_missing": ctx.params.get("deactivate_missing")}
    report = _import(_run(ctx), ctx, options, dry_run=True)
    found = report.to_json()
    db.session.rollback()
    run = _run(ctx)
    run.report = {**found, "options": options}
    return _summary(report, dry_run=True)


@handler(APPLY)
def apply(ctx: Context) -> dict[str, Any]:
    """Import checked files: all of them, or (a row now bad) none, the run's report then being that new check."""
    run = db.session.get(ImportRun, ctx.params.get("run"))
    if run is not None and run.state is ImportState.applied:
        return {"applied": True, "already": True}
    run = _run(ctx)
    options = (run.report or {}).get("options", {})
    report = _import(run, ctx, options, dry_run=False)
    applied = report.ok
    if not applied:
        db.session.rollback()
        run = _run(ctx)
    run.report = {**report.to_json(), "options": options}
    if applied:
        run.state, run.applied_at, run.content = ImportState.applied, utcnow(), None
    return _summary(report, applied=applied, errors=len(report.errors))
