"""The activity log, filterable by person, asset and date (admins and techs)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import sqlalchemy as sa
from flask import Blueprint, request
from flask_login import current_user

from app.extensions import db
from app.models import Activity, Asset, User
from app.services.assets import visible_to
from app.web import permission_required, render
from app.web.args import date_arg, page_arg

bp = Blueprint("activity", __name__, url_prefix="/activity")


@bp.get("")
@permission_required("activity.read")
def index():
    args = request.args
    stmt = sa.select(Activity).order_by(Activity.at.desc(), Activity.id.desc())
    if current_user.campus_ids is not None:
        # Campus-scoped staff see entries about their campuses; district-level entries stay with admins.
        stmt = stmt.where(visible_to(current_user, Activity.campus_id))
    user_email = args.get("user", "").strip().lower()
    if user_email:
        stmt = stmt.join(User, User.id == Activity.user_id).where(User.email == user_email)
    tag = args.get("asset", "").strip().upper()
    if tag:
        stmt = stmt.join(Asset, Asset.id == Activity.asset_id).where(Asset.asset_tag == tag)
    since, until = date_arg("from"), date_arg("to")
    if since:
        stmt = stmt.where(Activity.at >= datetime.combine(since, time.min, UTC))
    if until:
        stmt = stmt.where(Activity.at < datetime.combine(until + timedelta(days=1), time.min, UTC))
    page = db.paginate(stmt, page=page_arg(), per_page=50, max_per_page=50, error_out=False)
    return render(
        "activity/index.html",
        "activity/_rows.html",
        page=page,
        args={k: v for k, v in args.items() if k != "page" and v},
    )
