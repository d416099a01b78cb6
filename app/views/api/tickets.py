"""/api/v1/tickets: the repair queue as JSON, scoped to the caller's campuses; one ticket with its repair side."""

from __future__ import annotations

import sqlalchemy as sa
from flask import abort, jsonify, request
from flask_login import current_user

from app.extensions import db
from app.models import ClaimStatus, LoanerSwap, Person, Ticket, TicketCategory, TicketStatus
from app.services import tickets as ticket_service
from app.services.repairs import record
from app.views.api.blueprint import bp
from app.views.api.common import note_people_shown, paged
from app.views.api.serialize import ticket_detail_json, ticket_json
from app.views.openapi import PAGING, errors, json_response, page_of, query_param, register_paths
from app.web import permission_required

STATUS_VALUES = [s.value for s in TicketStatus]


@bp.get("/api/v1/tickets")
@permission_required("tickets.read")
def tickets():
    status = request.args.get("status", "")
    if status and status not in ("open", "all", *STATUS_VALUES):
        abort(422, f"Unknown status {status!r}.")
    f = ticket_service.TicketFilters(
        status=TicketStatus(status) if status in STATUS_VALUES else None,
        all_statuses=status in ("", "all"),
    )
    return jsonify(paged(ticket_service.tickets_query(current_user, f), ticket_json))


@bp.get("/api/v1/tickets/<number>")
@permission_required("tickets.read")
def ticket(number: str):
    found = ticket_service.find_by_number(number)
    if found is None or not current_user.can_see_campus(found.asset.campus_id):
        abort(404, f"No ticket {number} on your campuses.")
    body = ticket_detail_json(found)
    note_people_shown(_people_named(found))
    return jsonify(body)


def _people_named(ticket: Ticket) -> list[Person | None]:
    """The people a ticket's JSON names: who triage held answerable, and the students of its loaner swaps."""
    repair = record.repair_of(ticket, create=False)
    swaps = db.session.scalars(sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id))
    return [repair.responsible if repair else None, *(swap.person for swap in swaps)]


TICKET_DETAIL = {
    "allOf": [
        {"$ref": "#/components/schemas/Ticket"},
        {
            "type": "object",
            "properties": {
                "history": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "at": {"type": "string", "format": "date-time"},
                            "kind": {"type": "string", "enum": ["opened", "status", "assigned"]},
                            "from": {"type": ["string", "null"]},
                            "to": {"type": ["string", "null"]},
                            "by": {"type": ["string", "null"]},
                        },
                    },
                },
                "triage": {"type": ["object", "null"]},
                "repaired_at": {"type": ["string", "null"], "format": "date-time"},
                "parts": {"type": "array", "items": {"type": "object"}},
                "labour_minutes": {"type": "integer"},
                "cost": {
                    "type": "object",
                    "properties": {
                        "parts": {"type": "string"},
                        "labour": {"type": "string"},
                        "total": {"type": "string"},
                    },
                },
                "claims": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "vendor": {"type": "string"},
                            "rma": {"type": ["string", "null"]},
                            "status": {"type": "string", "enum": [s.value for s in ClaimStatus]},
                        },
                    },
                },
                "swaps": {"type": "array", "items": {"type": "object"}},
            },
        },
    ]
}


register_paths(
    {
        "/api/v1/tickets": {
            "get": {
                "summary": "Tickets on your campuses, newest first",
                "operationId": "listTickets",
                "parameters": [
                    query_param(
                        "status",
                        "A ticket status, `open` for every open one, or `all` (the default)",
                        {"type": "string", "enum": ["open", "all", *STATUS_VALUES]},
                    ),
                    *PAGING,
                ],
                "responses": {"200": json_response(page_of("#/components/schemas/Ticket")), **errors(401, 422)},
            }
        },
        "/api/v1/tickets/{number}": {
            "get": {
                "summary": "One ticket, by its number (T-000123), with its history, parts, cost, claims and swaps",
                "operationId": "getTicket",
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": json_response({"$ref": "#/components/schemas/TicketDetail"}), **errors(401, 404)},
            }
        },
    },
    {
        "Ticket": {
            "type": "object",
            "required": ["number", "asset_tag", "category", "status", "source", "created_at"],
            "properties": {
                "number": {"type": "string", "pattern": "^T-[0-9]{6,}$"},
                "asset_tag": {"type": "string"},
                "campus": {"type": "string"},
                "category": {"type": "string", "enum": [c.value for c in TicketCategory]},
                "status": {"type": "string", "enum": STATUS_VALUES},
                "source": {"type": "string", "enum": ["student_report", "staff"]},
                "assignee": {"type": ["string", "null"]},
                "created_at": {"type": "string", "format": "date-time"},
                "updated_at": {"type": "string", "format": "date-time"},
            },
        },
        "TicketDetail": TICKET_DETAIL,
    },
)
