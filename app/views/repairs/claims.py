"""Warranty claims, shipping batches and receiving by scan: a claim's decisions, packing a box for the vendor,
shipping it, and each device coming back."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Campus, ClaimStatus, ShippingBatch, Via, WarrantyClaim
from app.services import found, vendors, warranty
from app.services.errors import Invalid
from app.views.repairs.blueprint import bp
from app.views.repairs.common import PER_PAGE, Posted
from app.web import committing, is_htmx, permission_required, render, scanning_page, see_other
from app.web.args import choice, page_arg
from app.web.loaders import visible_campuses

# `status` on the claims list besides the claim statuses (anything else lists them all).
OPEN_CLAIMS = "open"


@bp.app_context_processor
def inject_claim_vendors():
    """`claim_vendors()` in templates: the vendors a new claim may go to, read only where a claim form is drawn."""
    return {"claim_vendors": lambda: vendors.vendors(active_only=True)}


def _claim_or_404(claim_id: int) -> WarrantyClaim:
    """A claim on one of the user's campuses; 404 otherwise."""
    claim = db.session.get(WarrantyClaim, claim_id)
    if claim is None or not current_user.can_see_campus(claim.asset.campus_id):
        abort(404)
    return claim


def _batch_or_404(batch_id: int) -> ShippingBatch:
    """A shipping batch from one of the user's campuses; 404 otherwise."""
    batch = db.session.get(ShippingBatch, batch_id)
    if batch is None or not current_user.can_see_campus(batch.campus_id):
        abort(404)
    return batch


@bp.get("/claims")
@permission_required("repairs.work")
def claims():
    value = request.args.get("status", OPEN_CLAIMS)
    status = choice(value, ClaimStatus)
    page = db.paginate(
        warranty.claims_query(current_user, status, open_only=value == OPEN_CLAIMS),
        page=page_arg(),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render(
        "repairs/claims.html", "repairs/_claims.html", page=page, status_arg=value, statuses=list(ClaimStatus)
    )


def _claim_page(claim: WarrantyClaim, status: int = 200, errors: dict[str, str] | None = None):
    return render("repairs/claim.html", "repairs/_claim.html", status=status, claim=claim, errors=errors or {})


@bp.get("/claims/<int:claim_id>")
@permission_required("repairs.work")
def claim(claim_id: int):
    return _claim_page(_claim_or_404(claim_id))


@bp.post("/claims/<int:claim_id>/<action>")
@permission_required("repairs.work")
def claim_action(claim_id: int, action: str):
    row = _claim_or_404(claim_id)
    actions = {
        "approve": lambda: warranty.approve(row, rma=request.form.get("rma", ""), by=current_user, via=Via.web),
        "deny": lambda: warranty.deny(row, reason=request.form.get("reason", ""), by=current_user, via=Via.web),
        "repaired": lambda: warranty.mark_repaired(row, by=current_user, via=Via.web),
    }
    if action not in actions:
        abort(404)
    with committing() as outcome:
        actions[action]()
    if outcome.refused is not None:
        return _claim_page(row, 422, {outcome.refused.field or action: outcome.message})
    if is_htmx():
        return _claim_page(row)
    return redirect(url_for("repairs.claim", claim_id=row.id), 303)


@bp.route("/batches", methods=["GET", "POST"])
@permission_required("repairs.work")
def batches():
    errors: dict[str, str] = {}
    if request.method == "POST":
        posted = Posted()
        campus = posted.record("campus", Campus, "Choose one of your campuses.")
        if campus is None:
            errors = posted.errors
        else:
            with committing() as outcome:
                batch = warranty.new_batch(
                    vendor=request.form.get("vendor", ""), campus=campus, by=current_user, via=Via.web
                )
            if outcome.refused is None:
                return see_other(url_for("repairs.batch", batch_id=batch.id))
            errors = {outcome.refused.field or "vendor": outcome.message}
    return render(
        "repairs/batches.html",
        status=422 if errors else 200,
        batches=db.session.scalars(warranty.batches_query(current_user).limit(200)).all(),
        campuses=visible_campuses(),
        vendors=vendors.vendors(active_only=True),
        waiting=warranty.waiting_vendors(current_user),
        errors=errors,
        values=dict(request.form),
    )


def _batch_page(
    batch: ShippingBatch,
    status: int = 200,
    errors: dict[str, str] | None = None,
    scanned: WarrantyClaim | None = None,
    code: str = "",
):
    return render(
        "repairs/batch.html",
        "repairs/_batch.html",
        status=status,
        batch=batch,
        addable=warranty.addable_claims(batch),
        errors=errors or {},
        scanned=scanned,
        code=code,
    )


@bp.get("/batches/<int:batch_id>")
@permission_required("repairs.work")
def batch(batch_id: int):
    return _batch_page(_batch_or_404(batch_id))


@bp.post("/batches/<int:batch_id>/<action>")
@permission_required("repairs.work")
def batch_action(batch_id: int, action: str):
    row = _batch_or_404(batch_id)
    if action == "scan":
        return _batch_scan(row)
    if action not in ("add", "remove", "ship"):
        abort(404)
    with committing() as outcome:
        if action == "ship":
            warranty.ship_batch(
                row,
                by=current_user,
                via=Via.web,
                tracking=request.form.get("tracking", ""),
                carrier=request.form.get("carrier", ""),
            )
        else:
            item = Posted().record("claim", WarrantyClaim, "Choose a claim from the list.")
            if item is None or not current_user.can_see_campus(item.asset.campus_id):
                raise Invalid("Choose a claim from the list.", field="claim")
            if action == "add":
                warranty.add_to_batch(row, item, by=current_user, via=Via.web)
            else:
                warranty.remove_from_batch(row, item, by=current_user, via=Via.web)
    if outcome.refused is not None:
        return _batch_page(row, 422, {outcome.refused.field or action: outcome.message})
    if is_htmx():
        return _batch_page(row)
    return redirect(url_for("repairs.batch", batch_id=row.id), 303)


def _batch_scan(batch: ShippingBatch):
    """A device scanned on the batch page (a wedge scanner types and presses Enter): its open claim joins the box,
    or the page says why not (422) and nothing changes."""
    code = request.form.get("code", "")
    with committing() as outcome:
        claim = warranty.add_by_scan(batch, code, by=current_user, via=Via.web)
    if outcome.refused is not None:
        return _batch_page(batch, 422, {"code": outcome.message}, code=code.strip()[:64])
    if is_htmx():
        return _batch_page(batch, scanned=claim)
    return redirect(url_for("repairs.batch", batch_id=batch.id), 303)


@bp.get("/batches/<int:batch_id>/packing-list")
@permission_required("repairs.work")
def packing_list(batch_id: int):
    batch = _batch_or_404(batch_id)
    return render("repairs/packing_list.html", batch=batch, vendor=batch.vendor_row, contact=batch.created_by)


@bp.route("/receive", methods=["GET", "POST"])
@permission_required("repairs.work")
@scanning_page
def receive():
    """Scan each device (or type its RMA) as it ships in its batch or comes back; wedge scanners press Enter."""
    action = "ship" if request.values.get("action") == "ship" else "receive"
    ctx = {"result": None, "error": None, "code": "", "action": action}
    if request.method == "GET":
        return render("repairs/receive.html", "repairs/_receive_result.html", **ctx)
    code = request.form.get("code", "")
    scan = warranty.ship_scan if action == "ship" else warranty.receive
    with committing() as outcome:
        claim = scan(code, by=current_user, via=Via.web)
        # A device reported missing that turns up here is noticed like a scan anywhere else. Receiving it recorded
        # the sighting already; shipping it is one too.
        received = claim.status is ClaimStatus.returned
        notice = found.notice_found(claim.asset, room=None, by=current_user, via=Via.web, sighting=not received)
    if outcome.refused is not None:
        return render(
            "repairs/receive.html",
            "repairs/_receive_result.html",
            status=422,
            **{**ctx, "error": outcome.message, "code": code},
        )
    return render("repairs/receive.html", "repairs/_receive_result.html", **{**ctx, "result": claim, "found": notice})
