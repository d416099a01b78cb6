"""/api/v1/tickets: the repair queue as JSON, scoped to the caller's campuses."""

from __future__ import annotations

from typing import Any

from flask import abort, jsonify, request
from flask_login import current_user

from app.models import Ticket, TicketCategory, TicketStatus
from app.services import tickets as ticket_service
from app.views.api import bp, iso, paged
from app.views.openapi import PAGING, _errors, _json, _page_of, _q, register_paths
from app.web import permission_required

STATUS_VALUES = [s.value for s in TicketStatus]


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """The API's view of a ticket: no reporter details (those stay on the staff pages)."""
    return {
        "number": ticket.number,
        "asset_tag": ticket.asset.asset_tag,
        "campus": ticket.asset.campus.code,
        "category": ticket.category.value,
        "status": ticket.status.value,
        "source": ticket.source.value,
        "assignee": ticket.assignee.email if ticket.assignee else None,
        "created_at": iso(ticket.created_at),
        "updated_at": iso(ticket.updated_at),
    }


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
    from app.views.api_repairs import ticket_repair_json

    return jsonify({**ticket_json(found), **ticket_repair_json(found)})


register_paths(
    {
        "/api/v1/tickets": {
            "get": {
                "summary": "Tickets on your campuses, newest first",
                "operationId": "listTickets",
                "parameters": [
                    _q(
                        "status",
                        "A ticket status, `open` for every open one, or `all` (the default)",
                        {"type": "string", "enum": ["open", "all", *STATUS_VALUES]},
                    ),
                    *PAGING,
                ],
                "responses": {"200": _json(_page_of("#/components/schemas/Ticket")), **_errors(401, 422)},
            }
        },
        "/api/v1/tickets/{number}": {
            "get": {
                "summary": "One ticket, by its number (T-000123)",
                "operationId": "getTicket",
                "parameters": [{"name": "number", "in": "path", "required": True, "schema": {"type": "string"}}],
                "responses": {"200": _json({"$ref": "#/components/schemas/Ticket"}), **_errors(401, 404)},
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
        }
    },
)
