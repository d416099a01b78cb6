"""The outbox's door (POST /api/v1/sync) and the offline pack of a campus."""

from __future__ import annotations

import gzip
import hashlib
import json

from flask import Response, abort, request
from flask_login import current_user

from app import inputs
from app.extensions import db
from app.models import Campus
from app.ops import metrics
from app.services import sync as sync_service
from app.views.api.blueprint import bp
from app.views.api.common import campus_id_arg
from app.views.openapi import error_response, json_response, register_paths
from app.web import permission_required
from app.web.errors import json_error


@bp.post("/api/v1/sync")
@permission_required("sync")
def sync():
    """Apply a batch of outbox events; one result per event, in order."""
    too_large = (
        f"At most {sync_service.MAX_EVENTS} events or {sync_service.MAX_BYTES // 1024} KB per request; "
        "send smaller batches."
    )
    if (request.content_length or 0) > sync_service.MAX_BYTES:
        return json_error(413, too_large)
    raw = request.get_data(cache=False)
    if len(raw) > sync_service.MAX_BYTES:
        return json_error(413, too_large)
    try:
        # Lenient: an event holding something that cannot be stored is refused on its own, not the whole batch.
        body = inputs.loads(raw or b"null", lenient=True)
    except inputs.Unsafe as exc:
        return json_error(400, exc.message)
    except ValueError:
        return json_error(422, "The body must be JSON.")
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        return json_error(422, 'Send {"client_id": "...", "events": [...]}.', field="events")
    events = body["events"]
    if len(events) > sync_service.MAX_EVENTS:
        return json_error(413, too_large)
    client_id = body.get("client_id") if isinstance(body.get("client_id"), str) else ""
    if inputs.unstorable(client_id):
        client_id = ""  # only a label for the phone; not worth refusing its events over
    results = sync_service.apply_batch(events, user=current_user._get_current_object(), client_id=client_id)
    db.session.commit()
    metrics.count_sync(events, (r.status for r in results), sync_service.HANDLERS)
    # Compact and unsorted: the answer to 500 scans is ~100 KB, and jsonify's sorting cost more than the rest of it.
    body = json.dumps({"results": [r.as_json() for r in results]}, separators=(",", ":"))
    return Response(body, mimetype="application/json")


def _pack_campus() -> Campus:
    campus_id = campus_id_arg()
    if campus_id is None:
        ids = current_user.campus_ids
        if ids is None or len(ids) != 1:
            abort(422, "Name a campus: ?campus=CODE.")
        campus_id = next(iter(ids))
    return db.session.get(Campus, campus_id)


@bp.get("/api/v1/offline-pack")
@permission_required("scan")
def offline_pack():
    """A campus's rooms and devices for offline scanning, with an ETag so an unchanged pack answers 304."""
    campus = _pack_campus()
    body = json.dumps(sync_service.offline_pack(campus), separators=(",", ":")).encode()
    etag = hashlib.sha256(body).hexdigest()[:32]
    if request.if_none_match.contains_weak(etag):
        resp = Response(status=304)
        resp.set_etag(etag, weak=True)
        return resp
    resp = Response(body, mimetype="application/json")
    resp.set_etag(etag, weak=True)
    resp.vary.add("Accept-Encoding")
    if "gzip" in (request.headers.get("Accept-Encoding") or "") and len(body) > 1024:
        resp.set_data(gzip.compress(body, compresslevel=5))
        resp.headers["Content-Encoding"] = "gzip"
    resp.headers["X-Uncompressed-Length"] = str(len(body))
    return resp


register_paths(
    {
        "/api/v1/sync": {
            "post": {
                "summary": "Apply outbox events exactly once; one result per event, in order",
                "description": "Event types: scan (tag, room, condition?, note?, audit?) and those other features "
                "register. Replays answer `duplicate`; refused events answer `rejected` with a reason, and so "
                "does an id reused by another user or for a different event. Event times more than 5 minutes "
                "ahead of the server or before 2000 are clamped to the receive time and flagged. An event whose "
                "data holds NUL, a lone surrogate, a non-finite or over-64-bit number, or nesting deeper than 32 "
                "levels is rejected on its own and its data not kept. At most 500 events or 1 MB.",
                "operationId": "sync",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SyncBatch"}}},
                },
                "responses": {
                    "200": json_response({"$ref": "#/components/schemas/SyncResults"}),
                    "400": error_response("Missing X-CSRFToken with a session, or a body nested too deeply to read"),
                    "401": error_response("Not signed in or bad token"),
                    "413": error_response("More than 500 events or 1 MB"),
                    "422": error_response("Not a batch"),
                },
            }
        },
        "/api/v1/offline-pack": {
            "get": {
                "summary": "A campus's rooms and devices for offline scanning (no personal data)",
                "operationId": "offlinePack",
                "parameters": [
                    {"name": "campus", "in": "query", "required": False, "schema": {"type": "string"}},
                    {"name": "If-None-Match", "in": "header", "required": False, "schema": {"type": "string"}},
                ],
                "responses": {
                    "200": json_response({"$ref": "#/components/schemas/OfflinePack"}),
                    "304": {"description": "Unchanged since the ETag sent"},
                    "401": error_response("Not signed in or bad token"),
                    "403": error_response("Role not allowed (staff who scan: aides, librarians, techs, admins)"),
                    "404": error_response("Not on your campuses"),
                    "422": error_response("No campus named"),
                },
            }
        },
    },
    {
        "SyncEvent": {
            "type": "object",
            "required": ["id", "type", "at"],
            "properties": {
                "id": {"type": "string", "description": "A client UUID"},
                "type": {"type": "string", "examples": ["scan"]},
                "at": {"type": "string", "format": "date-time"},
                "data": {"type": "object"},
            },
        },
        "SyncBatch": {
            "type": "object",
            "required": ["events"],
            "properties": {
                "client_id": {"type": "string"},
                "events": {"type": "array", "maxItems": 500, "items": {"$ref": "#/components/schemas/SyncEvent"}},
            },
        },
        "SyncResults": {
            "type": "object",
            "properties": {
                "results": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "required": ["id", "status"],
                        "properties": {
                            "id": {"type": ["string", "null"]},
                            "status": {"type": "string", "enum": ["applied", "duplicate", "rejected"]},
                            "reason": {"type": "string"},
                            "info": {"type": "object"},
                            "flagged": {"type": "boolean"},
                        },
                    },
                }
            },
        },
        "OfflinePack": {
            "type": "object",
            "properties": {
                "campus": {"$ref": "#/components/schemas/Campus"},
                "rooms": {"type": "array", "items": {"type": "object"}},
                "assets": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "tag_code": {"type": "string"},
                            "asset_tag": {"type": "string"},
                            "serial": {"type": "string"},
                            "model": {"type": "string"},
                            "home_room": {"type": ["string", "null"]},
                            "status": {"type": "string"},
                        },
                    },
                },
            },
        },
    },
)
