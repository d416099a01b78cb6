"""Room audits in the JSON API: open audits to join, and one audit's result (what the live page shows after sync)."""

from __future__ import annotations

from flask import abort, jsonify, request
from flask_login import current_user

from app.extensions import db
from app.models import Audit, AuditStatus
from app.services import audits as audit_service
from app.services.sync import find_room
from app.views.api.blueprint import bp
from app.views.api.common import campus_id_arg
from app.views.api.serialize import audit_summary_json
from app.views.openapi import errors, json_response, query_param, register_paths
from app.web import permission_required


@bp.get("/api/v1/audits")
@permission_required("audits.read")
def audits():
    status = request.args.get("status", "")
    if status and status not in AuditStatus._value2member_map_:
        abort(422, f"Unknown status {status!r}.")
    room = None
    if request.args.get("room"):
        room = find_room(request.args["room"])
        if room is None or not current_user.can_see_campus(room.campus_id):
            abort(404, "No such room on your campuses.")
    stmt = audit_service.audits_query(current_user, room=room, campus_id=campus_id_arg())
    if status:
        stmt = stmt.where(Audit.status == AuditStatus(status))
    rows = db.session.scalars(stmt.limit(100))
    return jsonify({"items": [audit_summary_json(a) for a in rows]})


@bp.get("/api/v1/audits/<uuid>")
@permission_required("audits.read")
def audit(uuid: str):
    found = audit_service.find_audit(uuid)
    if found is None or not current_user.can_see_campus(found.campus_id):
        abort(404, "No such audit on your campuses.")
    result = audit_service.audit_result(found)
    body = audit_service.result_json(result, current_user)
    body["asked_for"] = found.uuid
    return jsonify(body)


_AUDIT_SUMMARY = {
    "type": "object",
    "properties": {
        "audit": {"type": "string", "description": "The client UUID naming the audit"},
        "room": {"type": "string"},
        "campus": {"type": "string"},
        "status": {"type": "string", "enum": ["open", "closed"]},
        "started_at": {"type": "string", "format": "date-time"},
        "started_by": {"type": ["string", "null"]},
        "closed_at": {"type": ["string", "null"], "format": "date-time"},
    },
}
_DEVICE = {
    "type": "object",
    "properties": {
        "asset_tag": {"type": "string"},
        "model": {"type": "string"},
        "scans": {"type": "integer"},
        "duplicate": {"type": "boolean"},
        "condition": {"type": ["string", "null"]},
        "synced_late": {"type": "boolean", "description": "Scanned before the close, reached the server after"},
    },
}

register_paths(
    {
        "/api/v1/audits": {
            "get": {
                "summary": "Room audits on your campuses, newest first (open ones can be joined)",
                "operationId": "listAudits",
                "parameters": [
                    query_param("room", "Room code or room tag code"),
                    query_param("campus", "Campus code"),
                    query_param("status", "open or closed"),
                ],
                "responses": {
                    "200": json_response(
                        {
                            "type": "object",
                            "properties": {
                                "items": {"type": "array", "items": {"$ref": "#/components/schemas/AuditSummary"}}
                            },
                        }
                    ),
                    **errors(401, 404, 422),
                },
            }
        },
        "/api/v1/audits/{uuid}": {
            "get": {
                "summary": "An audit's result: expected, found, missing, unexpected, unknown and late scans",
                "operationId": "getAudit",
                "parameters": [{"name": "uuid", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response({"$ref": "#/components/schemas/AuditResult"}), **errors(401, 404)},
            }
        },
    },
    {
        "AuditSummary": _AUDIT_SUMMARY,
        "AuditResult": {
            "type": "object",
            "properties": {
                **_AUDIT_SUMMARY["properties"],
                "members": {"type": "array", "items": {"type": "string"}, "description": "UUIDs of joined audits"},
                "closed_by": {"type": ["string", "null"]},
                "expected": {"type": "integer"},
                "found": {"type": "array", "items": _DEVICE},
                "missing": {"type": "array", "items": _DEVICE},
                "unexpected": {"type": "array", "items": _DEVICE},
                "unknown": {"type": "array", "items": {"type": "object"}},
                "late": {"type": "array", "items": {"type": "object"}},
            },
        },
    },
)
