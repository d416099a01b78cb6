"""A vendor's door, on its page under the vendor list (admins): the API token for /api/v1/claims (shown once,
replaced or revoked), the open claims as a bulk-claim CSV, and the vendor's status file read back (dry run, then
apply)."""

from __future__ import annotations

import re
from datetime import date

from flask import Response, abort, flash, request, stream_with_context, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Vendor, Via
from app.services import vendor_claims, vendors
from app.services.csvio import write_csv
from app.services.errors import Invalid
from app.views.repairs.blueprint import bp
from app.web import committing, permission_required, render, see_other

# A status file is a short list of claims: read whole, and carried from the dry run to the apply in the form.
MOST_BYTES = 1024 * 1024


def _page(vendor: Vendor, *, status: int = 200, **ctx):
    return render(
        "repairs/vendor_door.html",
        vendor=vendor,
        token=vendors.live_token(vendor),
        open_count=len(vendor_claims.open_claims(vendor)),
        status=status,
        **ctx,
    )


@bp.get("/vendors/<int:vendor_id>/door")
@permission_required("vendors.manage")
def vendor_door(vendor_id: int):
    return _page(db.get_or_404(Vendor, vendor_id))


@bp.post("/vendors/<int:vendor_id>/token")
@permission_required("vendors.manage")
def vendor_token(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    raw = ""
    with committing() as outcome:
        raw = vendors.issue_token(vendor, by=current_user, via=Via.web)
    if outcome.refused:
        return _page(vendor, status=422, error=outcome.message)
    # Shown on this answer only (never in a URL or a later page): only its hash is kept.
    resp = _page(vendor, new_token=raw)
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.post("/vendors/<int:vendor_id>/token/revoke")
@permission_required("vendors.manage")
def vendor_token_revoke(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    with committing():
        vendors.revoke_token(vendor, by=current_user, via=Via.web)
    flash(f"{vendor.name}'s token no longer works.")
    return see_other(url_for("repairs.vendor_door", vendor_id=vendor.id))


@bp.get("/vendors/<int:vendor_id>/claims.csv")
@permission_required("vendors.manage")
def vendor_claims_csv(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    name = re.sub(r"[^A-Za-z0-9]+", "-", vendor.name).strip("-").lower() or "vendor"
    chunks = write_csv(vendor_claims.EXPORT_COLUMNS, vendor_claims.export_rows(vendor))
    resp = Response(stream_with_context(chunks), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="claims-{name}-{date.today().isoformat()}.csv"'
    return resp


def _status_text() -> str:
    upload = request.files.get("file")
    if upload is not None and upload.filename:
        data = upload.read(MOST_BYTES + 1)
        if len(data) > MOST_BYTES:
            abort(413)
        try:
            return data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise Invalid("Save the status file as CSV (UTF-8) and try again.", field="file") from None
    text = request.form.get("content", "")
    if len(text) > MOST_BYTES:
        abort(413)
    if not text.strip():
        raise Invalid("Choose the vendor's status file.", field="file")
    return text


@bp.post("/vendors/<int:vendor_id>/status-file")
@permission_required("vendors.manage")
def vendor_status_file(vendor_id: int):
    vendor = db.get_or_404(Vendor, vendor_id)
    apply = request.form.get("apply") == "1"
    try:
        text = _status_text()
        report = vendor_claims.status_file(vendor, text, by=current_user, via=Via.web, apply=apply)
    except Invalid as exc:
        db.session.rollback()
        return _page(vendor, status=422, error=exc.message)
    if report.applied:
        db.session.commit()
        flash(f"Applied {vendor.name}'s status file: {report.changed} claim(s) changed.")
        return see_other(url_for("repairs.vendor_door", vendor_id=vendor.id))
    db.session.rollback()
    return _page(vendor, status=422 if apply else 200, report=report, content=text)
