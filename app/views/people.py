"""Students and staff: the roster list, a person's page (devices, loans, history), and the OneRoster upload."""

from __future__ import annotations

import json
import secrets

import sqlalchemy as sa
from flask import Blueprint, Response, abort, current_app, flash, request, url_for
from flask_login import current_user

from app.extensions import db
from app.jobs import roster as roster_jobs
from app.models import (
    Activity,
    Asset,
    Assignment,
    Condition,
    ImportKind,
    ImportRun,
    ImportState,
    Person,
    PersonKind,
    Via,
)
from app.services import assets as asset_service
from app.services import loans as loan_service
from app.services import people as people_service
from app.services import privacy, roster
from app.services.csvio import FileTooLarge, HeaderError, size_words, too_large_message
from app.services.errors import Invalid
from app.services.people import search_people
from app.views.jobs import progress_context
from app.web import can, committing, note_record_view, permission_required, render, see_other
from app.web.args import choice, id_arg, page_arg
from app.web.errors import error_response
from app.web.loaders import get_person_or_404, visible_campuses

bp = Blueprint("people", __name__, url_prefix="/people")

PER_PAGE = 50


@bp.get("")
@permission_required("people.read")
def index():
    q = request.args.get("q", "")[:100]
    campus_id = id_arg("campus")
    kind = request.args.get("kind", "")
    stmt = search_people(current_user, q, campus_id, choice(kind, PersonKind))
    if request.args.get("inactive") != "1":
        stmt = stmt.where(Person.active.is_(True))
    page = db.paginate(stmt, page=page_arg(), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False)
    return render(
        "people/index.html",
        "people/_results.html",
        page=page,
        q=q,
        campus_id=campus_id,
        kind=kind,
        campuses=visible_campuses(),
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )


def _detail_context(person, errors: dict | None = None) -> dict:
    assignments = list(
        db.session.scalars(
            sa.select(Assignment)
            .where(Assignment.person_id == person.id)
            .order_by(Assignment.returned_at.is_not(None), Assignment.assigned_at.desc())
            .limit(50)
        )
    )
    history = list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.person_id == person.id)
            .order_by(Activity.at.desc(), Activity.id.desc())
            .limit(100)
        )
    )
    return {
        "person": person,
        "assignments": assignments,
        "loans": loan_service.loans_of(person),
        "tickets": _tickets_of(person),
        "timeline": history,
        "conditions": list(Condition),
        "errors": errors or {},
        "now": loan_service.utcnow(),
        "visits": privacy.visits(person) if can("people.privacy") else [],
        "also_at": people_service.other_campuses(person),
        # Guardians' contact details are personal data: shown to those who hold people's personal data.
        "guardians": list(person.guardians) if person.kind is PersonKind.student and can("people.privacy") else None,
    }


def _tickets_of(person) -> list:
    """Tickets on devices the person holds or reported, when the repair desk is installed."""
    try:
        from app.models import Ticket
        from app.services.tickets import sees_reporter
    except ImportError:
        return []
    device_ids = sa.select(Assignment.asset_id).where(Assignment.person_id == person.id)
    stmt = sa.select(Ticket).where(Ticket.asset_id.in_(device_ids))
    # Which tickets a student reported is who reported them: only for those the report form promises it to.
    if hasattr(Ticket, "reporter_student_id") and sees_reporter(current_user):
        stmt = sa.select(Ticket).where(
            sa.or_(Ticket.asset_id.in_(device_ids), Ticket.reporter_student_id == person.external_id)
        )
    return list(db.session.scalars(stmt.order_by(Ticket.id.desc()).limit(20)))


@bp.get("/<external_id>")
@permission_required("people.read")
def detail(external_id: str):
    person = get_person_or_404(external_id)
    note_record_view(person)
    return render("people/detail.html", **_detail_context(person))


@bp.get("/<external_id>/export")
@permission_required("people.privacy")
def export(external_id: str):
    """Everything held about the person, as a JSON download (a subject access request, for instance)."""
    person = get_person_or_404(external_id)
    document = privacy.export(person, by=current_user)
    note_record_view(person, "export")
    resp = Response(json.dumps(document, indent=2, ensure_ascii=False), mimetype="application/json")
    resp.headers["Content-Disposition"] = f"attachment; filename=rollcall-person-{person.id}.json"
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/<external_id>/erase")
@permission_required("people.privacy")
def erase(external_id: str):
    """Take the person's personal data out of Rollcall; the records the district keeps stay, without it."""
    person = get_person_or_404(external_id)
    with committing() as outcome:
        label = privacy.erase(person, confirm=request.form.get("confirm", ""), by=current_user, via=Via.web)
    if outcome.refused:
        return render(
            "people/detail.html",
            "people/_privacy.html",
            status=422,
            **_detail_context(person, {"confirm": outcome.message}),
        )
    flash(f"Erased. The record is now {label}.")
    return see_other(url_for("people.detail", external_id=person.external_id))


def _after_action(person, errors: dict, status: int = 200):
    if status == 200:
        return see_other(url_for("people.detail", external_id=person.external_id))
    return render("people/detail.html", "people/_devices.html", status=status, **_detail_context(person, errors))


@bp.post("/<external_id>/assign")
@permission_required("desk")
def assign(external_id: str):
    """Hand the person a 1:1 device by scanning or typing its tag."""
    person = get_person_or_404(external_id)
    code = request.form.get("device", "").strip()
    asset = asset_service.find_asset(code) if code else None
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        message = "Scan or type the device's tag." if not code else f"No device on your campuses matches “{code}”."
        return _after_action(person, {"device": message}, 422)
    with committing() as outcome:
        asset_service.assign(asset, person, by=current_user, via=Via.web)
    if outcome.refused:
        return _after_action(person, {"device": outcome.message}, 422)
    return _after_action(person, {})


@bp.post("/<external_id>/return/<asset_tag>")
@permission_required("desk")
def take_back(external_id: str, asset_tag: str):
    """Take a 1:1 device back from the person, noting its condition."""
    person = get_person_or_404(external_id)
    asset = db.session.scalar(sa.select(Asset).where(Asset.asset_tag == asset_tag))
    current = asset_service.open_assignment(asset) if asset is not None else None
    if current is None or current.person_id != person.id:
        abort(404)
    condition = choice(request.form.get("condition"), Condition)
    with committing() as outcome:
        asset_service.unassign(asset, by=current_user, via=Via.web, condition=condition)
    if outcome.refused:
        return _after_action(person, {"return": outcome.message}, 422)
    return _after_action(person, {})


# The OneRoster upload: parked, then checked by a job (a dry run with progress), then imported by another job.


@bp.url_value_preprocessor
def _import_sized_body(endpoint: str | None, values: dict | None) -> None:
    # The roster upload may be as large as the import limit, above the app's. This runs before any before_request
    # function, and the CSRF check there is what first reads the body.
    if endpoint == "people.import_roster":
        limit = request.max_content_length = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
        if (request.content_length or 0) > limit:
            raise FileTooLarge(limit, field="users")


@bp.errorhandler(FileTooLarge)
def roster_too_large(exc: FileTooLarge):
    """A roster upload over the limit: the upload form again, with the limit on the file's field."""
    db.session.rollback()
    if not can("imports.run"):
        return error_response(413, exc.message)
    return _upload_form({"users": exc.message}, 413)


def _upload_form(errors: dict[str, str] | None = None, status: int = 200, **form):
    limit = current_app.config["IMPORT_MAX_CONTENT_LENGTH"]
    return render(
        "people/import.html",
        "people/_import.html",
        status=status,
        campuses=visible_campuses(),
        errors=errors or {},
        campus_code=form.get("campus_code", ""),
        deactivate_missing=form.get("deactivate_missing", False),
        max_bytes=limit,
        max_size=size_words(limit),
        too_large=too_large_message(limit),
    )


def _uploaded(name: str):
    """An uploaded file's stream (Werkzeug spools large ones to disk: read from there, never whole), or None."""
    file = request.files.get(name)
    return file.stream if file is not None and file.filename else None


@bp.route("/import", methods=["GET", "POST"])
@permission_required("imports.run")
def import_roster():
    """Upload users.csv (with orgs.csv, enrollments.csv) or a OneRoster zip; its dry run runs as a job."""
    if request.method == "GET":
        return _upload_form()
    form = {
        "campus_code": request.form.get("campus", "").strip().upper(),
        "deactivate_missing": request.form.get("deactivate_missing") == "1",
    }
    upload = request.files.get("users")
    if upload is None or not upload.filename:
        return _upload_form({"users": "Choose users.csv or a OneRoster zip."}, 422, **form)
    run = ImportRun(
        kind=ImportKind.oneroster,
        token=secrets.token_hex(16),
        filename=(upload.filename or "")[:255],
        created_by_id=current_user.id,
    )
    with committing() as outcome:
        campus = roster.campus_for(form["campus_code"] or None, current_user)
        files = roster.files_from_upload(upload.stream, _uploaded("orgs"), upload.filename, _uploaded("enrollments"))
        try:
            roster.check_header(files)
        except HeaderError as exc:
            raise Invalid(str(exc), field="users") from exc
        run.content = roster.pack(files)
        db.session.add(run)
        db.session.flush()
        roster_jobs.submit_check(
            run,
            by=current_user,
            campus_code=campus.code if campus else None,
            campus_id=campus.id if campus else None,
            deactivate_missing=form["deactivate_missing"],
        )
    if outcome.refused:
        return _upload_form({outcome.refused.field or "users": outcome.message}, 422, **form)
    return see_other(url_for("people.roster_run", token=run.token))


def _run_or_404(token: str) -> ImportRun:
    """A roster upload by its token, for the admin who made it or a district-wide admin; 404 otherwise."""
    run = db.session.scalar(
        sa.select(ImportRun).where(ImportRun.token == token, ImportRun.kind == ImportKind.oneroster)
    )
    if run is None or not (run.created_by_id == current_user.id or current_user.district_wide):
        abort(404)
    return run


def _run_page(run: ImportRun, status: int = 200):
    job = roster_jobs.job_for(run)
    progress = progress_context(job) if job is not None else {"job": None}
    return render("people/run.html", run=run, status=status, **progress)


@bp.get("/import/<token>")
@permission_required("imports.run")
def roster_run(token: str):
    """An upload's page: its newest job's progress, then what the dry run (or the import) found."""
    return _run_page(_run_or_404(token))


@bp.post("/import/<token>/apply")
@permission_required("imports.run")
def apply_roster(token: str):
    """Import checked files, as a job (not twice, and not while a job about them runs)."""
    run = _run_or_404(token)
    job = roster_jobs.job_for(run)
    busy = job is not None and not job.finished
    errors = (run.report or {}).get("counts", {}).get("errors")
    if run.state is ImportState.applied or busy or run.report is None or errors or run.content is None:
        return see_other(url_for("people.roster_run", token=run.token))
    with committing():
        roster_jobs.submit_apply(run, by=current_user)
    return see_other(url_for("people.roster_run", token=run.token))
