"""Room audits: start one and scan (offline on a phone), its result and report, history, rooms due for audit."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Audit, Room, Via
from app.services import audits as audit_service
from app.services.assets import find_asset
from app.web import can, committing, is_htmx, permission_required, render, scanning_page
from app.web.args import page_arg, whole
from app.web.loaders import get_room_or_404, visible_campuses
from app.web.offline import offline_page

bp = Blueprint("audits", __name__, url_prefix="/audits")

HISTORY_PER_PAGE = 25


def get_audit_or_404(uuid: str) -> Audit:
    """The audit with this UUID on one of the user's campuses; 404 otherwise (no hint that it exists)."""
    audit = audit_service.find_audit(uuid)
    if audit is None or not current_user.can_see_campus(audit.campus_id):
        abort(404)
    return audit


def _campus_arg() -> int | None:
    value = request.args.get("campus", "")
    if not value:
        return None
    ids = {c.id: c for c in visible_campuses()}
    by_code = {c.code: c.id for c in ids.values()}
    campus_id = whole(value) or by_code.get(value.upper())
    if campus_id not in ids:
        abort(404)
    return campus_id


def _history_rows(stmt: sa.Select, page: int) -> tuple[list[audit_service.AuditResult], object]:
    paged = db.paginate(stmt, page=page, per_page=HISTORY_PER_PAGE, max_per_page=HISTORY_PER_PAGE, error_out=False)
    return [audit_service.audit_result(a) for a in paged.items], paged


@bp.get("")
@permission_required("audits.read")
def index():
    """Audits in progress, rooms due, and the history of the user's campuses (filter by campus)."""
    campus_id = _campus_arg()
    results, paged = _history_rows(audit_service.audits_query(current_user, campus_id=campus_id), page_arg())
    ctx = {
        "open_audits": audit_service.open_audits(current_user),
        "due": audit_service.rooms_due(current_user, campus_id=campus_id)[:10],
        "results": results,
        "paged": paged,
        "campuses": visible_campuses(),
        "campus_id": campus_id,
        "args": {"campus": campus_id} if campus_id else {},
    }
    return render("audits/index.html", "audits/_history.html", **ctx)


@bp.get("/live")
@permission_required("audits.run")
@scanning_page
@offline_page  # rooms and devices only; the audit itself lives in the outbox
def live():
    """The phone audit page: pick or scan a room, scan devices, close, see the result; works without a signal."""
    campuses = visible_campuses()
    rooms = db.session.scalars(
        sa.select(Room).where(Room.campus_id.in_([c.id for c in campuses]), Room.active.is_(True)).order_by(Room.code)
    ).all()
    by_campus = {c: [r for r in rooms if r.campus_id == c.id] for c in campuses}
    return render("audits/live.html", rooms_by_campus=by_campus, may_mark_found=can("assets.edit"))


@bp.get("/due")
@permission_required("audits.read")
def due():
    """Rooms not audited within their campus's interval (the dashboard loads the short version)."""
    limit = whole(request.args.get("limit"))
    rows = audit_service.rooms_due(current_user, campus_id=_campus_arg())
    total = len(rows)
    if limit is not None:
        rows = rows[:limit]
    return render("audits/due.html", "audits/_due.html", due=rows, total=total, short=limit is not None)


@bp.get("/missing")
@permission_required("audits.read")
def missing():
    """Devices an audit could not find and nobody has seen since."""
    campus_id = _campus_arg()
    assets = audit_service.missing_in_audit(current_user, campus_id)
    return render("audits/missing.html", assets=assets, campuses=visible_campuses(), campus_id=campus_id)


@bp.get("/rooms/<code>")
@permission_required("audits.read")
def room_history(code: str):
    """Every audit of one room, newest first."""
    room = get_room_or_404(code)
    results, paged = _history_rows(audit_service.audits_query(current_user, room=room), page_arg())
    return render(
        "audits/room.html",
        "audits/_history.html",
        room=room,
        results=results,
        paged=paged,
        args={},
        expected=audit_service.expected_assets(room),
    )


@bp.get("/<uuid>")
@permission_required("audits.read")
def detail(uuid: str):
    """An audit's result as the server holds it (live while open)."""
    audit = get_audit_or_404(uuid)
    if audit.primary_id is not None:
        return redirect(url_for("audits.detail", uuid=audit_service.primary_of(audit).uuid))
    return render("audits/detail.html", r=audit_service.audit_result(audit), errors={})


@bp.get("/<uuid>/report")
@permission_required("audits.read")
def report(uuid: str):
    """The audit report, laid out for printing."""
    audit = audit_service.primary_of(get_audit_or_404(uuid))
    return render("audits/report.html", r=audit_service.audit_result(audit))


@bp.post("/<uuid>/move")
@permission_required("audits.run")
def move(uuid: str):
    """Make the audited room the home of an unexpected device (asked to confirm on the page)."""
    audit = audit_service.primary_of(get_audit_or_404(uuid))
    tag = request.form.get("asset", "").strip()
    asset = find_asset(tag) if tag else None
    errors: dict[str, str] = {}
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        errors["asset"] = "Choose a device from the list." if not tag else f"No device {tag} on your campuses."
    else:
        with committing() as outcome:
            audit_service.move_here(audit, asset, by=current_user, via=Via.web)
        if outcome.refused:
            errors["asset"] = outcome.message
    if errors:
        return render(
            "audits/detail.html",
            "audits/_unexpected.html",
            r=audit_service.audit_result(audit),
            errors=errors,
            status=422,
        )
    if not is_htmx():
        return redirect(url_for("audits.detail", uuid=audit.uuid), 303)
    return render("audits/detail.html", "audits/_unexpected.html", r=audit_service.audit_result(audit), errors={})
