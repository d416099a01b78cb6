"""The JSON API under /api/v1 (token or session auth; errors as JSON; 401, never a redirect)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, abort, jsonify, request
from flask_login import current_user

from app import permissions
from app.extensions import csrf, db
from app.models import Asset, AssetStatus, Campus, Person, PersonKind, Room
from app.services.assets import AssetFilters, asset_page
from app.services.people import search_people
from app.views.openapi import _errors, _json, register_paths, spec
from app.web import note_record_view, permission_required
from app.web.args import MAX_ID, int_arg, page_arg
from app.web.loaders import get_person_or_404

bp = Blueprint("api", __name__)
# Bearer callers skip CSRF in the app-wide check; session callers are checked there with X-CSRFToken.
csrf.exempt(bp)

MAX_PER_PAGE = 200


def iso(value) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text.replace("+00:00", "Z")


def room_json(room: Room | None) -> dict[str, Any] | None:
    if room is None:
        return None
    return {"code": room.code, "name": room.name, "kind": room.kind.value, "campus": room.campus.code}


def campus_json(campus: Campus | None) -> dict[str, Any] | None:
    return None if campus is None else {"code": campus.code, "name": campus.name}


def person_json(person: Person | None) -> dict[str, Any] | None:
    if person is None:
        return None
    if not permissions.allows(current_user, "people.read"):
        # What an asset's page shows everyone about its holder; the rest is for those who may read /people.
        return {"external_id": person.external_id, "name": person.name, "kind": person.kind.value}
    return {
        "external_id": person.external_id,
        "name": person.name,
        "kind": person.kind.value,
        "grade": person.grade,
        "email": person.email,
        "campus": person.campus.code if person.campus else None,
        "active": person.active,
    }


def asset_json(asset: Asset) -> dict[str, Any]:
    """The API's view of an asset, with the fields PRODUCT.md promises."""
    return {
        "asset_tag": asset.asset_tag,
        "serial": asset.serial,
        "tag_code": asset.tag_code,
        "model": {
            "manufacturer": asset.model.manufacturer,
            "name": asset.model.name,
            "category": asset.model.category,
        },
        "status": asset.status.value,
        "condition": asset.condition.value,
        "campus": campus_json(asset.campus),
        "home_room": room_json(asset.home_room),
        "current_room": room_json(asset.current_room),
        "last_seen": None
        if asset.last_seen_at is None
        else {
            "at": iso(asset.last_seen_at),
            "room": asset.current_room.code if asset.current_room else None,
            "by": asset.last_seen_by.email if asset.last_seen_by else None,
        },
        "assigned_to": person_json(asset.assigned_to),
        "aue_date": iso(asset.aue_date),
        "purchase_date": iso(asset.purchase_date),
        "purchase_cost": str(asset.purchase_cost) if asset.purchase_cost is not None else None,
        "warranty": {
            "provider": asset.warranty_provider,
            "plan": asset.warranty_plan,
            "start": iso(asset.warranty_start),
            "end": iso(asset.warranty_end),
            "accidental_damage": asset.warranty_accidental,
            "battery": asset.warranty_battery,
        },
        "notes": asset.notes,
        "updated_at": iso(asset.updated_at),
    }


def page_args() -> tuple[int, int]:
    """`page` (from 1) and `per_page` (clamped to 1..200, default 50) from the query string; 422 when either is not
    a whole number or the page is past any list."""
    page = page_arg(status=422)
    per_page = int_arg("per_page", 50, low=-MAX_ID, status=422)
    return page, min(MAX_PER_PAGE, max(1, per_page))


def paged(stmt: sa.Select, to_json) -> dict[str, Any]:
    page, per_page = page_args()
    result = db.paginate(stmt, page=page, per_page=per_page, max_per_page=MAX_PER_PAGE, error_out=False)
    return {"items": [to_json(x) for x in result.items], "page": page, "per_page": per_page, "total": result.total}


def campus_id_arg() -> int | None:
    """The campus named by ?campus=CODE; unknown or out-of-scope codes are a 404."""
    code = request.args.get("campus", "").strip().upper()
    if not code:
        return None
    campus = db.session.scalar(sa.select(Campus).where(Campus.code == code))
    if campus is None or not current_user.can_see_campus(campus.id):
        abort(404, f"No campus {code} on your campuses.")
    return campus.id


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError:
        return jsonify({"status": "error", "database": "unreachable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/api/openapi.json")
def openapi():
    return jsonify(spec())


@bp.get("/api/v1/assets")
@permission_required("assets.read")
def assets():
    status = request.args.get("status", "")
    if status and status not in AssetStatus._value2member_map_:
        abort(422, f"Unknown status {status!r}.")
    room_id = None
    if request.args.get("room"):
        room = db.session.scalar(sa.select(Room).where(Room.code == request.args["room"]))
        if room is None or not current_user.can_see_campus(room.campus_id):
            abort(404, "No such room on your campuses.")
        room_id = room.id
    f = AssetFilters(
        q=request.args.get("q", "")[:100],
        campus_id=campus_id_arg(),
        room_id=room_id,
        status=AssetStatus(status) if status else None,
    )
    page, per_page = page_args()
    result = asset_page(current_user, f, page, per_page)
    return jsonify(
        {"items": [asset_json(a) for a in result.items], "page": page, "per_page": per_page, "total": result.total}
    )


@bp.get("/api/v1/assets/<asset_tag>")
@permission_required("assets.read")
def asset(asset_tag: str):
    from app.web.loaders import get_asset_or_404

    return jsonify(asset_json(get_asset_or_404(asset_tag)))


@bp.get("/api/v1/people")
@permission_required("people.read")
def people():
    kind = request.args.get("kind", "")
    if kind and kind not in PersonKind._value2member_map_:
        abort(422, f"Unknown kind {kind!r}.")
    stmt = search_people(
        current_user, request.args.get("q", "")[:100], campus_id_arg(), PersonKind(kind) if kind else None
    )
    return jsonify(paged(stmt, person_json))


@bp.get("/api/v1/people/<external_id>")
@permission_required("people.read")
def person(external_id: str):
    """One student or staff member by their ID; the opening is logged like the person's page."""
    found = get_person_or_404(external_id)
    note_record_view(found, "api")
    return jsonify(person_json(found))


register_paths(
    {
        "/api/v1/people/{external_id}": {
            "get": {
                "summary": "One student or staff member on your campuses, by their ID (the opening is logged)",
                "operationId": "getPerson",
                "parameters": [{"name": "external_id", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/Person"}), **_errors(401, 403, 404)},
            }
        }
    }
)


# Each feature's API module adds its routes to `bp` above; importing them here registers them with it.
from app.views import api_audits, api_loans, api_repairs, api_sync, api_tickets  # noqa: E402,F401
