"""The device list as CSV (the planning lists the dashboard links to carry their filter in the query), and the
planning filter a list shows as a chip beside its results."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, request, stream_with_context
from flask_login import current_user

from app.services import asset_lists
from app.views.assets import _filters_from as list_filters
from app.web import permission_required

bp = Blueprint("asset_lists", __name__, url_prefix="/assets")


@bp.app_context_processor
def inject_planning_list():
    def planning_list() -> asset_lists.PlanningList | None:
        """The planning filter (AUE school year, warranty month) of the device list this request shows."""
        return asset_lists.planning_list(request.args)

    return {"planning_list": planning_list}


@bp.get("/list.csv")
@permission_required("assets.read")
def export():
    """Every device the list's filters find, with its AUE and warranty dates, streamed."""
    f = list_filters(request.args)
    resp = Response(stream_with_context(asset_lists.csv_rows(current_user, f)), mimetype="text/csv")
    resp.headers["Content-Disposition"] = f'attachment; filename="rollcall-device-list-{date.today().isoformat()}.csv"'
    return resp
