"""Disposal batches: retired devices going to a recycler, their manifest, pickup and the certificate of
data destruction. Admins only, each for the batches of their campuses."""

from __future__ import annotations

from datetime import date

import sqlalchemy as sa
from flask import Blueprint, Response, abort, make_response, request, stream_with_context, url_for
from flask_login import current_user

from app.extensions import db
from app.jobs import google_sync as google_jobs
from app.models import Asset, Campus, DeviceModel, DisposalBatch, Via
from app.services import disposal, google_sync, vendors
from app.services.csvio import write_csv
from app.services.errors import Invalid
from app.web import committing, is_htmx, permission_required, render, scanning_page, see_other
from app.web.args import whole
from app.web.loaders import visible_campuses

bp = Blueprint("disposal", __name__, url_prefix="/disposal")

CAPABILITY = "disposal.manage"


@bp.app_template_global("disposal_of")
def disposal_of(asset: Asset) -> DisposalBatch | None:
    """The disposal batch a device is in, for its page."""
    return disposal.batch_of(asset)


def _batch_or_404(batch_id: int) -> DisposalBatch:
    """A disposal batch on one of the user's campuses; 404 otherwise."""
    batch = db.session.get(DisposalBatch, batch_id)
    if batch is None or not current_user.can_see_campus(batch.campus_id):
        abort(404)
    return batch


def _whole(value: str | None) -> int | None:
    try:
        return whole(value)
    except ValueError:  # digits int() does not read, such as "²"
        return None


def _int(name: str) -> int | None:
    return _whole(request.values.get(name))


@bp.route("", methods=["GET", "POST"])
@permission_required(CAPABILITY)
def index():
    errors: dict[str, str] = {}
    if request.method == "POST":
        campus_id = _int("campus")
        campus = db.session.get(Campus, campus_id) if campus_id else None
        with committing() as outcome:
            planned = disposal.form_day(request.form.get("planned_on"), "planned_on")
            batch = disposal.create_batch(campus, request.form.get("vendor", ""), planned, by=current_user, via=Via.web)
        if outcome.refused is None:
            return see_other(url_for("disposal.batch", batch_id=batch.id))
        errors = {outcome.refused.field or "vendor": outcome.message}
    return render(
        "disposal/index.html",
        status=422 if errors else 200,
        batches=db.session.scalars(disposal.batches_query(current_user).limit(200)).all(),
        campuses=visible_campuses(),
        vendors=vendors.vendors(active_only=True),
        errors=errors,
        values=dict(request.form),
    )


def _batch_page(batch: DisposalBatch, status: int = 200, errors: dict[str, str] | None = None, **ctx):
    q = request.values.get("q", "").strip()[:100]
    model_id = _int("model")
    offered: list[Asset] = []
    models: list[DeviceModel] = []
    offered_total = 0
    if batch.is_open:
        stmt = disposal.candidates(batch, by=current_user, q=q, model_id=model_id)
        offered = list(db.session.scalars(stmt.limit(disposal.CANDIDATES_SHOWN)))
        offered_total = db.session.scalar(stmt.order_by(None).with_only_columns(sa.func.count(Asset.id))) or 0
        models = list(db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name)))
    return render(
        "disposal/batch.html",
        "disposal/_batch.html",
        status=status,
        batch=batch,
        items=disposal.manifest_items(batch),
        offered=offered,
        offered_total=offered_total,
        models=models,
        q=q,
        model_id=model_id,
        errors=errors or {},
        today=date.today(),
        **ctx,
    )


def _after(batch: DisposalBatch, outcome, **ctx):
    """The batch again: a refusal on its field (422), the fragment for htmx, a redirect for a plain form."""
    if outcome.refused is not None:
        status = outcome.refused.status if outcome.refused.status == 413 else 422
        return _batch_page(batch, status, {outcome.refused.field or "batch": outcome.message}, **ctx)
    if is_htmx():
        return _batch_page(batch, **ctx)
    return see_other(url_for("disposal.batch", batch_id=batch.id))


@bp.get("/<int:batch_id>")
@permission_required(CAPABILITY)
@scanning_page
def batch(batch_id: int):
    return _batch_page(_batch_or_404(batch_id))


@bp.post("/<int:batch_id>/add")
@permission_required(CAPABILITY)
def add(batch_id: int):
    """Tags scanned or typed (a wedge scanner presses Enter after each; a pasted list works too)."""
    row = _batch_or_404(batch_id)
    codes = request.form.get("codes", "")
    retire = request.form.get("retire") == "1"
    with committing() as outcome:
        added = disposal.add_by_codes(row, codes, retire=retire, by=current_user, via=Via.web)
    if outcome.refused is not None:
        return _after(row, outcome, codes=codes[:20_000], retire=retire)
    return _after(row, outcome, added=[a.asset_tag for a in added], retire=retire)


@bp.post("/<int:batch_id>/add-retired")
@permission_required(CAPABILITY)
def add_retired(batch_id: int):
    """Retired devices from the list below the scan field: the ticked ones, or all that match the filter."""
    row = _batch_or_404(batch_id)
    ids = [i for i in (_whole(v) for v in request.form.getlist("ids")) if i]
    with committing() as outcome:
        added = disposal.add_candidates(
            row,
            ids=ids,
            q=request.form.get("q", "")[:100],
            model_id=_int("model"),
            everything=request.form.get("all") == "1",
            by=current_user,
            via=Via.web,
        )
    if outcome.refused is not None:
        return _after(row, outcome)
    return _after(row, outcome, added=[a.asset_tag for a in added])


@bp.post("/<int:batch_id>/remove")
@permission_required(CAPABILITY)
def remove(batch_id: int):
    row = _batch_or_404(batch_id)
    asset_id = _int("asset")
    asset = db.session.get(Asset, asset_id) if asset_id else None
    with committing() as outcome:
        if asset is None:
            raise Invalid("Choose a device of this batch.", field="remove")
        disposal.remove_asset(row, asset, by=current_user, via=Via.web)
    return _after(row, outcome)


@bp.post("/<int:batch_id>/picked-up")
@permission_required(CAPABILITY)
def picked_up(batch_id: int):
    row = _batch_or_404(batch_id)
    with committing() as outcome:
        day = disposal.form_day(request.form.get("picked_up_on"), "picked_up_on")
        disposal.mark_picked_up(row, day, by=current_user, via=Via.web)
    return _after(row, outcome)


@bp.post("/<int:batch_id>/disposed")
@permission_required(CAPABILITY)
def disposed(batch_id: int):
    """The certificate arrived: the date, its number and its file. Google is told (write-back deprovisions retired
    devices) when the district has write-back on."""
    row = _batch_or_404(batch_id)
    upload = request.files.get("certificate")
    with committing() as outcome:
        day = disposal.form_day(request.form.get("disposed_on"), "disposed_on")
        certificate = None
        if upload is not None and upload.filename:
            data = upload.stream.read(disposal.MAX_CERTIFICATE_BYTES + 1)
            certificate = disposal.check_certificate(upload.filename, data)
        disposal.mark_disposed(
            row, day, request.form.get("certificate_number", ""), certificate, by=current_user, via=Via.web
        )
        if google_sync.state().write_back:
            google_jobs.submit_write_back(by=current_user)
    return _after(row, outcome)


@bp.get("/<int:batch_id>/certificate")
@permission_required(CAPABILITY)
def certificate(batch_id: int):
    row = _batch_or_404(batch_id)
    found = disposal.certificate_file(row)
    if found is None:
        abort(404)
    resp = make_response(found.content)
    resp.headers["Content-Type"] = found.content_type
    resp.headers["Cache-Control"] = "private, no-store"
    resp.headers["X-Content-Type-Options"] = "nosniff"
    resp.headers["Content-Disposition"] = f'inline; filename="{row.label}-certificate{_extension(found.content_type)}"'
    return resp


def _extension(content_type: str) -> str:
    return {"application/pdf": ".pdf", "image/png": ".png", "image/jpeg": ".jpg"}.get(content_type, "")


@bp.get("/<int:batch_id>/manifest")
@permission_required(CAPABILITY)
def manifest(batch_id: int):
    row = _batch_or_404(batch_id)
    return render("disposal/manifest.html", batch=row, items=disposal.manifest_items(row))


@bp.get("/<int:batch_id>/manifest.csv")
@permission_required(CAPABILITY)
def manifest_csv(batch_id: int):
    row = _batch_or_404(batch_id)
    chunks = write_csv(disposal.MANIFEST_COLUMNS, disposal.manifest_rows(row))
    resp = Response(stream_with_context(chunks), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="disposal-{row.label}.csv"'
    return resp
