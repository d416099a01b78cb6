"""The closet finder: devices nobody has seen lately, missing devices and stalled repairs, each as CSV too."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, redirect, request, stream_with_context, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Via
from app.services import closet, found
from app.services.assets import find_asset
from app.web import committing, is_htmx, permission_required, render, safe_next
from app.web.args import id_arg, page_arg
from app.web.loaders import visible_campuses

bp = Blueprint("closet", __name__, url_prefix="/closet")

PER_PAGE = 50
LISTS = ("unseen", "missing", "repairs")


def _days() -> int:
    """N from ?days=, kept between 1 and 3650 (bad values fall back to the default)."""
    value = request.args.get("days", type=int)
    return value if value and 1 <= value <= 3650 else closet.DEFAULT_DAYS


def _room_arg() -> str | None:
    """`?room=`: a room's id, or `none` for devices never seen in any room."""
    room = request.args.get("room") or None
    if room != "none":
        id_arg("room")  # refuses what cannot be a room's id
    return room


def _query(name: str, days: int):
    if name == "unseen":
        campus_id = id_arg("campus")
        if campus_id and not current_user.can_see_campus(campus_id):
            abort(404)
        return closet.unseen_query(current_user, days, campus_id=campus_id, room=_room_arg())
    if name == "missing":
        return closet.missing_query(current_user)
    if name == "repairs":
        return closet.stale_repairs_query(current_user, days)
    abort(404)


@bp.get("")
@permission_required("dashboard")
def index():
    days = _days()
    return render(
        "closet/index.html",
        "closet/_summary.html",
        days=days,
        choices=closet.DAY_CHOICES,
        groups=closet.unseen_groups(current_user, days),
        unseen=closet.unseen_count(current_user, days),
        missing=db.paginate(
            closet.with_details(closet.missing_query(current_user)), page=page_arg(), per_page=10, error_out=False
        ),
        repairs=db.paginate(
            closet.with_details(closet.stale_repairs_query(current_user, days)),
            page=page_arg(),
            per_page=10,
            error_out=False,
        ),
        campuses=visible_campuses(),
        seen_by=closet.seen_by,
        found_rows=found.found_devices(current_user),
        found_days=found.RECENT_DAYS,
    )


@bp.get("/found")
@permission_required("dashboard")
def found_list():
    """Devices found since they went missing; `?brief=1` is the dashboard's card, which names no one."""
    brief = request.args.get("brief") == "1"
    rows = found.found_devices(current_user)
    fragment = "closet/_found_card.html" if brief else "closet/_found.html"
    return render("closet/found.html", fragment, found_rows=rows, show_who=not brief, found_days=found.RECENT_DAYS)


@bp.post("/found")
@permission_required("assets.edit")
def mark_found():
    """ "Mark found": a missing device's status goes back to what it was before it went missing."""
    tag = request.form.get("asset", "").strip()
    asset = find_asset(tag) if tag else None
    error = None
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        error = "Choose a device from the list." if not tag else f"No device {tag} on your campuses."
    else:
        with committing() as outcome:
            found.mark_found(asset, by=current_user, via=Via.web)
        error = outcome.message or None
    if is_htmx():
        rows = found.found_devices(current_user)
        return render(
            "closet/_found.html", found_rows=rows, show_who=True, found_error=error, status=422 if error else 200
        )
    if error:
        abort(422, error)
    return redirect(safe_next(request.form.get("next"), url_for("closet.index")), 303)


@bp.get("/<name>")
@permission_required("dashboard")
def listing(name: str):
    days = _days()
    stmt = _query(name, days)
    page = db.paginate(
        closet.with_details(stmt), page=page_arg(), per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False
    )
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render(
        "closet/list.html",
        "closet/_list.html",
        name=name,
        days=days,
        page=page,
        args=args,
        seen_by=closet.seen_by,
    )


@bp.get("/<name>.csv")
@permission_required("dashboard")
def export(name: str):
    if name not in LISTS:
        abort(404)
    stmt = _query(name, _days())
    resp = Response(stream_with_context(closet.csv_rows(stmt)), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="closet-{name}-{date.today().isoformat()}.csv"'
    return resp
