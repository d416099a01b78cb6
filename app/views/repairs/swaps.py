"""Loaner swaps waiting to be reversed, and reversing one: the loaner comes back, the repaired device goes home."""

from __future__ import annotations

from flask import abort, redirect, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Condition, LoanerSwap, Via
from app.services.repairs import swaps as swap_service
from app.views.repairs.blueprint import bp
from app.web import committing, is_htmx, permission_required, render
from app.web.args import choice


def _swaps_page(status: int = 200, errors: dict[int, str] | None = None):
    return render(
        "repairs/swaps.html",
        "repairs/_swaps.html",
        status=status,
        swaps=swap_service.swaps_to_reverse(current_user),
        errors=errors or {},
    )


@bp.get("/swaps")
@permission_required("repairs.work")
def swaps():
    return _swaps_page()


@bp.post("/swaps/<int:swap_id>/reverse")
@permission_required("repairs.work")
def reverse(swap_id: int):
    row = db.session.get(LoanerSwap, swap_id)
    if row is None or not current_user.can_see_campus(row.broken_asset.campus_id):
        abort(404)
    condition = choice(request.form.get("condition"), Condition)
    with committing() as outcome:
        swap_service.reverse_swap(row, by=current_user, via=Via.web, loaner_condition=condition)
    if outcome.refused is not None:
        return _swaps_page(422, {swap_id: outcome.message})
    if is_htmx():
        return _swaps_page()
    return redirect(url_for("repairs.swaps"), 303)
