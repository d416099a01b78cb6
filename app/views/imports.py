"""Admin imports: upload a Google Admin or Snipe-IT CSV, read the dry run, apply it (or only its good rows);
name the columns of a file whose headers are not the usual ones; the bad rows, the mismatch list and the export
as CSV.

The dry run and the apply are jobs (app.jobs.imports): the page shows their progress until they finish.
"""

from __future__ import annotations

import secrets
from datetime import date

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, request, stream_with_context, url_for
from flask_login import current_user

from app.extensions import db
from app.jobs import imports as import_jobs
from app.models import ImportKind, ImportRun, ImportState, Job, JobStatus
from app.services import importing, snipeit
from app.services.csvio import FileTooLarge, HeaderError, has_text, size_words, too_large_message, write_csv
from app.services.google import mismatches as mismatch_list
from app.views.jobs import progress_context
from app.web import can, committing, permission_required, render, see_other
from app.web.args import page_arg, whole
from app.web.errors import error_response
from app.web.loaders import visible_campuses

bp = Blueprint("imports", __name__, url_prefix="/imports")

KINDS = {"google-admin": ImportKind.google_admin, "snipeit": ImportKind.snipeit}
PER_PAGE = 50


@bp.url_value_preprocessor
def _import_sized_body(endpoint: str | None, values: dict | None) -> None:
    # Uploads may be as large as the import limit, above the app's. This runs before any before_request
    # function, and the CSRF check there is what first reads the body.
    if endpoint == "imports.upload":
        limit = request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
        if (request.content_length or 0) > limit:
            raise FileTooLarge(limit, field=f"{(values or {}).get('kind')}-file")


@bp.errorhandler(FileTooLarge)
def too_large(exc: FileTooLarge):
    """An upload over the limit: the import page again, with the limit on the file's field."""
    db.session.rollback()
    if not can("imports.run") or exc.field not in (f"{kind}-file" for kind in KINDS):
        return error_response(413, exc.message)
    return _index_page({exc.field: exc.message}, 413)


def _run_or_404(token: str) -> ImportRun:
    """An import run by its token, for the admin who uploaded it or a district-wide admin; 404 otherwise."""
    run = db.session.scalar(sa.select(ImportRun).where(ImportRun.token == token))
    if run is None or not (run.created_by_id == current_user.id or current_user.district_wide):
        abort(404)
    return run


def _visible_campus(campus_id: int | None) -> None:
    """A campus chosen on the form must be one of the user's (404 otherwise, like a campus that does not exist)."""
    if campus_id and not current_user.can_see_campus(campus_id):
        abort(404)


def _finished_job(run: ImportRun) -> Job | None:
    """The run's newest job when it has already finished (a small file, or tests' immediate queue)."""
    job = import_jobs.job_for(run)
    return job if job is not None and job.finished else None


def _index_page(errors: dict[str, str] | None = None, status: int = 200, mapping: dict | None = None):
    limit = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
    runs = db.session.scalars(
        sa.select(ImportRun)
        .where(sa.true() if current_user.district_wide else ImportRun.created_by_id == current_user.id)
        .order_by(ImportRun.created_at.desc(), ImportRun.id.desc())
        .limit(20)
    )
    return render(
        "imports/index.html",
        errors=errors or {},
        runs=list(runs),
        campuses=visible_campuses(),
        max_bytes=limit,
        max_size=size_words(limit),
        too_large=too_large_message(limit),
        mapping=mapping,
        status=status,
    )


def _mapping_form(kind: str, run: ImportRun, exc: HeaderError, campus_id: int | None, errors: dict | None = None):
    """The upload page again, the file's error on its field and, below it, a question for each missing column:
    which of the file's own headers it is."""
    form = {"kind": kind, "token": run.token, "missing": exc.missing, "headers": exc.headers, "campus": campus_id}
    return _index_page({f"{kind}-file": str(exc), **(errors or {})}, 422, mapping=form)


@bp.get("")
@permission_required("imports.run")
def index():
    return _index_page()


@bp.post("/<kind>")
@permission_required("imports.run")
def upload(kind: str):
    """Store the file and show its dry run: every change and every bad row, nothing written to the inventory."""
    if kind not in KINDS:
        abort(404)
    file = request.files.get("file")
    key = f"{kind}-file"
    if file is None or not file.filename:
        return _index_page({key: "Choose a CSV file to upload."}, 422)
    # Werkzeug spools a large upload to a temporary file; it is read from there, row by row, never whole.
    upload = file.stream
    if not has_text(upload):
        return _index_page({key: "That file is empty."}, 422)
    campus_id = whole(request.form.get("campus"))
    if request.form.get("campus") and campus_id is None:
        return _index_page({key: "Choose a campus from the list."}, 422)
    _visible_campus(campus_id)
    run = ImportRun(
        kind=KINDS[kind],
        filename=(file.filename or "")[:255],
        token=secrets.token_hex(16),
        created_by_id=current_user.id,
    )
    try:
        import_jobs.check_header(KINDS[kind], upload)
    except HeaderError as exc:
        if not exc.missing:
            return _index_page({key: str(exc)}, 422)
        # Kept (not checked) so the admin can say which columns are which without uploading it again.
        with committing():
            run.park(upload, b"")
            db.session.add(run)
        return _mapping_form(kind, run, exc, campus_id)
    with committing():
        # Parked now, checked by the job: the dry run then keeps its plan beside the file.
        run.park(upload, b"")
        db.session.add(run)
        db.session.flush()
        import_jobs.submit_check(run, by=current_user, campus_id=campus_id)
    return see_other(url_for("imports.run", token=run.token))


@bp.post("/runs/<token>/columns")
@permission_required("imports.run")
def columns(token: str):
    """Name the file's columns (remembered for every file of its kind), then check it like any upload."""
    found = _run_or_404(token)
    kind = next(k for k, v in KINDS.items() if v is found.kind)
    campus_id = whole(request.form.get("campus"))
    _visible_campus(campus_id)
    if found.report is not None or found.state is ImportState.applied or import_jobs.job_for(found) is not None:
        return see_other(url_for("imports.run", token=found.token))
    source, _ = found.parked()
    try:
        import_jobs.check_header(found.kind, source)
        return _submit_check(found, campus_id)
    except HeaderError as exc:
        missing = exc
    chosen = {name: request.form.get(f"column-{name}", "") for name in missing.missing}
    with committing() as outcome:
        importing.remember_mapping(found.kind, importing.chosen_columns(missing, chosen), by=current_user)
    if outcome.refused:
        return _mapping_form(kind, found, missing, campus_id, {outcome.refused.field: outcome.refused.message})
    try:
        import_jobs.check_header(found.kind, found.parked()[0])
    except HeaderError as exc:
        return _mapping_form(kind, found, exc, campus_id)
    return _submit_check(found, campus_id)


def _submit_check(found: ImportRun, campus_id: int | None):
    with committing():
        import_jobs.submit_check(found, by=current_user, campus_id=campus_id)
    return see_other(url_for("imports.run", token=found.token))


@bp.get("/runs/<token>")
@permission_required("imports.run")
def run(token: str):
    found = _run_or_404(token)
    return _run_page(found, import_jobs.job_for(found))


def _run_page(found: ImportRun, job: Job | None, status: int = 200):
    """An import run's page: its newest job's progress (or outcome) above what its dry run or apply found."""
    progress = progress_context(job) if job is not None else {"job": None}
    return render("imports/run.html", run=found, status=status, **progress)


@bp.post("/runs/<token>/apply")
@permission_required("imports.run")
def apply(token: str):
    """Apply a checked file, as a job: all of it, or none of it if the inventory changed since the dry run so that
    any row would now do something else (the dry run is then shown again, as it now stands, to be read and
    applied). With `skip_bad_rows`, the good rows alone, on the same terms. A job already running for the file is
    not started twice."""
    found = _run_or_404(token)
    job = import_jobs.job_for(found)
    busy = job is not None and not job.finished
    if found.state is ImportState.applied or busy or found.report is None:
        return see_other(url_for("imports.run", token=found.token))
    skip = request.form.get("skip_bad_rows") == "1"
    with committing():
        import_jobs.submit_apply(found, by=current_user, skip_bad_rows=skip)
    found = _run_or_404(token)
    job = _finished_job(found)
    if job is None:
        return see_other(url_for("imports.run", token=found.token))
    result = job.result or {}
    if job.status is JobStatus.done and result.get("applied"):
        return see_other(url_for("imports.run", token=found.token))
    status = 409 if result.get("different") else 422
    return _run_page(found, job, status)


@bp.get("/google-admin/mismatches")
@permission_required("imports.run")
def mismatches():
    """Devices whose most recent Google user is not the person they are assigned to (live, on your campuses);
    `?expected=1` lists those marked as expected instead. Each row carries its actions (app.views.google)."""
    expected = request.args.get("expected") == "1"
    page = db.paginate(
        mismatch_list.mismatches(current_user, expected=expected),
        page=page_arg(),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render(
        "imports/mismatches.html",
        "imports/_mismatches.html",
        page=page,
        rows=mismatch_list.rows(page.items, current_user),
        expected=expected,
        args={"expected": "1"} if expected else {},
    )


@bp.get("/google-admin/mismatches.csv")
@permission_required("imports.run")
def mismatches_csv():
    # Built here (it reads the user's campuses); run inside the generator while the response streams.
    expected = request.args.get("expected") == "1"
    stmt = mismatch_list.mismatches(current_user, expected=expected).execution_options(yield_per=1000)

    def rows():
        for a in db.session.scalars(stmt):
            who = a.assigned_to
            yield [
                a.asset_tag,
                a.serial,
                a.status.value,
                a.campus.code,
                a.google_recent_user,
                who.name if who else "",
                (who.email or "") if who else "",
            ]

    header = ["Asset Tag", "Serial Number", "Status", "Campus", "Most Recent User", "Assigned To", "Assignee Email"]
    return _csv(write_csv(header, rows()), "google-mismatches")


@bp.get("/runs/<token>/<part>.csv")
@permission_required("imports.run")
def run_csv(token: str, part: str):
    """One list of a Google import's reconciliation as CSV."""
    run = _run_or_404(token)
    columns = {
        "not_in_rollcall": ["line", "serial", "model", "annotated_asset_id", "org_unit", "recent_user"],
        "not_in_google": ["asset_tag", "serial", "status"],
        "mismatches": ["asset_tag", "serial", "recent_user", "assigned_to", "assigned_email"],
        "errors": ["line", "column", "message"],
    }.get(part)
    if columns is None:
        abort(404)
    items = (run.report or {}).get(part, [])
    return _csv(write_csv(columns, ([item.get(c) for c in columns] for item in items)), f"import-{part}")


@bp.get("/runs/<token>/rejected.csv")
@permission_required("imports.run")
def rejected_csv(token: str):
    """The rows the dry run found bad, with the file's own columns and an `error` column: fix, upload again."""
    rejected = _run_or_404(token).rejected()
    if rejected is None:
        abort(404)
    resp = Response(rejected, mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="rejected-rows-{date.today().isoformat()}.csv"'
    return resp


@bp.get("/export/assets.csv")
@permission_required("assets.export")
def export_assets():
    """Every device on the user's campuses as a CSV Snipe-IT's importer accepts."""
    return _csv(snipeit.export_csv(current_user.campus_ids), "rollcall-assets")


def _csv(chunks, name: str) -> Response:
    resp = Response(stream_with_context(chunks), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="{name}-{date.today().isoformat()}.csv"'
    return resp
