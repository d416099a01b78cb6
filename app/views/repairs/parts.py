"""The parts catalogue and each campus's stock: adding and editing a part, and changing its stock for a reason
(counted, received, damaged, lost) with the history of those changes."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Campus, DeviceModel, Part, StockReason, Via
from app.services.repairs import parts as part_service
from app.views.repairs.blueprint import bp
from app.views.repairs.common import Posted
from app.web import committing, is_htmx, permission_required, render, see_other
from app.web.args import whole
from app.web.loaders import visible_campuses

PART_FIELDS = ("name", "part_number", "unit_cost", "low_stock_at")


def _models() -> list[DeviceModel]:
    return list(db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name)))


def _posted_fits() -> list[DeviceModel]:
    model_ids = [i for i in map(whole, request.form.getlist("fits")) if i]
    return list(db.session.scalars(sa.select(DeviceModel).where(DeviceModel.id.in_(model_ids)))) if model_ids else []


def _parts_page(status: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None):
    return render(
        "repairs/parts.html",
        "repairs/_parts.html",
        status=status,
        rows=part_service.catalogue(current_user),
        low=part_service.low_stock(current_user),
        campuses=visible_campuses(),
        reasons=part_service.ADJUST_REASONS,
        models=_models(),
        errors=errors or {},
        values=values or {},
    )


def _part_page(
    part: Part,
    status: int = 200,
    *,
    errors: dict[str, str] | None = None,
    values: dict[str, str] | None = None,
    fits: list[int] | None = None,
    stock_values: dict[str, str] | None = None,
    done: dict[str, Any] | None = None,
):
    """The part's page: what it is (an edit form), its stock on the user's campuses, a stock change form and the
    history of its changes."""
    campuses = visible_campuses()
    values = values or {
        "name": part.name,
        "part_number": part.part_number,
        "unit_cost": str(part.unit_cost),
        "low_stock_at": str(part.low_stock_at),
    }
    return render(
        "repairs/part.html",
        "repairs/_part.html",
        status=status,
        part=part,
        campuses=campuses,
        stock={c.id: part_service.stock_of(part, c.id) for c in campuses},
        history=part_service.adjustments(part, current_user),
        reasons=part_service.ADJUST_REASONS,
        models=_models(),
        fits=set(fits if fits is not None else [m.id for m in part.fits]),
        errors=errors or {},
        values=values,
        stock_values=stock_values or {},
        done=done or {},
    )


def _load_part(part_id: int) -> Part:
    """The catalogue part; 404 when there is none (the catalogue is the district's, its stock each campus's)."""
    return db.get_or_404(Part, part_id)


@bp.route("/parts", methods=["GET", "POST"])
@permission_required("repairs.work")
def parts():
    if request.method == "GET":
        return _parts_page()
    posted = Posted()
    low = posted.number("low_stock_at", "Enter a whole number.", 2)
    if low is None:
        return _parts_page(422, posted.errors, dict(request.form))
    with committing() as outcome:
        part_service.create_part(
            name=request.form.get("name", ""),
            part_number=request.form.get("part_number", ""),
            unit_cost=request.form.get("unit_cost", ""),
            fits=_posted_fits(),
            low_stock_at=low,
            by=current_user,
            via=Via.web,
        )
    if outcome.refused is not None:
        return _parts_page(422, {outcome.refused.field or "name": outcome.message}, dict(request.form))
    return see_other(url_for("repairs.parts"))


@bp.route("/parts/<int:part_id>", methods=["GET", "POST"])
@permission_required("repairs.work")
def part(part_id: int):
    """GET: the part's page. POST: save its edit form (422 with each field's message)."""
    part = _load_part(part_id)
    if request.method == "GET":
        return _part_page(part)
    posted = Posted()
    low = posted.number("low_stock_at", "Enter a whole number.", 2)
    values = {name: request.form.get(name, "") for name in PART_FIELDS}
    fits = _posted_fits()
    if low is not None:
        with committing() as outcome:
            part_service.update_part(
                part,
                name=values["name"],
                part_number=values["part_number"],
                unit_cost=values["unit_cost"],
                fits=fits,
                low_stock_at=low,
                by=current_user,
                via=Via.web,
            )
        if outcome.refused is None:
            if is_htmx():
                return _part_page(part, done={"saved": True})
            return see_other(url_for("repairs.part", part_id=part.id))
        posted.refuse(outcome.refused.field or "name", outcome.message)
    part = _load_part(part_id)
    return _part_page(part, 422, errors=posted.errors, values=values, fits=[m.id for m in fits])


@bp.post("/parts/<int:part_id>/stock")
@permission_required("repairs.work")
def add_stock(part_id: int):
    """Change a campus's stock of the part. With a `reason` (counted, received, damaged, lost) the quantity is a
    count or an amount and the answer is the part's page; without one (the catalogue's older form) a signed
    quantity adds or writes off and the answer is the catalogue."""
    part = _load_part(part_id)
    if request.form.get("reason") is None:
        return _legacy_stock(part)
    posted = Posted()
    campus = posted.record("campus", Campus, "Choose one of your campuses.")
    if campus is not None and not current_user.can_see_campus(campus.id):
        posted.refuse("campus", "Choose one of your campuses.")
    reason = posted.choice(
        "reason",
        StockReason,
        "Choose why the stock changes: counted, received, damaged or lost.",
        among=part_service.ADJUST_REASONS,
    )
    quantity = posted.number("quantity", "Enter a whole number.")
    note = request.form.get("note", "")
    if campus is not None and reason is not None and quantity is not None and not posted.errors:
        with committing() as outcome:
            row = part_service.adjust_stock(part, campus, reason, quantity, note=note, by=current_user, via=Via.web)
            done = {"campus": campus.code, "stock": row.stock_after}
        if outcome.refused is None:
            if request.form.get("from") == "catalogue":
                return see_other(url_for("repairs.parts"))
            if is_htmx():
                return _part_page(part, done=done)
            return see_other(url_for("repairs.part", part_id=part.id))
        posted.refuse(outcome.refused.field or "quantity", outcome.message)
        part = _load_part(part_id)
    stock_values = {f"stock_{k}": request.form.get(k, "") for k in ("campus", "reason", "quantity", "note")}
    if request.form.get("from") == "catalogue":
        return _parts_page(422, {f"stock-{part.id}": next(iter(posted.errors.values()))})
    errors = {f"stock_{k}": v for k, v in posted.errors.items()}
    return _part_page(part, 422, errors=errors, stock_values=stock_values)


def _legacy_stock(part: Part):
    posted = Posted()
    campus = posted.record("campus", Campus, "Choose one of your campuses.")
    if campus is not None and not current_user.can_see_campus(campus.id):
        posted.refuse("campus", "Choose one of your campuses.")
    quantity = posted.number("quantity", "Enter a whole number.")
    if campus is None or quantity is None or posted.errors:
        message = next(iter(posted.errors.values()))
    else:
        with committing() as outcome:
            part_service.add_stock(part, campus, quantity, by=current_user, via=Via.web)
        if outcome.refused is None:
            return see_other(url_for("repairs.parts"))
        message = outcome.message
    return _parts_page(422, {f"stock-{part.id}": message})
