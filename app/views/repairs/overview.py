"""The repairs page: swaps to reverse, parts running low, open claims, recent batches and fee totals."""

from __future__ import annotations

from flask_login import current_user

from app.extensions import db
from app.services import fees as fee_service
from app.services import warranty
from app.services.repairs import parts, swaps
from app.views.repairs.blueprint import bp
from app.views.repairs.common import PER_PAGE
from app.web import permission_required, render


@bp.get("")
@permission_required("repairs.work")
def index():
    return render(
        "repairs/index.html",
        swaps=swaps.swaps_to_reverse(current_user),
        low=parts.low_stock(current_user),
        claims=db.session.scalars(warranty.claims_query(current_user, open_only=True).limit(PER_PAGE)).all(),
        batches=db.session.scalars(warranty.batches_query(current_user).limit(10)).all(),
        fee_totals=fee_service.totals(current_user),
    )
