"""Damage history and planning: devices and people with repeat damage, one person's or device's record, and the
budget numbers with their CSV."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response
from flask_login import current_user

from app.extensions import db
from app.models import Person, WarrantyClaim
from app.services.csvio import write_csv
from app.services.repairs import costs, history
from app.services.repairs import planning as planning_service
from app.views.repairs.blueprint import bp
from app.web import note_record_view, permission_required, render
from app.web.args import MAX_ID, int_arg
from app.web.loaders import get_asset_or_404, get_person_or_404


def _clamped(name: str, default: int, low: int, high: int) -> int:
    """`?name=` as a whole number held between low and high; absent, blank or 0 gives the default."""
    value = int_arg(name, default, low=-MAX_ID) or default
    return min(max(value, low), high)


@bp.get("/repeat")
@permission_required("repairs.work")
def repeat():
    days = _clamped("days", history.REPEAT_WINDOW_DAYS, 30, 3650)
    return render("repairs/repeat.html", found=history.repeat_damage(current_user, days=days), days=days)


@bp.get("/people/<external_id>")
@permission_required("repairs.work")
def person_damage(external_id: str):
    person: Person = get_person_or_404(external_id)
    note_record_view(person, "repairs")
    return render("repairs/person.html", person=person, history=history.damage_history(person))


@bp.get("/devices/<asset_tag>")
@permission_required("repairs.work")
def device_damage(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    return render(
        "repairs/device.html",
        asset=asset,
        tickets=[(t, costs.ticket_cost(t)) for t in history.device_history(asset)],
        claims=db.session.scalars(
            sa.select(WarrantyClaim).where(WarrantyClaim.asset_id == asset.id).order_by(WarrantyClaim.id.desc())
        ).all(),
    )


def _months() -> int:
    return _clamped("months", 12, 1, 60)


@bp.get("/planning")
@permission_required("repairs.plan")
def planning():
    months = _months()
    return render("repairs/planning.html", p=planning_service.planning(current_user, months=months), months=months)


@bp.get("/planning.csv")
@permission_required("repairs.plan")
def planning_csv():
    p = planning_service.planning(current_user, months=_months())
    body = write_csv(("section", "key", "value", "detail"), planning_service.planning_csv_rows(p))
    resp = Response("".join(body), mimetype="text/csv")
    resp.headers["Content-Disposition"] = "attachment; filename=rollcall-repair-planning.csv"
    return resp
