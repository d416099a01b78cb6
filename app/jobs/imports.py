"""Import jobs: the dry run of an uploaded Google Admin or Snipe-IT file, and its apply, run by the worker.

The upload view parks the file in its ImportRun and submits "import.check"; the apply button submits
"import.apply". Each reads the parked file row by row, reporting rows done of the file's total, and leaves what it
found in the run's report. An apply is all or nothing: its writes, the run's state and the job's own record are
committed together, so a worker killed half way leaves the inventory as it was and the job can run again. Asked
to skip bad rows, it applies the good rows alone (the dry run's bad rows blanked out of the file), all or nothing
too. Every file is read with the column names the admin gave that kind of file.
"""

from __future__ import annotations

from typing import IO, Any

from app.extensions import db
from app.jobs.core import Context, handler, latest, submit
from app.jobs.progress import count_rows
from app.models import Campus, ImportKind, ImportRun, ImportState, Job, User, utcnow
from app.services import google_admin, importing, snipeit
from app.services.csvio import mapped, read_table
from app.services.errors import DomainError

CHECK = "import.check"
APPLY = "import.apply"
READING = "Checking rows"

# The columns without which a file cannot be read at all: told on the upload form at once, not by a job.
REQUIRED = {
    ImportKind.google_admin: (google_admin.ALIASES, ["serial"]),
    ImportKind.snipeit: (snipeit.ALIASES, ["asset_tag", "serial"]),
}


def check_header(kind: ImportKind, upload: IO[bytes]) -> None:
    """Read an upload's header only (HeaderError when a required column is missing); the stream is put back."""
    aliases, required = REQUIRED[kind]
    upload.seek(0)
    try:
        read_table(mapped(upload, importing.mapping_for(kind)), aliases, required=required)
    finally:
        upload.seek(0)


def subject(run: ImportRun) -> str:
    return f"import_run:{run.id}"


def job_for(run: ImportRun) -> Job | None:
    """The newest job about this run (its dry run, or its apply)."""
    return latest(subject(run))


def submit_check(run: ImportRun, *, by: User, campus_id: int | None) -> Job:
    return submit(CHECK, by=by, subject=subject(run), params={"run": run.id, "campus_id": campus_id})


def submit_apply(run: ImportRun, *, by: User, skip_bad_rows: bool = False) -> Job:
    return submit(APPLY, by=by, subject=subject(run), params={"run": run.id, "skip_bad_rows": skip_bad_rows})


def _run(ctx: Context) -> ImportRun:
    run = db.session.get(ImportRun, ctx.params.get("run"))
    if run is None:
        raise DomainError("The uploaded file is no longer kept; upload it again.")
    return run


def _import(
    run: ImportRun,
    source: IO[bytes],
    user: User,
    ctx: Context,
    *,
    dry_run: bool,
    campus_id: int | None,
    approved: bytes | None = None,
) -> Any:
    """Run the importer over the file as the person who asked; HeaderError propagates (and fails the job)."""
    ctx.progress.phase(READING, count_rows(source))
    source = mapped(source, importing.mapping_for(run.kind))
    if run.kind is ImportKind.google_admin:
        return google_admin.run(
            source,
            by=user,
            campus_ids=user.campus_ids,
            dry_run=dry_run,
            filename=run.filename,
            approved=approved,
            progress=ctx.progress,
        )
    return snipeit.run(
        source,
        by=user,
        campus_ids=user.campus_ids,
        default_campus=db.session.get(Campus, campus_id) if campus_id else None,
        dry_run=dry_run,
        filename=run.filename,
        approved=approved,
        progress=ctx.progress,
    )


def _summary(report: Any, **extra: Any) -> dict[str, Any]:
    return {"rows": report.rows, "counts": report.counts(), "summary": report.summary(), **extra}


def _dry_run(ctx: Context, campus_id: int | None, **extra: Any) -> Any:
    """Check the run's parked file and keep, beside it, its plan and its bad rows as a CSV to fix."""
    run, user = _run(ctx), ctx.requester()
    source, _ = run.parked()
    report = _import(run, source, user, ctx, dry_run=True, campus_id=campus_id)
    plan, found, bad = report.plan.to_bytes(), report.to_json(), importing.bad_lines(report)
    db.session.rollback()
    run = _run(ctx)
    rejected = "".join(importing.rejected_csv(run.parked()[0], bad)).encode() if bad else b""
    run.park(run.parked()[0], plan, rejected)
    run.report = {**found, "campus_id": campus_id, **extra}
    return report


@handler(CHECK)
def check(ctx: Context) -> dict[str, Any]:
    """The dry run: every change and every bad row, nothing written but the run's report and plan."""
    # It only reads until the end, so on SQLite it does not hold the write lock while it reads.
    db.session.connection(execution_options={"snapshot": True})
    report = _dry_run(ctx, ctx.params.get("campus_id"))
    return _summary(report, dry_run=True)


@handler(APPLY)
def apply(ctx: Context) -> dict[str, Any]:
    """Apply a checked file: all of it, or none of it if any row would now do something other than its dry run
    said (the run's report is then that new dry run, to be read and applied)."""
    run, user = _run(ctx), ctx.requester()
    if run.state is ImportState.applied:
        return {"applied": True, "already": True}
    campus_id = (run.report or {}).get("campus_id")
    source, approved = run.parked()
    rejected, skipped = None, 0
    if ctx.params.get("skip_bad_rows") and approved:
        rejected, skipped = run.rejected(), importing.skipped_count(approved)
        source, approved = importing.good_rows_only(source, approved)
    # A file parked before dry runs kept their plan has nothing to compare with: it is checked again.
    report = _import(run, source, user, ctx, dry_run=False, campus_id=campus_id, approved=approved or b"")
    applied = report.ok and not report.different
    if not applied:
        # None of the file is applied: its writes roll back, and the run alone records what this check found.
        db.session.rollback()
        run = _run(ctx)
    if report.different and skipped:
        # The good rows changed under the dry run: the whole file is checked again, bad rows and all.
        db.session.rollback()
        recheck = _dry_run(ctx, campus_id, rechecked=True)
        run = _run(ctx)
        run.report = {**(run.report or {}), "different": report.different, "differences": report.differences}
        return _summary(recheck, applied=False, different=report.different, errors=recheck.bad_rows)
    if report.different:
        run.park(source, report.plan.to_bytes())
        report.dry_run = True
        run.report = {**report.to_json(), "campus_id": campus_id, "rechecked": approved is not None}
    else:
        run.report = {**report.to_json(), "campus_id": campus_id, "skipped": skipped}
    if applied:
        run.state = ImportState.applied
        run.applied_at = utcnow()
        run.applied_leaving(rejected)
    return _summary(report, applied=applied, different=report.different, errors=report.bad_rows, skipped=skipped)
