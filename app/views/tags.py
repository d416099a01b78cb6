"""Where a QR tag leads: /t/<code> (staff to the record, everyone else to the damage report) and /r (type a code)."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user

from app.models import Via
from app.services import tags as tag_service
from app.tagcodes import looks_like_code
from app.views.reports import render_report_form
from app.views.reports_i18n import language_switch
from app.web import committing, permission_required, see_other
from app.web.loaders import get_asset_or_404, get_room_or_404

bp = Blueprint("tags", __name__)
bp.context_processor(language_switch)


def _unknown(typed: str = "", errors: dict | None = None, status: int = 404):
    """The friendly page for a code nobody has (or had, before it was reissued), with a box to type it again."""
    body = render_template("tags/unknown.html", typed=typed, errors=errors or {})
    resp = current_app.make_response((body, status))
    resp.headers["Cache-Control"] = "no-store"
    return resp


@bp.get("/t/<code>")
def scan(code: str):
    hit = tag_service.lookup(code)
    if hit is None:
        return _unknown(code[:40])
    canonical = hit.asset.tag_code if hit.asset else hit.room.tag_code
    if code != canonical:
        # One spelling per tag, so links, logs and rate limits all see the same code.
        return redirect(url_for("tags.scan", code=canonical), 302)
    staff = current_user.is_authenticated and current_user.can_see_campus(hit.campus_id)
    if staff and hit.asset is not None:
        return redirect(url_for("assets.detail", asset_tag=hit.asset.asset_tag))
    if staff:
        return redirect(url_for("assets.by_room", code=hit.room.code))
    if hit.room is not None:
        return render_template("tags/room.html")
    return render_report_form(hit.asset)


@bp.get("/r")
def type_code():
    typed = request.args.get("code", "").strip()[:60]
    if not typed:
        return render_template("tags/type.html", typed="", errors={})
    code = tag_service.code_from_text(typed)
    if code is None or not looks_like_code(code):
        error = _("That doesn't look like a sticker code: it has ten letters and numbers.")
        body = render_template("tags/type.html", typed=typed, errors={"code": error})
        return current_app.make_response((body, 422))
    if tag_service.lookup(code) is None:
        return _unknown(typed, {"code": _("No device or room has that code.")})
    return redirect(url_for("tags.scan", code=code), 303)


@bp.post("/tags/assets/<asset_tag>/reissue")
@permission_required("assets.edit")
def reissue_asset(asset_tag: str):
    asset = get_asset_or_404(asset_tag)
    with committing() as outcome:
        tag_service.reissue(asset, by=current_user, via=Via.web)
    if outcome.refused:
        abort(422, outcome.message)
    return see_other(url_for("assets.detail", asset_tag=asset.asset_tag))


@bp.post("/tags/rooms/<code>/reissue")
@permission_required("labels.print")
def reissue_room(code: str):
    room = get_room_or_404(code)
    with committing() as outcome:
        tag_service.reissue(room, by=current_user, via=Via.web)
    if outcome.refused:
        abort(422, outcome.message)
    return see_other(url_for("labels.index", kind="rooms", campus=room.campus_id))
