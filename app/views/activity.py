"""The activity log, filterable by person, asset, action and date range, and exportable as CSV (admins and
techs)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, request, stream_with_context
from flask_login import current_user

from app.extensions import db
from app.services import activity_log
from app.web import permission_required, render
from app.web.args import page_arg

bp = Blueprint("activity", __name__, url_prefix="/activity")


def _filters() -> tuple[activity_log.LogFilters, list[str]]:
    actions = activity_log.actions()
    return activity_log.filters_from(request.args, actions), actions


def _page(f: activity_log.LogFilters, actions: list[str], page=None):
    """The log page (or its rows for htmx): 422 with each bad filter's message on its field."""
    return render(
        "activity/index.html",
        "activity/_results.html",
        status=422 if f.errors else 200,
        page=page,
        f=f,
        actions=actions,
        errors=f.errors,
        args={k: v for k, v in request.args.items() if k != "page" and v},
    )


@bp.get("")
@permission_required("activity.read")
def index():
    f, actions = _filters()
    if f.errors:
        return _page(f, actions)
    stmt = activity_log.log_query(current_user, f)
    page = db.paginate(stmt, page=page_arg(), per_page=50, max_per_page=50, error_out=False)
    return _page(f, actions, page)


@bp.get("/export.csv")
@permission_required("activity.read")
def export():
    """The log as the filters narrow it, streamed as CSV; bad filters answer like the page does (422)."""
    f, actions = _filters()
    if f.errors:
        return _page(f, actions)
    resp = Response(stream_with_context(activity_log.csv_rows(current_user, f)), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="activity-{date.today().isoformat()}.csv"'
    return resp
