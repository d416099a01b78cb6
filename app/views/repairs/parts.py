"""The parts catalogue and each campus's stock: adding a part, putting parts on the shelf or writing them off."""

from __future__ import annotations

import sqlalchemy as sa
from flask import request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Campus, DeviceModel, Part, Via
from app.services.repairs import parts as part_service
from app.views.repairs.blueprint import bp
from app.views.repairs.common import Posted
from app.web import committing, permission_required, render, see_other
from app.web.args import whole
from app.web.loaders import visible_campuses


def _parts_page(status: int = 200, errors: dict[str, str] | None = None, values: dict[str, str] | None = None):
    return render(
        "repairs/parts.html",
        "repairs/_parts.html",
        status=status,
        rows=part_service.catalogue(current_user),
        low=part_service.low_stock(current_user),
        campuses=visible_campuses(),
        models=db.session.scalars(sa.select(DeviceModel).order_by(DeviceModel.manufacturer, DeviceModel.name)).all(),
        errors=errors or {},
        values=values or {},
    )


@bp.route("/parts", methods=["GET", "POST"])
@permission_required("repairs.work")
def parts():
    if request.method == "GET":
        return _parts_page()
    posted = Posted()
    low = posted.number("low_stock_at", "Enter a whole number.", 2)
    if low is None:
        return _parts_page(422, posted.errors, dict(request.form))
    model_ids = [i for i in map(whole, request.form.getlist("fits")) if i]
    fits = list(db.session.scalars(sa.select(DeviceModel).where(DeviceModel.id.in_(model_ids)))) if model_ids else []
    with committing() as outcome:
        part_service.create_part(
            name=request.form.get("name", ""),
            part_number=request.form.get("part_number", ""),
            unit_cost=request.form.get("unit_cost", ""),
            fits=fits,
            low_stock_at=low,
            by=current_user,
            via=Via.web,
        )
    if outcome.refused is not None:
        return _parts_page(422, {outcome.refused.field or "name": outcome.message}, dict(request.form))
    return see_other(url_for("repairs.parts"))


@bp.post("/parts/<int:part_id>/stock")
@permission_required("repairs.work")
def add_stock(part_id: int):
    part = db.get_or_404(Part, part_id)
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
