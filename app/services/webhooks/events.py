"""The events webhooks and chat notices carry: which recorded activity is which event, the JSON each one sends
(ids, tags, statuses and counts: never a student's name, ID or email), and its one line for a chat room."""

from __future__ import annotations

import uuid
from typing import Any

from flask import current_app

from app.extensions import db
from app.models import Activity, Asset, AssetStatus, Audit, Loan, Ticket, TicketCategory, Via, WarrantyClaim, utcnow

# Event type → what it means (shown on the endpoint form and in the OpenAPI spec).
EVENTS: dict[str, str] = {
    "ticket.created": "A ticket was opened: a student's damage report or a staff member's ticket.",
    "ticket.changed": "A ticket's status, assignee, triage or repair step changed.",
    "claim.changed": "A warranty claim was opened or moved on (approved, shipped, repaired, shipped back, …).",
    "device.status_changed": "A device's status changed (deployed, in stock, loaner, in repair, missing, retired).",
    "loan.overdue": "A loan passed its due date with the device still out.",
    "audit.closed": "A room audit was closed, with how many devices were found and missing.",
    "import.finished": "An import (Google Admin, Snipe-IT, roster, vendor status file) was applied.",
}

TICKET_CREATED = ("ticket.open", "ticket.report")
TICKET_CHANGED = ("ticket.status", "ticket.assign", "ticket.triage", "repair.take_in", "repair.resolve")
IMPORTS = ("import.snipeit", "import.google_admin", "people.import", "import.vendor_status")
ASSET_STATUSES = frozenset(s.value for s in AssetStatus)
# The keys of an activity's before/after that a payload may carry: states and numbers, never a name.
SAFE_KEYS = ("status", "category", "priority", "rma", "vendor", "batch", "carrier", "tracking", "condition")


def _named_event(action: str) -> str | None:
    if action in TICKET_CREATED:
        return "ticket.created"
    if action in TICKET_CHANGED:
        return "ticket.changed"
    if action.startswith("claim."):
        return "claim.changed"
    if action == "audit.close":
        return "audit.closed"
    if action in IMPORTS:
        return "import.finished"
    return None


def events_for(entry: Activity) -> list[str]:
    """The event types an activity entry is (a repair step can be a ticket change and a device's new status)."""
    found = [e for e in (_named_event(entry.action),) if e is not None]
    after, before = entry.after or {}, entry.before or {}
    if (
        entry.asset_id is not None
        and entry.via is not Via.import_  # an import is told by its own import.finished
        and not entry.action.startswith(("ticket.", "claim.", "fee."))
        and after.get("status") in ASSET_STATUSES
        and before.get("status") != after.get("status")
    ):
        found.append("device.status_changed")
    return found


def link(path: str) -> str:
    """An address in Rollcall built from ROLLCALL_BASE_URL (never from a request's Host header)."""
    return current_app.config["BASE_URL"].rstrip("/") + path


def _safe(values: dict[str, Any] | None) -> dict[str, Any]:
    return {k: v for k, v in (values or {}).items() if k in SAFE_KEYS and isinstance(v, str | int | float | None)}


def _ticket(ticket: Ticket) -> dict[str, Any]:
    return {
        "number": ticket.number,
        "asset_tag": ticket.asset.asset_tag,
        "category": ticket.category.value,
        "status": ticket.status.value,
        "source": ticket.source.value,
        "campus": ticket.asset.campus.code,
    }


def _claim(claim: WarrantyClaim) -> dict[str, Any]:
    return {
        "id": claim.id,
        "status": claim.status.value,
        "vendor": claim.vendor,
        "rma": claim.rma,
        "asset_tag": claim.asset.asset_tag,
        "ticket": claim.ticket.number,
        "campus": claim.asset.campus.code,
    }


def _subject(entry: Activity, model: Any) -> Any:
    if entry.subject_id is None or entry.subject_type != model.__tablename__:
        return None
    return db.session.get(model, entry.subject_id)


def _ticket_data(entry: Activity) -> tuple[dict[str, Any], str] | None:
    ticket = _subject(entry, Ticket)
    if ticket is None and entry.subject_type == "warranty_claims":
        claim = _subject(entry, WarrantyClaim)
        ticket = claim.ticket if claim is not None else None
    if ticket is None:
        return None
    return {"ticket": _ticket(ticket)}, f"/tickets/{ticket.number}"


def _claim_data(entry: Activity) -> tuple[dict[str, Any], str] | None:
    claim = _subject(entry, WarrantyClaim)
    if claim is None:
        return None
    return {"claim": _claim(claim)}, f"/tickets/{claim.ticket.number}"


def _device_data(entry: Activity) -> tuple[dict[str, Any], str] | None:
    asset = db.session.get(Asset, entry.asset_id) if entry.asset_id else None
    if asset is None:
        return None
    device = {"asset_tag": asset.asset_tag, "status": asset.status.value, "campus": asset.campus.code}
    return {"device": device}, f"/assets/{asset.asset_tag}"


def _audit_data(entry: Activity) -> tuple[dict[str, Any], str] | None:
    audit = _subject(entry, Audit)
    if audit is None:
        return None
    after = entry.after or {}
    missing = [str(t) for t in after.get("missing") or []]
    data = {
        "audit": {
            "id": audit.uuid,
            "room": audit.room.code,
            "campus": audit.campus.code,
            "expected": after.get("expected"),
            "found": after.get("found"),
            "missing": missing,
            "unexpected": [str(t) for t in after.get("unexpected") or []],
        }
    }
    return data, f"/audits/{audit.uuid}"


def _import_data(entry: Activity) -> tuple[dict[str, Any], str] | None:
    counts = {k: v for k, v in (entry.after or {}).items() if isinstance(v, int) and not isinstance(v, bool)}
    kind = entry.action.split(".", 1)[1] if entry.action.startswith("import.") else "roster"
    return {"import": {"kind": kind, "counts": counts}}, "/imports"


BUILDERS = {
    "ticket.created": _ticket_data,
    "ticket.changed": _ticket_data,
    "claim.changed": _claim_data,
    "device.status_changed": _device_data,
    "audit.closed": _audit_data,
    "import.finished": _import_data,
}


def envelope(event: str, data: dict[str, Any], path: str, *, at: Any = None, via: str | None = None) -> dict[str, Any]:
    """The JSON every delivery sends: its own id, the event type, when it happened, the data, a link."""
    return {
        "id": str(uuid.uuid4()),
        "type": event,
        "occurred_at": (at or utcnow()).isoformat(),
        "via": via,
        "data": data,
        "link": link(path),
    }


def payloads_for(entry: Activity) -> list[dict[str, Any]]:
    """The envelope of each event an activity entry is (none when its record is gone)."""
    made = []
    for event in events_for(entry):
        built = BUILDERS[event](entry)
        if built is not None:
            data, path = built
            change = {"action": entry.action, "before": _safe(entry.before), "after": _safe(entry.after)}
            made.append(envelope(event, {**data, "change": change}, path, at=entry.at, via=entry.via.value))
    return made


def overdue_payload(loan: Loan) -> dict[str, Any]:
    """loan.overdue: the device and when it was due; who has it stays in Rollcall."""
    loan_data = {
        "id": loan.id,
        "asset_tag": loan.asset.asset_tag,
        "campus": loan.asset.campus.code,
        "checked_out_at": loan.checked_out_at.isoformat(),
        "due_at": loan.due_at.isoformat(),
    }
    return envelope("loan.overdue", {"loan": loan_data}, "/loans/overdue")


def _category(value: Any) -> str:
    try:
        return TicketCategory(value).label.lower()
    except ValueError:
        return str(value)


def _words(value: Any) -> str:
    return str(value or "").replace("_", " ")


def chat_text(payload: dict[str, Any]) -> str:
    """One line for a chat room: "New student report T-000123 · LHS-10045 · cracked screen"."""
    event, data = payload["type"], payload["data"]
    change = data.get("change") or {}
    if event == "ticket.created":
        t = data["ticket"]
        opened = "New student report" if t["source"] == "student_report" else "New ticket"
        return f"{opened} {t['number']} · {t['asset_tag']} · {_category(t['category'])}"
    if event == "ticket.changed":
        t = data["ticket"]
        return f"{t['number']} · {t['asset_tag']} · now {_words(t['status'])}"
    if event == "claim.changed":
        c = data["claim"]
        rma = f", RMA {c['rma']}" if c.get("rma") else ""
        return f"Warranty claim {c['ticket']} · {c['asset_tag']} · {c['vendor']} · {_words(c['status'])}{rma}"
    if event == "device.status_changed":
        d, was = data["device"], (change.get("before") or {}).get("status")
        return f"{d['asset_tag']} is now {_words(d['status'])}" + (f" (was {_words(was)})" if was else "")
    if event == "audit.closed":
        a = data["audit"]
        return f"Audit of {a['room']} closed · {a['found']} of {a['expected']} found · {len(a['missing'])} missing"
    if event == "loan.overdue":
        loan = data["loan"]
        return f"Loan of {loan['asset_tag']} is overdue · due {loan['due_at'][:16].replace('T', ' ')} UTC"
    if event == "import.finished":
        counts = ", ".join(f"{v} {_words(k)}" for k, v in data["import"]["counts"].items())
        return f"{_words(data['import']['kind']).capitalize()} import finished" + (f" · {counts}" if counts else "")
    return event
