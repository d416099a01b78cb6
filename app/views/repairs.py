"""Repairs for techs and admins: the ticket's repair panel and its one-tap actions, parts and stock, warranty claims,
shipping batches and receiving by scan, swaps to reverse, fees, repeat damage and planning numbers."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, Response, abort, flash, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import (
    Activity,
    Asset,
    Campus,
    ClaimStatus,
    Condition,
    DeviceModel,
    Fee,
    FeeStatus,
    LoanerSwap,
    Part,
    Person,
    Priority,
    ShippingBatch,
    Ticket,
    TicketCategory,
    TicketStatus,
    Via,
    WarrantyClaim,
)
from app.services import fees as fee_service
from app.services import repairs as repair_service
from app.services import warranty
from app.services.assets import find_asset
from app.services.csvio import write_csv
from app.services.errors import Invalid
from app.services.people import find_person
from app.web import can, is_htmx, note_record_view, permission_required, render, scanning_page, see_other
from app.web.args import MAX_ID, page_arg, whole
from app.web.loaders import get_asset_or_404, get_person_or_404, visible_campuses

bp = Blueprint("repairs", __name__, url_prefix="/repairs")

PER_PAGE = 50
# Activity that belongs on a ticket's repair log (besides the ticket's own status history).
REPAIR_ACTIONS = ("ticket.triage", "repair.", "claim.", "fee.", "loan.", "batch.ship")


@bp.app_context_processor
def inject_repair_state():
    def repair_state(ticket: Ticket) -> dict:
        """What the ticket page's repair panel shows; computed only when the panel is drawn."""
        repair = repair_service.repair_of(ticket, create=False)
        swap = repair_service.open_swap(ticket)
        claims = warranty.claims_of(ticket)
        open_claim = next((c for c in claims if c.status.is_open), None)
        is_tech = can("repairs.work")
        return {
            "repair": repair,
            "cost": repair_service.ticket_cost(ticket),
            "parts_used": repair_service.parts_used(ticket),
            "labour": repair_service.labour_of(ticket),
            "swap": swap,
            "swaps": list(
                db.session.scalars(
                    sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id).order_by(LoanerSwap.id)
                )
            ),
            "claims": claims,
            "open_claim": open_claim,
            "coverage": warranty.coverage(ticket.asset, accidental=warranty.is_accidental(ticket)),
            "accidental_guess": warranty.is_accidental(ticket),
            "holder": repair_service.holder_of(ticket.asset),
            "parts": repair_service.parts_for(ticket) if is_tech else [],
            "loaners": repair_service.available_loaners(ticket.asset.campus_id, exclude=ticket.asset_id)
            if is_tech
            else [],
            "fees": list(db.session.scalars(sa.select(Fee).where(Fee.ticket_id == ticket.id).order_by(Fee.id))),
            "policy": fee_service.policy(),
            "priorities": list(Priority),
            "categories": list(TicketCategory),
            "conditions": list(Condition),
            "steps": _repair_log(ticket),
        }

    return {"repair_state": repair_state}


def _repair_log(ticket: Ticket) -> list[Activity]:
    """Repair steps on this ticket's device since the ticket was opened (who and when), oldest first."""
    clauses = [Activity.action.startswith(a) if a.endswith(".") else Activity.action == a for a in REPAIR_ACTIONS]
    return list(
        db.session.scalars(
            sa.select(Activity)
            .where(Activity.asset_id == ticket.asset_id, Activity.at >= ticket.created_at, sa.or_(*clauses))
            .order_by(Activity.at, Activity.id)
            .limit(200)
        )
    )


def _ticket_or_404(number: str) -> Ticket:
    """The ticket with this number on one of the user's campuses; 404 otherwise."""
    from app.views.tickets import get_ticket_or_404

    return get_ticket_or_404(number)


def _ticket_page(ticket: Ticket, errors: dict | None = None, status: int = 200, values: dict | None = None):
    """After a repair action: 303 back to the ticket for plain forms; the whole ticket page otherwise.

    htmx picks the repair panel out of it (hx-select) and refreshes the status panel beside it (hx-select-oob).
    """
    if not is_htmx() and status == 200:
        return redirect(url_for("tickets.detail", number=ticket.number), 303)
    from app.views.tickets import _work_ctx

    return render(
        "tickets/detail.html",
        status=status,
        repair_errors=errors or {},
        repair_values=values or {},
        **_work_ctx(ticket),
    )


def _int(name: str, default: int | None = None) -> int | None:
    raw = (request.form.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    # Past 64 bits no id or count exists, and the database could not even be asked.
    return value if abs(value) <= MAX_ID else None


def _act(ticket: Ticket, action, *, field: str):
    """Run a service action for the ticket page: commit on success, the message on its field on a broken rule."""
    try:
        action()
    except Invalid as exc:
        db.session.rollback()
        db.session.refresh(ticket)
        return _ticket_page(ticket, {exc.field or field: exc.message}, 422, dict(request.form))
    db.session.commit()
    return _ticket_page(ticket)


# --- the ticket's one-tap actions ---------------------------------------------------------------------------


@bp.post("/tickets/<number>/triage")
@permission_required("repairs.work")
def triage(number: str):
    ticket = _ticket_or_404(number)
    errors = {}
    category = request.form.get("category", "")
    priority = request.form.get("priority", "normal")
    if category not in TicketCategory._value2member_map_:
        errors["category"] = "Choose a category."
    if priority not in Priority._value2member_map_:
        errors["priority"] = "Choose a priority."
    who = request.form.get("responsible", "").strip()
    responsible = find_person(who) if who else None
    if who and (responsible is None or not current_user.can_see_campus(responsible.campus_id)):
        errors["responsible"] = f"No one on your campuses has the ID {who!r}."
    if errors:
        return _ticket_page(ticket, errors, 422, dict(request.form))
    return _act(
        ticket,
        lambda: repair_service.triage(
            ticket,
            category=TicketCategory(category),
            priority=Priority(priority),
            responsible=responsible,
            accidental=request.form.get("accidental") in ("1", "on", "true", "yes"),
            by=current_user,
            via=Via.web,
        ),
        field="category",
    )


@bp.post("/tickets/<number>/take-in")
@permission_required("repairs.work")
def take_in(number: str):
    ticket = _ticket_or_404(number)
    value = request.form.get("status", TicketStatus.in_repair.value)
    if value not in (TicketStatus.in_repair.value, TicketStatus.waiting_parts.value):
        return _ticket_page(ticket, {"take_in": "Choose in repair or waiting for parts."}, 422)
    return _act(
        ticket,
        lambda: repair_service.take_in(ticket, by=current_user, via=Via.web, status=TicketStatus(value)),
        field="take_in",
    )


@bp.post("/tickets/<number>/parts")
@permission_required("repairs.work")
def use_parts(number: str):
    ticket = _ticket_or_404(number)
    part = db.session.get(Part, _int("part") or 0)
    quantity = _int("quantity", 1)
    if part is None:
        return _ticket_page(ticket, {"part": "Choose a part from the list."}, 422, dict(request.form))
    if quantity is None:
        return _ticket_page(ticket, {"quantity": "Enter a whole number."}, 422, dict(request.form))
    return _act(
        ticket, lambda: repair_service.use_parts(ticket, part, quantity, by=current_user, via=Via.web), field="quantity"
    )


@bp.post("/tickets/<number>/labour")
@permission_required("repairs.work")
def labour(number: str):
    ticket = _ticket_or_404(number)
    minutes = _int("minutes")
    if minutes is None:
        return _ticket_page(ticket, {"minutes": "Enter the minutes spent."}, 422, dict(request.form))
    return _act(
        ticket,
        lambda: repair_service.log_labour(
            ticket, minutes, by=current_user, via=Via.web, note=request.form.get("note", "")
        ),
        field="minutes",
    )


@bp.post("/tickets/<number>/claim")
@permission_required("repairs.work")
def open_claim(number: str):
    ticket = _ticket_or_404(number)
    return _act(
        ticket,
        lambda: warranty.open_claim(
            ticket,
            by=current_user,
            via=Via.web,
            vendor=request.form.get("vendor", ""),
            note=request.form.get("note", ""),
        ),
        field="claim",
    )


@bp.post("/tickets/<number>/swap")
@permission_required("repairs.work")
def swap(number: str):
    ticket = _ticket_or_404(number)
    code = request.form.get("loaner", "").strip()
    loaner = None
    if code:
        loaner = find_asset(code)
        if loaner is None or not current_user.can_see_campus(loaner.campus_id):
            return _ticket_page(
                ticket, {"loaner": f"No device on your campuses matches {code!r}."}, 422, dict(request.form)
            )
    return _act(
        ticket,
        lambda: repair_service.swap_in_loaner(ticket, by=current_user, via=Via.web, loaner=loaner),
        field="loaner",
    )


@bp.post("/tickets/<number>/resolve")
@permission_required("repairs.work")
def resolve(number: str):
    ticket = _ticket_or_404(number)
    return _act(ticket, lambda: repair_service.resolve(ticket, by=current_user, via=Via.web), field="status")


@bp.post("/tickets/<number>/reverse")
@permission_required("repairs.work")
def reverse_from_ticket(number: str):
    ticket = _ticket_or_404(number)
    row = db.session.scalar(
        sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id).order_by(LoanerSwap.id.desc()).limit(1)
    )
    if row is None:
        return _ticket_page(ticket, {"swap": "No loaner was swapped in for this ticket."}, 422)
    condition = _condition_arg()
    return _act(
        ticket,
        lambda: repair_service.reverse_swap(row, by=current_user, via=Via.web, loaner_condition=condition),
        field="swap",
    )


@bp.post("/tickets/<number>/close")
@permission_required("repairs.work")
def close(number: str):
    ticket = _ticket_or_404(number)
    return _act(ticket, lambda: repair_service.close(ticket, by=current_user, via=Via.web), field="status")


@bp.post("/tickets/<number>/reopen")
@permission_required("repairs.work")
def reopen(number: str):
    ticket = _ticket_or_404(number)
    return _act(ticket, lambda: repair_service.reopen(ticket, by=current_user, via=Via.web), field="status")


@bp.post("/tickets/<number>/fees")
@permission_required("repairs.work")
def charge(number: str):
    ticket = _ticket_or_404(number)
    who = request.form.get("person", "").strip()
    person = find_person(who) if who else None
    if person is None:
        repair = repair_service.repair_of(ticket, create=False)
        person = repair.responsible if repair and not who else None
    if person is None or not current_user.can_see_campus(person.campus_id):
        message = "Enter the student's ID." if not who else f"No one on your campuses has the ID {who!r}."
        return _ticket_page(ticket, {"person": message}, 422, dict(request.form))
    return _act(
        ticket,
        lambda: fee_service.charge(
            person,
            amount=request.form.get("amount", ""),
            reason=request.form.get("reason", ""),
            ticket=ticket,
            by=current_user,
            via=Via.web,
        ),
        field="amount",
    )


def _condition_arg() -> Condition | None:
    value = request.form.get("condition", "")
    return Condition(value) if value in Condition._value2member_map_ else None


# --- the repairs desk ---------------------------------------------------------------------------------------


@bp.get("")
@permission_required("repairs.work")
def index():
    return render(
        "repairs/index.html",
        swaps=repair_service.swaps_to_reverse(current_user),
        low=repair_service.low_stock(current_user),
        claims=db.session.scalars(warranty.claims_query(current_user, open_only=True).limit(PER_PAGE)).all(),
        batches=db.session.scalars(warranty.batches_query(current_user).limit(10)).all(),
        fee_totals=fee_service.totals(current_user),
    )


@bp.route("/parts", methods=["GET", "POST"])
@permission_required("repairs.work")
def parts():
    errors: dict[str, str] = {}
    values: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        values = dict(request.form)
        model_ids = [i for i in map(whole, request.form.getlist("fits")) if i]
        fits = (
            list(db.session.scalars(sa.select(DeviceModel).where(DeviceModel.id.in_(model_ids)))) if model_ids else []
        )
        low = _int("low_stock_at", 2)
        try:
            if low is None:
                raise Invalid("Enter a whole number.", field="low_stock_at")
            repair_service.create_part(
                name=request.form.get("name", ""),
                part_number=request.form.get("part_number", ""),
                unit_cost=request.form.get("unit_cost", ""),
                fits=fits,
                low_stock_at=low,
                by=current_user,
                via=Via.web,
            )
        except Invalid as exc:
            db.session.rollback()
            errors[exc.field or "name"] = exc.message
            status = 422
        else:
            db.session.commit()
            return see_other(url_for("repairs.parts"))
    return render(
        "repairs/parts.html",
        "repairs/_parts.html",
        status=status,
        rows=repair_service.catalogue(current_user),
        low=repair_service.low_stock(current_user),
        campuses=visible_campuses(),
        models=db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name)).all(),
        errors=errors,
        values=values,
    )


@bp.post("/parts/<int:part_id>/stock")
@permission_required("repairs.work")
def add_stock(part_id: int):
    part = db.get_or_404(Part, part_id)
    campus = db.session.get(Campus, _int("campus") or 0)
    quantity = _int("quantity")
    errors: dict[str, str] = {}
    if campus is None or not current_user.can_see_campus(campus.id):
        errors["campus"] = "Choose one of your campuses."
    elif quantity is None:
        errors["quantity"] = "Enter a whole number."
    else:
        try:
            repair_service.add_stock(part, campus, quantity, by=current_user, via=Via.web)
        except Invalid as exc:
            db.session.rollback()
            errors[exc.field or "quantity"] = exc.message
    if not errors:
        db.session.commit()
        return see_other(url_for("repairs.parts"))
    return render(
        "repairs/parts.html",
        "repairs/_parts.html",
        status=422,
        rows=repair_service.catalogue(current_user),
        low=repair_service.low_stock(current_user),
        campuses=visible_campuses(),
        models=db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name)).all(),
        errors={f"stock-{part.id}": next(iter(errors.values()))},
        values={},
    )


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
    value = request.args.get("status", "open")
    status = ClaimStatus(value) if value in ClaimStatus._value2member_map_ else None
    page = db.paginate(
        warranty.claims_query(current_user, status, open_only=value == "open"),
        page=page_arg(),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render(
        "repairs/claims.html", "repairs/_claims.html", page=page, status_arg=value, statuses=list(ClaimStatus)
    )


@bp.get("/claims/<int:claim_id>")
@permission_required("repairs.work")
def claim(claim_id: int):
    return render("repairs/claim.html", "repairs/_claim.html", claim=_claim_or_404(claim_id), errors={})


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
    try:
        actions[action]()
    except Invalid as exc:
        db.session.rollback()
        return render(
            "repairs/claim.html",
            "repairs/_claim.html",
            status=422,
            claim=row,
            errors={exc.field or action: exc.message},
        )
    db.session.commit()
    if is_htmx():
        return render("repairs/claim.html", "repairs/_claim.html", claim=row, errors={})
    return redirect(url_for("repairs.claim", claim_id=row.id), 303)


@bp.route("/batches", methods=["GET", "POST"])
@permission_required("repairs.work")
def batches():
    errors: dict[str, str] = {}
    status = 200
    if request.method == "POST":
        campus = db.session.get(Campus, _int("campus") or 0)
        try:
            if campus is None:
                raise Invalid("Choose one of your campuses.", field="campus")
            batch = warranty.new_batch(
                vendor=request.form.get("vendor", ""), campus=campus, by=current_user, via=Via.web
            )
        except Invalid as exc:
            db.session.rollback()
            errors[exc.field or "vendor"] = exc.message
            status = 422
        else:
            db.session.commit()
            return see_other(url_for("repairs.batch", batch_id=batch.id))
    vendors = sorted(
        {
            v
            for v in db.session.scalars(
                sa.select(WarrantyClaim.vendor)
                .join(Asset, Asset.id == WarrantyClaim.asset_id)
                .where(WarrantyClaim.batch_id.is_(None), WarrantyClaim.status.in_(warranty.SHIPPABLE))
                .where(Asset.campus_id.in_([c.id for c in visible_campuses()]))
            )
        }
    )
    return render(
        "repairs/batches.html",
        status=status,
        batches=db.session.scalars(warranty.batches_query(current_user).limit(200)).all(),
        campuses=visible_campuses(),
        vendors=vendors,
        errors=errors,
        values=dict(request.form),
    )


@bp.get("/batches/<int:batch_id>")
@permission_required("repairs.work")
def batch(batch_id: int):
    row = _batch_or_404(batch_id)
    return render(
        "repairs/batch.html", "repairs/_batch.html", batch=row, addable=warranty.addable_claims(row), errors={}
    )


@bp.post("/batches/<int:batch_id>/<action>")
@permission_required("repairs.work")
def batch_action(batch_id: int, action: str):
    row = _batch_or_404(batch_id)
    if action not in ("add", "remove", "ship"):
        abort(404)
    try:
        if action == "ship":
            warranty.ship_batch(row, by=current_user, via=Via.web, tracking=request.form.get("tracking", ""))
        else:
            item = db.session.get(WarrantyClaim, _int("claim") or 0)
            if item is None or not current_user.can_see_campus(item.asset.campus_id):
                raise Invalid("Choose a claim from the list.", field="claim")
            if action == "add":
                warranty.add_to_batch(row, item, by=current_user, via=Via.web)
            else:
                warranty.remove_from_batch(row, item, by=current_user, via=Via.web)
    except Invalid as exc:
        db.session.rollback()
        return render(
            "repairs/batch.html",
            "repairs/_batch.html",
            status=422,
            batch=row,
            addable=warranty.addable_claims(row),
            errors={exc.field or action: exc.message},
        )
    db.session.commit()
    if is_htmx():
        return render(
            "repairs/batch.html", "repairs/_batch.html", batch=row, addable=warranty.addable_claims(row), errors={}
        )
    return redirect(url_for("repairs.batch", batch_id=row.id), 303)


@bp.get("/batches/<int:batch_id>/packing-list")
@permission_required("repairs.work")
def packing_list(batch_id: int):
    return render("repairs/packing_list.html", batch=_batch_or_404(batch_id))


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
    try:
        claim = scan(code, by=current_user, via=Via.web)
    except Invalid as exc:
        db.session.rollback()
        return render(
            "repairs/receive.html",
            "repairs/_receive_result.html",
            status=422,
            **{**ctx, "error": exc.message, "code": code},
        )
    db.session.commit()
    return render("repairs/receive.html", "repairs/_receive_result.html", **{**ctx, "result": claim})


@bp.get("/swaps")
@permission_required("repairs.work")
def swaps():
    return render(
        "repairs/swaps.html", "repairs/_swaps.html", swaps=repair_service.swaps_to_reverse(current_user), errors={}
    )


@bp.post("/swaps/<int:swap_id>/reverse")
@permission_required("repairs.work")
def reverse(swap_id: int):
    row = db.session.get(LoanerSwap, swap_id)
    if row is None or not current_user.can_see_campus(row.broken_asset.campus_id):
        abort(404)
    try:
        repair_service.reverse_swap(row, by=current_user, via=Via.web, loaner_condition=_condition_arg())
    except Invalid as exc:
        db.session.rollback()
        return render(
            "repairs/swaps.html",
            "repairs/_swaps.html",
            status=422,
            swaps=repair_service.swaps_to_reverse(current_user),
            errors={swap_id: exc.message},
        )
    db.session.commit()
    if is_htmx():
        return render(
            "repairs/swaps.html", "repairs/_swaps.html", swaps=repair_service.swaps_to_reverse(current_user), errors={}
        )
    return redirect(url_for("repairs.swaps"), 303)


def _fee_status_arg() -> FeeStatus | None:
    value = request.args.get("status", "")
    return FeeStatus(value) if value in FeeStatus._value2member_map_ else None


@bp.get("/fees")
@permission_required("repairs.work")
def fees():
    status = _fee_status_arg()
    page = db.paginate(
        fee_service.fees_query(current_user, status=status),
        page=page_arg(),
        per_page=PER_PAGE,
        max_per_page=PER_PAGE,
        error_out=False,
    )
    return render(
        "repairs/fees.html",
        "repairs/_fees.html",
        page=page,
        status=status,
        statuses=list(FeeStatus),
        totals=fee_service.totals(current_user),
        errors={},
    )


@bp.get("/fees.csv")
@permission_required("repairs.work")
def fees_csv():
    # Built before the response leaves: the rows load related records through this request's session.
    body = "".join(fee_service.export_csv(current_user, status=_fee_status_arg()))
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
        try:
            changed = fee_service.set_schedule(fee_service.parse_schedule(text), by=current_user, via=Via.web)
        except Invalid as exc:
            db.session.rollback()
            error = exc.message
        else:
            db.session.commit()
            flash("Saved the fee schedule." if changed else "Nothing changed.")
            return see_other(url_for("repairs.fee_schedule"))
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
    value = request.form.get("status", "")
    try:
        if value not in (FeeStatus.paid.value, FeeStatus.waived.value):
            raise Invalid("Choose paid or waived.", field="status")
        fee_service.settle(fee, FeeStatus(value), by=current_user, via=Via.web, note=request.form.get("note", ""))
    except Invalid as exc:
        db.session.rollback()
        page = db.paginate(
            fee_service.fees_query(current_user), page=1, per_page=PER_PAGE, max_per_page=PER_PAGE, error_out=False
        )
        return render(
            "repairs/fees.html",
            "repairs/_fees.html",
            status=422,
            page=page,
            statuses=list(FeeStatus),
            totals=fee_service.totals(current_user),
            errors={fee_id: exc.message},
        )
    db.session.commit()
    return see_other(url_for("repairs.fees"))


@bp.get("/repeat")
@permission_required("repairs.work")
def repeat():
    days = request.args.get("days", 365, type=int)
    days = min(max(days or 365, 30), 3650)
    return render("repairs/repeat.html", found=repair_service.repeat_damage(current_user, days=days), days=days)


@bp.get("/people/<external_id>")
@permission_required("repairs.work")
def person_damage(external_id: str):
    person: Person = get_person_or_404(external_id)
    note_record_view(person, "repairs")
    return render("repairs/person.html", person=person, history=repair_service.damage_history(person))


@bp.get("/devices/<asset_tag>")
@permission_required("repairs.work")
def device_damage(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    tickets = repair_service.device_history(asset)
    return render(
        "repairs/device.html",
        asset=asset,
        tickets=[(t, repair_service.ticket_cost(t)) for t in tickets],
        claims=db.session.scalars(
            sa.select(WarrantyClaim).where(WarrantyClaim.asset_id == asset.id).order_by(WarrantyClaim.id.desc())
        ).all(),
    )


def _months_arg() -> int:
    return min(max(request.args.get("months", 12, type=int) or 12, 1), 60)


@bp.get("/planning")
@permission_required("repairs.plan")
def planning():
    months = _months_arg()
    return render("repairs/planning.html", p=repair_service.planning(current_user, months=months), months=months)


@bp.get("/planning.csv")
@permission_required("repairs.plan")
def planning_csv():
    p = repair_service.planning(current_user, months=_months_arg())
    body = write_csv(("section", "key", "value", "detail"), repair_service.planning_csv_rows(p))
    resp = Response("".join(body), mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=rollcall-repair-planning.csv"
    return resp
