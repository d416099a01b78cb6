"""Damage fees: the list with its totals and CSV, the district's fee schedule, and marking a fee paid or waived."""

from __future__ import annotations

from flask import Response, abort, flash, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Fee, FeeStatus, Via
from app.services import fees as fee_service
from app.views.repairs.blueprint import bp
from app.views.repairs.common import PER_PAGE, Posted
from app.web import can, committing, permission_required, render, see_other
from app.web.args import choice, page_arg


def _fees_page(fee_status: FeeStatus | None, page: int, *, status: int = 200, errors: dict[int, str] | None = None):
    """The fee list, filtered to one status (None: all), with a refusal shown on the fee it names."""
    return render(
        "repairs/fees.html",
        "repairs/_fees.html",
        status=status,
        page=db.paginate(
            fee_service.fees_query(current_user, status=fee_status),
            page=page,
            per_page=PER_PAGE,
            max_per_page=PER_PAGE,
            error_out=False,
        ),
        fee_status=fee_status,
        statuses=list(FeeStatus),
        totals=fee_service.totals(current_user),
        errors=errors or {},
    )


@bp.get("/fees")
@permission_required("repairs.work")
def fees():
    return _fees_page(choice(request.args.get("status"), FeeStatus), page_arg())


@bp.get("/fees.csv")
@permission_required("repairs.work")
def fees_csv():
    # Built before the response leaves: the rows load related records through this request's session.
    body = "".join(fee_service.export_csv(current_user, status=choice(request.args.get("status"), FeeStatus)))
    resp = Response(body, mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=rollcall-fees.csv"
    return resp


@bp.route("/fees/schedule", methods=["GET", "POST"])
@permission_required("repairs.work")
def fee_schedule():
    """The district's fee schedule: everyone who charges fees reads it; district-wide admins change it."""
    text = fee_service.schedule_text(fee_service.policy())
    error = None
    if request.method == "POST":
        if not can("fees.schedule"):
            abort(403, "Only a district-wide admin can change the fee schedule.")
        text = request.form.get("schedule", "")[:20_000]
        with committing() as outcome:
            changed = fee_service.set_schedule(fee_service.parse_schedule(text), by=current_user, via=Via.web)
        if outcome.refused is None:
            flash("Saved the fee schedule." if changed else "Nothing changed.")
            return see_other(url_for("repairs.fee_schedule"))
        error = outcome.message
    return render(
        "repairs/fee_schedule.html",
        schedule=fee_service.policy(),
        text=text,
        error=error,
        status=422 if error else 200,
    )


@bp.post("/fees/<int:fee_id>/settle")
@permission_required("repairs.work")
def settle(fee_id: int):
    fee = db.session.get(Fee, fee_id)
    if fee is None or not current_user.can_see_campus(fee.campus_id):
        abort(404)
    posted = Posted()
    settled = posted.choice("status", FeeStatus, "Choose paid or waived.", among=(FeeStatus.paid, FeeStatus.waived))
    if settled is None:
        message = posted.errors["status"]
    else:
        with committing() as outcome:
            fee_service.settle(fee, settled, by=current_user, via=Via.web, note=request.form.get("note", ""))
        if outcome.refused is None:
            return see_other(url_for("repairs.fees"))
        message = outcome.message
    return _fees_page(None, 1, status=422, errors={fee_id: message})
