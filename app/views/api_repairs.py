"""The repair side of /api/v1/tickets/<number>: status history, parts, cost, claims and swaps, plus its schema."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from app.extensions import db
from app.models import ClaimStatus, LoanerSwap, Ticket, TicketEventKind
from app.services import repairs as repair_service
from app.services import warranty
from app.views.api import iso
from app.views.openapi import SCHEMAS


def ticket_repair_json(ticket: Ticket) -> dict[str, Any]:
    """What the ticket API adds for repairs: history, triage, parts, labour, cost, warranty claims, loaner swaps."""
    repair = repair_service.repair_of(ticket, create=False)
    cost = repair_service.ticket_cost(ticket)
    swaps = db.session.scalars(sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id).order_by(LoanerSwap.id))
    return {
        "history": [
            {
                "at": iso(e.at),
                "kind": e.kind.value,
                "from": e.from_value,
                "to": e.to_value,
                "by": e.user.email if e.user else None,
            }
            for e in ticket.events
            if e.kind in (TicketEventKind.opened, TicketEventKind.status, TicketEventKind.assigned)
        ],
        "triage": None
        if repair is None or repair.triaged_at is None
        else {
            "priority": repair.priority.value,
            "accidental": repair.accidental,
            "responsible": repair.responsible.external_id if repair.responsible else None,
            "at": iso(repair.triaged_at),
        },
        "repaired_at": iso(repair.repaired_at) if repair else None,
        "parts": [
            {
                "part_number": p.part.part_number,
                "name": p.part.name,
                "quantity": p.quantity,
                "unit_cost": str(p.unit_cost),
                "cost": str(p.cost),
                "at": iso(p.used_at),
            }
            for p in repair_service.parts_used(ticket)
        ],
        "labour_minutes": cost.minutes,
        "cost": {"parts": str(cost.parts), "labour": str(cost.labour), "total": str(cost.total)},
        "claims": [
            {
                "id": c.id,
                "vendor": c.vendor,
                "rma": c.rma,
                "status": c.status.value,
                "batch": c.batch.label if c.batch else None,
                "submitted_at": iso(c.submitted_at),
                "shipped_at": iso(c.shipped_at),
                "returned_at": iso(c.returned_at),
            }
            for c in warranty.claims_of(ticket)
        ],
        "swaps": [
            {
                "person": s.person.external_id,
                "loaner": s.loaner_loan.asset.asset_tag if s.loaner_loan else None,
                "created_at": iso(s.created_at),
                "reversed_at": iso(s.reversed_at),
            }
            for s in swaps
        ],
    }


_TICKET_DETAIL = {
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


def _describe() -> None:
    """Point the one-ticket route at the detailed schema (the list keeps the short one)."""
    # The tickets module describes the route first; import it so that order never depends on who imports us.
    from app.views import api_tickets  # noqa: F401
    from app.views.openapi import PATHS, _json

    SCHEMAS["TicketDetail"] = _TICKET_DETAIL
    op = PATHS["/api/v1/tickets/{number}"]["get"]
    op["responses"]["200"] = _json({"$ref": "#/components/schemas/TicketDetail"})
    op["summary"] = "One ticket, by its number (T-000123), with its history, parts, cost, claims and swaps"


_describe()
