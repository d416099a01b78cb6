"""The JSON each record becomes in the API, in one place: times, campuses, rooms, people, assets, loans, tickets
(with their repair side), audits and observations."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask_login import current_user

from app import permissions
from app.extensions import db
from app.models import (
    Asset,
    Audit,
    Campus,
    Loan,
    LoanerSwap,
    Observation,
    Person,
    Room,
    Ticket,
    TicketEventKind,
    WarrantyClaim,
)
from app.services import warranty
from app.services.repairs import costs, record


def iso(value) -> str | None:
    """ISO 8601, with UTC written as Z."""
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


def observation_json(observation: Observation) -> dict[str, Any]:
    """One sighting of an asset."""
    return {
        "id": observation.id,
        "at": iso(observation.at),
        "room": observation.room.code if observation.room else None,
        "condition": observation.condition.value if observation.condition else None,
        "by": observation.by.email if observation.by else None,
        "audit": observation.audit_id,
        "source": observation.source.value,
        "flagged": observation.flagged,
    }


def loan_json(loan: Loan) -> dict[str, Any]:
    """The API's view of a loan."""
    return {
        "id": loan.id,
        "asset_tag": loan.asset.asset_tag,
        "serial": loan.asset.serial,
        "campus": loan.asset.campus.code,
        "person": {"external_id": loan.person.external_id, "name": loan.person.name, "kind": loan.person.kind.value},
        "checked_out_at": iso(loan.checked_out_at),
        "checked_out_by": loan.checked_out_by.email if loan.checked_out_by else None,
        "due_at": iso(loan.due_at),
        "returned_at": iso(loan.returned_at),
        "return_condition": loan.return_condition.value if loan.return_condition else None,
        "overdue": loan.is_overdue(),
    }


def audit_summary_json(audit: Audit) -> dict[str, Any]:
    """An audit in a list (its result is the audit service's `result_json`)."""
    return {
        "audit": audit.uuid,
        "room": audit.room.code,
        "campus": audit.campus.code,
        "status": audit.status.value,
        "started_at": iso(audit.started_at),
        "started_by": str(audit.started_by) if audit.started_by else None,
        "closed_at": iso(audit.closed_at),
    }


def ticket_json(ticket: Ticket) -> dict[str, Any]:
    """The API's view of a ticket in a list: no reporter details (those stay on the staff pages)."""
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


def ticket_detail_json(ticket: Ticket) -> dict[str, Any]:
    """One ticket: the list's fields plus its repair side (history, triage, parts, labour, cost, warranty claims,
    loaner swaps)."""
    repair = record.repair_of(ticket, create=False)
    cost = costs.ticket_cost(ticket)
    swaps = db.session.scalars(sa.select(LoanerSwap).where(LoanerSwap.ticket_id == ticket.id).order_by(LoanerSwap.id))
    return {
        **ticket_json(ticket),
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
            for p in costs.parts_used(ticket)
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


def claim_json(claim: WarrantyClaim) -> dict[str, Any]:
    """A warranty claim as its vendor sees it through the vendor door: the device, the fault, the shipments;
    never the student."""
    asset, batch = claim.asset, claim.batch
    info = warranty.vendor_info(claim)
    return {
        "id": claim.id,
        "status": warranty.vendor_status(claim),
        "rma": claim.rma,
        "ticket": claim.ticket.number,
        "category": claim.ticket.category.value,
        "note": claim.note,
        "device": {
            "asset_tag": asset.asset_tag,
            "serial": asset.serial,
            "model": asset.model.name if asset.model else None,
            "manufacturer": asset.model.manufacturer if asset.model else None,
            "warranty_plan": asset.warranty_plan,
        },
        "submitted_at": iso(claim.submitted_at),
        "approved_at": iso(claim.approved_at),
        "shipped_at": iso(claim.shipped_at),
        "repaired_at": iso(claim.repaired_at),
        "returned_at": iso(claim.returned_at),
        "denied_at": iso(claim.denied_at),
        "denial_reason": claim.denial_reason,
        "shipment": (
            {"batch": batch.label, "carrier": batch.carrier, "tracking": batch.tracking} if batch is not None else None
        ),
        "return_tracking": info.return_tracking if info is not None else "",
        "vendor_notes": info.notes if info is not None else "",
        "shipped_back_at": iso(info.shipped_back_at) if info is not None else None,
    }
