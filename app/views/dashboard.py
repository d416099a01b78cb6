"""The landing page: honest numbers about the devices on the user's campuses."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint
from flask_login import current_user, login_required

from app.extensions import db
from app.models import Asset, AssetStatus
from app.services.assets import visible_to
from app.web import render
from app.web.loaders import visible_campuses

bp = Blueprint("dashboard", __name__)


@bp.get("/")
@login_required
def index():
    rows = db.session.execute(
        sa.select(Asset.campus_id, Asset.status, sa.func.count())
        .where(visible_to(current_user))
        .group_by(Asset.campus_id, Asset.status)
    ).all()
    campuses = visible_campuses()
    counts = {(campus_id, status): n for campus_id, status, n in rows}
    by_status = {s: sum(n for (_, st), n in counts.items() if st is s) for s in AssetStatus}
    return render(
        "dashboard/index.html",
        campuses=campuses,
        statuses=list(AssetStatus),
        counts=counts,
        by_status=by_status,
        total=sum(by_status.values()),
    )
