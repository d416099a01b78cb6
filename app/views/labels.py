"""Printable QR labels: choose devices (search, room, campus, not yet printed) or rooms, record the print, show
the sheet at the stock's exact geometry."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Blueprint, abort, current_app, request, url_for
from flask_login import current_user

from app.extensions import db
from app.models import Asset, LabelFormat, LabelPrint, Room, Via
from app.services import labels as label_service
from app.services.assets import AssetFilters
from app.services.errors import Invalid
from app.views.assets import rooms_of
from app.web import committing, permission_required, render, see_other
from app.web.args import choice, whole, whole_number
from app.web.loaders import visible_campuses

bp = Blueprint("labels", __name__, url_prefix="/labels")

SHOWN = 200


def _choice() -> dict:
    """The chooser's filters, from the query string (GET) or the form (POST)."""
    v = request.values
    kind = v.get("kind", "assets")
    return {
        "kind": kind if kind in ("assets", "rooms") else "assets",
        "q": v.get("q", "")[:100],
        "campus_id": whole_number(v.get("campus"), "campus", low=1),
        "room_id": whole_number(v.get("room"), "room", low=1),
        "not_printed": v.get("not_printed") == "1",
        "format": choice(v.get("format"), LabelFormat, LabelFormat.avery5160),
        "start": (v.get("start") or "").strip()[:20],
        "code128": v.get("code128") == "1",
        # "Select none" shows the list with every box unticked, for choosing a few by hand.
        "ticked": v.get("ticked") != "none",
    }


def _start(c: dict) -> int | None:
    """The "start at label" field as a number (None when blank); anything else is refused on the field."""
    text = c["start"]
    if not text:
        return None
    if not (text.isascii() and text.isdigit()):
        raise Invalid("Start at must be a label number, such as 1.", field="start")
    return int(text)


def _query(c: dict) -> sa.Select:
    if c["campus_id"] and not current_user.can_see_campus(c["campus_id"]):
        abort(404)
    if c["kind"] == "rooms":
        return label_service.rooms_to_label(current_user, c["campus_id"], not_printed=c["not_printed"])
    f = AssetFilters(q=c["q"], campus_id=c["campus_id"], room_id=c["room_id"])
    return label_service.assets_to_label(current_user, f, not_printed=c["not_printed"])


def _chooser(c: dict, errors: dict[str, str] | None = None, status: int = 200):
    """The chooser with what its filters find (the first SHOWN of them) and how many that is."""
    stmt = _query(c)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(stmt.order_by(None).subquery()))
    return render(
        "labels/index.html",
        "labels/_choices.html",
        status=status,
        c=c,
        rows=list(db.session.scalars(stmt.limit(SHOWN))),
        total=total,
        shown=SHOWN,
        max_labels=label_service.MAX_LABELS,
        formats=list(LabelFormat),
        per_sheet=label_service.PER_SHEET,
        campuses=visible_campuses(),
        rooms=rooms_of(c["campus_id"]),
        errors=errors or {},
    )


@bp.get("")
@permission_required("labels.print")
def index():
    return _chooser(_choice())


@bp.post("/print")
@permission_required("labels.print")
def print_labels():
    c = _choice()
    model = Room if c["kind"] == "rooms" else Asset
    if request.form.get("all") == "1":
        targets = list(db.session.scalars(_query(c).limit(label_service.MAX_LABELS + 1)))
    else:
        ids = [i for i in map(whole, request.form.getlist("ids")) if i][: label_service.MAX_LABELS + 1]
        by_id = {t.id: t for t in db.session.scalars(sa.select(model).where(model.id.in_(ids)))} if ids else {}
        # Keep the order people saw; anything missing or outside their campuses is simply not there.
        targets = [by_id[i] for i in ids if i in by_id and current_user.can_see_campus(by_id[i].campus_id)]
    with committing() as outcome:
        job = label_service.record_print(
            c["format"],
            targets,
            by=current_user,
            via=Via.web,
            first_position=_start(c),
            code128=c["code128"] and model is Asset,
        )
    if outcome.refused:
        return _chooser(c, {outcome.refused.field or "ids": outcome.message}, 422)
    return see_other(url_for("labels.sheet", print_id=job.id))


@bp.get("/prints/<int:print_id>")
@permission_required("labels.print")
def sheet(print_id: int):
    job = db.session.get(LabelPrint, print_id)
    if job is None or not label_service.print_visible_to(job, current_user):
        abort(404)
    labels = label_service.labels_of(job, current_app.config["BASE_URL"])
    return render(
        "labels/sheet.html",
        job=job,
        pages=label_service.sheets(labels, job.format, job.first_position),
        fmt=job.format.value,
        per_sheet=label_service.PER_SHEET[job.format],
    )
