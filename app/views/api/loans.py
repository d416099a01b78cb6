"""Loans in the JSON API: who has which loaner (GET /api/v1/loans?open=1), and checkout/check-in for scripts."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user

from app.extensions import db
from app.models import Condition, Via, utcnow
from app.services import loans as loan_service
from app.services.assets import find_asset
from app.services.errors import Invalid
from app.services.people import find_person
from app.views.api.blueprint import bp
from app.views.api.common import campus_id_arg, note_people_shown, paged
from app.views.api.serialize import loan_json
from app.views.openapi import (
    PAGING,
    errors,
    json_response,
    page_of,
    query_param,
    register_paths,
    request_body,
)
from app.web import permission_required


def _flag(name: str) -> bool:
    return request.args.get(name, "").lower() in ("1", "true", "yes")


@bp.get("/api/v1/loans")
@permission_required("desk")
def loans():
    stmt = loan_service.loans_query(
        current_user, open_only=_flag("open"), overdue=_flag("overdue"), campus_id=campus_id_arg()
    )
    return jsonify(paged(stmt, loan_json, people_of=lambda loan: [loan.person]))


def _body() -> dict[str, Any]:
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, "Send a JSON object.")
    return body


def _text(body: dict[str, Any], name: str) -> str:
    """A field that must be text when given (a list or a number is refused, not turned into its repr)."""
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise Invalid(f"{name} must be text.", field=name)
    return value.strip()


def _asset(body: dict[str, Any]):
    text = _text(body, "asset")
    asset = find_asset(text) if text else None
    if asset is None or not current_user.can_see_campus(asset.campus_id):
        raise Invalid(f"No device on your campuses matches {text!r}." if text else "Name the device.", field="asset")
    return asset


def _due(body: dict[str, Any]) -> date | datetime | None:
    text = _text(body, "due")
    if not text:
        return None
    try:
        return date.fromisoformat(text) if len(text) == 10 else datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise Invalid("due must be an ISO 8601 date or date-time.", field="due") from None


@bp.post("/api/v1/loans")
@permission_required("desk")
def check_out():
    """Lend a loaner: `{"asset": tag code, asset tag or serial, "person": student or staff ID, "due": optional}`."""
    body = _body()
    asset = _asset(body)
    text = _text(body, "person")
    person = find_person(text) if text else None
    if person is None or not person.seen_by(current_user):
        raise Invalid(f"No one on your campuses has the ID {text!r}." if text else "Name the person.", field="person")
    loan = loan_service.check_out(asset, person, by=current_user, due=_due(body), via=Via.api)
    note_people_shown([loan.person])
    db.session.commit()
    return jsonify(loan_json(loan)), 201


@bp.post("/api/v1/loans/checkin")
@permission_required("desk")
def check_in():
    """Take a loaner back: `{"asset": ..., "condition": optional, "note": optional}`."""
    body = _body()
    asset = _asset(body)
    value = _text(body, "condition") or None
    if value is not None and value not in Condition._value2member_map_:
        allowed = ", ".join(c.value for c in Condition)
        raise Invalid(f"Unknown condition {value[:40]!r}; use one of {allowed}.", field="condition")
    loan = loan_service.check_in(
        asset,
        by=current_user,
        condition=Condition(value) if value else None,
        note=_text(body, "note"),
        via=Via.api,
        at=utcnow(),
    )
    note_people_shown([loan.person])
    db.session.commit()
    return jsonify(loan_json(loan))


LOAN = {
    "type": "object",
    "required": ["id", "asset_tag", "person", "checked_out_at", "due_at"],
    "properties": {
        "id": {"type": "integer"},
        "asset_tag": {"type": "string"},
        "serial": {"type": "string"},
        "campus": {"type": "string"},
        "person": {
            "type": "object",
            "properties": {
                "external_id": {"type": "string"},
                "name": {"type": "string"},
                "kind": {"type": "string", "enum": ["student", "staff"]},
            },
        },
        "checked_out_at": {"type": "string", "format": "date-time"},
        "checked_out_by": {"type": ["string", "null"]},
        "due_at": {"type": "string", "format": "date-time"},
        "returned_at": {"type": ["string", "null"], "format": "date-time"},
        "return_condition": {"type": ["string", "null"], "enum": ["good", "fair", "damaged", "broken", None]},
        "overdue": {"type": "boolean"},
    },
}


register_paths(
    {
        "/api/v1/loans": {
            "get": {
                "summary": "Loans of loaners on your campuses, open ones soonest due first (librarian, tech, admin)",
                "operationId": "listLoans",
                "parameters": [
                    query_param("open", "1: only loans not yet returned"),
                    query_param("overdue", "1: only open loans past their due time"),
                    query_param("campus", "Campus code"),
                    *PAGING,
                ],
                "responses": {"200": json_response(page_of("#/components/schemas/Loan")), **errors(401, 403, 404, 422)},
            },
            "post": {
                "summary": "Lend a loaner (librarian, tech, admin)",
                "operationId": "checkOutLoaner",
                "requestBody": request_body(
                    {
                        "asset": {"type": "string", "description": "Tag code, asset tag or serial"},
                        "person": {"type": "string", "description": "Student or staff ID"},
                        "due": {"type": "string", "description": "ISO date (end of that school day) or date-time"},
                    },
                    ["asset", "person"],
                ),
                "responses": {
                    "201": json_response({"$ref": "#/components/schemas/Loan"}, "Lent"),
                    **errors(401, 403, 422),
                },
            },
        },
        "/api/v1/loans/checkin": {
            "post": {
                "summary": "Take a loaner back (librarian, tech, admin)",
                "operationId": "checkInLoaner",
                "requestBody": request_body(
                    {
                        "asset": {"type": "string"},
                        "condition": {"type": "string", "enum": ["good", "fair", "damaged", "broken"]},
                        "note": {"type": "string"},
                    },
                    ["asset"],
                ),
                "responses": {"200": json_response({"$ref": "#/components/schemas/Loan"}), **errors(401, 403, 422)},
            }
        },
    },
    {"Loan": LOAN},
)
