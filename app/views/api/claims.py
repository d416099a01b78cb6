"""/api/v1/claims: the vendor door. A warranty vendor's own token lists the claims sent to that vendor, reads one,
and sets its RMA, status, return tracking and notes; every other vendor's claim is a 404, and a vendor's token
opens no other route of the API."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import abort, g, jsonify, request
from flask_login import current_user

from app.extensions import db
from app.models import ClaimStatus, Vendor, Via, WarrantyClaim
from app.services import vendors, warranty
from app.views.api.blueprint import bp
from app.views.api.common import paged
from app.views.api.serialize import claim_json
from app.views.openapi import PAGING, errors, json_response, page_of, query_param, register_paths, request_body
from app.web import permission_required
from app.web.errors import json_error

DOOR = ("api.claims", "api.claim", "api.update_claim")
STATUS_VALUES = [s.value for s in ClaimStatus]


@bp.before_request
def vendor_tokens_open_only_their_door():
    """A vendor's login reaches /api/v1/claims and nothing else (no people, no devices, no sync)."""
    if request.endpoint in DOOR or not current_user.is_authenticated:
        return None
    if vendors.vendor_of(current_user) is not None:
        return json_error(403, "A vendor's token opens only /api/v1/claims.")
    return None


def _vendor() -> Vendor:
    vendor = g.get("vendor") or vendors.vendor_of(current_user)
    if vendor is None:
        abort(403)
    g.vendor = vendor
    return vendor


def _claim_or_404(claim_id: int) -> WarrantyClaim:
    """A claim sent to the calling vendor; any other (or none) is a 404 alike."""
    claim = db.session.get(WarrantyClaim, claim_id) if 0 < claim_id < 2**63 else None
    if claim is None or claim.vendor_id != _vendor().id:
        abort(404, f"No claim {claim_id} was sent to you.")
    return claim


@bp.get("/api/v1/claims")
@permission_required("claims.vendor")
def claims():
    vendor = _vendor()
    status = request.args.get("status", "")
    stmt = sa.select(WarrantyClaim).where(WarrantyClaim.vendor_id == vendor.id)
    if status == "open":
        stmt = stmt.where(WarrantyClaim.status.not_in(warranty.CLOSED))
    elif status in STATUS_VALUES:
        stmt = stmt.where(WarrantyClaim.status == ClaimStatus(status))
    elif status not in ("", "all"):
        abort(422, f"Unknown status {status[:40]!r}.")
    stmt = stmt.order_by(WarrantyClaim.submitted_at.desc(), WarrantyClaim.id.desc())
    return jsonify(paged(stmt, claim_json))


@bp.get("/api/v1/claims/<int:claim_id>")
@permission_required("claims.vendor")
def claim(claim_id: int):
    return jsonify(claim_json(_claim_or_404(claim_id)))


@bp.patch("/api/v1/claims/<int:claim_id>")
@permission_required("claims.vendor")
def update_claim(claim_id: int):
    """Set `rma`, `status` (approved, denied, repaired, shipped_back), `tracking` and `notes`; all or nothing."""
    found = _claim_or_404(claim_id)
    body: Any = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, "Send a JSON object.")
    unknown = sorted(set(body) - {"rma", "status", "tracking", "notes"})
    if unknown:
        abort(422, f"Unknown field {unknown[0][:40]!r}; send rma, status, tracking or notes.")
    warranty.vendor_update(found, body, by=current_user, via=Via.api)
    db.session.commit()
    return jsonify(claim_json(found))


CLAIM = {
    "type": "object",
    "required": ["id", "status", "ticket", "device"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string", "enum": [*STATUS_VALUES, "shipped_back"]},
        "rma": {"type": ["string", "null"]},
        "ticket": {"type": "string"},
        "category": {"type": "string"},
        "note": {"type": "string"},
        "device": {
            "type": "object",
            "properties": {
                "asset_tag": {"type": "string"},
                "serial": {"type": ["string", "null"]},
                "model": {"type": ["string", "null"]},
                "manufacturer": {"type": ["string", "null"]},
                "warranty_plan": {"type": ["string", "null"]},
            },
        },
        **{
            name: {"type": ["string", "null"], "format": "date-time"}
            for name in (
                "submitted_at",
                "approved_at",
                "shipped_at",
                "repaired_at",
                "returned_at",
                "denied_at",
                "shipped_back_at",
            )
        },
        "denial_reason": {"type": ["string", "null"]},
        "shipment": {
            "type": ["object", "null"],
            "properties": {"batch": {"type": "string"}, "carrier": {"type": "string"}, "tracking": {"type": "string"}},
        },
        "return_tracking": {"type": "string"},
        "vendor_notes": {"type": "string"},
    },
}
VENDOR_ONLY = "Only a vendor's token (issued on the vendor's page under Repairs → Vendors) opens this route."
CLAIM_ID = {"name": "claim_id", "in": "path", "required": True, "schema": {"type": "integer", "minimum": 1}}

register_paths(
    {
        "/api/v1/claims": {
            "get": {
                "summary": "Warranty claims sent to the calling vendor, newest first",
                "description": VENDOR_ONLY,
                "parameters": [
                    query_param(
                        "status",
                        "open, all, or one status",
                        {"type": "string", "enum": ["open", "all", *STATUS_VALUES]},
                    ),
                    *PAGING,
                ],
                "responses": {"200": json_response(page_of("#/components/schemas/Claim")), **errors(401, 403, 422)},
            }
        },
        "/api/v1/claims/{claim_id}": {
            "get": {
                "summary": "One claim sent to the calling vendor",
                "description": VENDOR_ONLY,
                "parameters": [CLAIM_ID],
                "responses": {"200": json_response({"$ref": "#/components/schemas/Claim"}), **errors(401, 403, 404)},
            },
            "patch": {
                "summary": "The vendor's news: RMA, status, return tracking, notes",
                "description": VENDOR_ONLY
                + " Each change is logged as the vendor's and moves the ticket on through the usual claim workflow:"
                " shipped_back leaves the device waiting to be received by scan.",
                "parameters": [CLAIM_ID],
                "requestBody": request_body(
                    {
                        "rma": {"type": "string", "maxLength": 64},
                        "status": {"type": "string", "enum": list(warranty.VENDOR_STATUSES)},
                        "tracking": {"type": "string", "maxLength": 120},
                        "notes": {"type": "string", "maxLength": 2000},
                    },
                    [],
                ),
                "responses": {
                    "200": json_response({"$ref": "#/components/schemas/Claim"}),
                    "409": json_response({"$ref": "#/components/schemas/Error"}, "The claim cannot move that way"),
                    **errors(401, 403, 404, 422),
                },
            },
        },
    },
    {"Claim": CLAIM},
)
