"""The phone scan page (works offline once visited) and the review list of scanned codes that matched no device."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Condition, Room, UnknownScan, Via
from app.services import sync as sync_service
from app.web import can, committing, is_htmx, permission_required, render, scanning_page
from app.web.loaders import visible_campuses
from app.web.offline import offline_page

bp = Blueprint("scan", __name__, url_prefix="/scan")


@bp.get("")
@permission_required("scan")
@scanning_page  # the camera's wasm barcode reader needs 'wasm-unsafe-eval' here
@offline_page  # rooms and what is scanned, no one's personal data
def index():
    """Pick a room, then scan devices with the text field (keyboard wedge or typing); the camera mounts here too."""
    campuses = visible_campuses()
    rooms = db.session.scalars(
        sa.select(Room).where(Room.campus_id.in_([c.id for c in campuses]), Room.active).order_by(Room.code)
    ).all()
    by_campus = {c.code: [r for r in rooms if r.campus_id == c.id] for c in campuses}
    return render(
        "scan/index.html",
        campuses=campuses,
        rooms_by_campus=by_campus,
        conditions=list(Condition),
        may_mark_found=can("assets.edit"),
    )


def _get_unknown_or_404(scan_id: int) -> UnknownScan:
    """The unknown-tag record with this id in a room on the user's campuses; 404 otherwise."""
    row = db.session.get(UnknownScan, scan_id)
    if row is None or not current_user.can_see_campus(row.room.campus_id):
        abort(404)
    return row


@bp.get("/unknown")
@permission_required("scan.review")
def unknown():
    """Scanned codes that matched no device, newest first: new stickers to register, typos, strays."""
    show_resolved = request.args.get("resolved") == "1"
    rows = sync_service.unknown_scans(current_user, resolved=show_resolved)
    return render("scan/unknown.html", "scan/_unknown_rows.html", rows=rows, show_resolved=show_resolved)


@bp.post("/unknown/<int:scan_id>/resolve")
@permission_required("scan.review")
def resolve(scan_id: int):
    """Mark an unknown-tag scan as dealt with."""
    row = _get_unknown_or_404(scan_id)
    with committing() as outcome:
        sync_service.resolve_unknown(row, by=current_user, via=Via.web)
    if outcome.refused:
        abort(422, outcome.message)
    rows = sync_service.unknown_scans(current_user, resolved=False)
    if is_htmx():
        return render("scan/_unknown_rows.html", rows=rows, show_resolved=False)
    return redirect(url_for("scan.unknown"), 303)
