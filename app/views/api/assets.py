"""Assets in the JSON API: search the inventory, one asset, and every sighting of one."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request
from flask_login import current_user

from app.extensions import db
from app.models import AssetStatus, Room
from app.services.assets import AssetFilters, asset_page
from app.services.observations import observations_of
from app.views.api.blueprint import bp
from app.views.api.common import campus_id_arg, note_people_shown, page_args
from app.views.api.serialize import asset_json, observation_json
from app.views.openapi import PAGING, errors, json_response, page_of, query_param, register_paths
from app.web import permission_required
from app.web.loaders import get_asset_or_404


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
    items = [asset_json(a) for a in result.items]
    note_people_shown(a.assigned_to for a in result.items)
    return jsonify({"items": items, "page": page, "per_page": per_page, "total": result.total})


@bp.get("/api/v1/assets/<asset_tag>")
@permission_required("assets.read")
def asset(asset_tag: str):
    """One asset; the person it is assigned to is logged as shown."""
    found = get_asset_or_404(asset_tag)
    body = asset_json(found)
    note_people_shown([found.assigned_to])
    return jsonify(body)


@bp.get("/api/v1/assets/<asset_tag>/observations")
@permission_required("assets.read")
def asset_observations(asset_tag: str):
    """Every sighting of an asset, newest first."""
    asset = get_asset_or_404(asset_tag)
    return jsonify({"items": [observation_json(o) for o in observations_of(asset)]})


register_paths(
    {
        "/api/v1/assets": {
            "get": {
                "summary": "Search the inventory on your campuses",
                "operationId": "listAssets",
                "parameters": [
                    query_param("q", "Search tag, serial, model, assignee"),
                    query_param("campus", "Campus code"),
                    query_param("room", "Room code"),
                    query_param("status", "Asset status"),
                    *PAGING,
                ],
                "responses": {"200": json_response(page_of("#/components/schemas/Asset")), **errors(401, 404, 422)},
            }
        },
        "/api/v1/assets/{asset_tag}": {
            "get": {
                "summary": "One asset",
                "operationId": "getAsset",
                "parameters": [{"name": "asset_tag", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response({"$ref": "#/components/schemas/Asset"}), **errors(401, 404)},
            }
        },
        "/api/v1/assets/{asset_tag}/observations": {
            "get": {
                "summary": "Every observation (scan) of an asset, newest first",
                "operationId": "assetObservations",
                "parameters": [{"name": "asset_tag", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": {"$ref": "#/components/schemas/Observation"}}
                            },
                        }
                    ),
                    **errors(401, 404),
                },
            }
        },
    },
    {
        "Observation": {
            "type": "object",
            "properties": {
                "id": {"type": "integer"},
                "at": {"type": "string", "format": "date-time"},
                "room": {"type": ["string", "null"]},
                "condition": {"type": ["string", "null"]},
                "by": {"type": ["string", "null"]},
                "audit": {"type": ["string", "null"]},
                "source": {"type": "string"},
                "flagged": {"type": "boolean"},
            },
        },
    },
)
